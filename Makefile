# The two commands of the README. Each installs what is missing first, then builds.
#   make demo   - build and run the demo node (flags: make demo ARGS="--rate 50000")
#   make test   - every test and check (what .ci/run runs)
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT_FLAGS := -Xswiftc -warnings-as-errors

.PHONY: demo test setup-demo setup-test clean

setup-demo:
	@bash scripts/setup-debian.sh demo

setup-test:
	@bash scripts/setup-debian.sh test

demo: setup-demo
	swift build -c release --traits Demo --product keyviz-demo
	.build/release/keyviz-demo $(ARGS)

test: setup-test
	bash scripts/test.sh

clean:
	rm -rf .build
