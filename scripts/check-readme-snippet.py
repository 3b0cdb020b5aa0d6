#!/usr/bin/env python3
"""The README's integration snippet is the code CI compiles and runs.

Every README code block preceded by `<!-- snippet: PATH -->` must equal the region between the
`// README:begin` and `// README:end` lines of PATH, so the README cannot drift from
Examples/MinimalHost (which scripts/check-example-host.sh builds, runs and scrapes).
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
readme = (root / "README.md").read_text()
blocks = re.findall(r"<!-- snippet: (\S+) -->\s*```swift\n(.*?)```", readme, re.S)
if not blocks:
    sys.exit("check-readme-snippet: README.md has no `<!-- snippet: PATH -->` block")
for path, block in blocks:
    source = (root / path).read_text()
    m = re.search(r"^// README:begin\n(.*?)^// README:end\n", source, re.S | re.M)
    if not m:
        sys.exit(f"check-readme-snippet: {path} has no // README:begin ... // README:end region")
    if m.group(1) != block:
        import difflib
        diff = difflib.unified_diff(m.group(1).splitlines(), block.splitlines(), path, "README.md", lineterm="")
        sys.exit("check-readme-snippet: README.md differs from the compiled example:\n" + "\n".join(diff))
    print(f"check-readme-snippet: README block matches {path} ({len(block.splitlines())} lines)")
