#!/usr/bin/env python3
"""Validates the JSON answers `keyviz-fuzz TARGET --emit DIR` wrote against docs/openapi.yaml.

Each file is named `<n>-<input>.<k>.<Schema>.<status>.json`, Schema being the component of
docs/openapi.yaml the answer must match (Matrix, Error, HotKeys); the schema is loaded as
scripts/check-openapi.py loads it (jsonschema, draft 2020-12). Prints each invalid answer (file,
first error) and exits 1 when there is one.

Usage: Fuzz/validate-answers.py DIR...
"""
import json
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "docs", "openapi.yaml")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    validators = {}

    def validator(name):
        if name not in validators:
            root = dict(spec)
            root["$ref"] = "#/components/schemas/" + name
            validators[name] = jsonschema.Draft202012Validator(root)
        return validators[name]

    counts, bad = {}, 0
    for top in sys.argv[1:]:
        for dirpath, _, names in sorted(os.walk(top)):
            for name in sorted(names):
                if not name.endswith(".json"):
                    continue
                path = os.path.join(dirpath, name)
                schema = name.rsplit(".", 3)[-3]
                try:
                    with open(path, "rb") as f:
                        body = json.loads(f.read())
                except ValueError as e:
                    print(f"INVALID {path}: not JSON: {e}")
                    bad += 1
                    continue
                errors = sorted(validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
                counts[schema] = counts.get(schema, 0) + 1
                if errors:
                    bad += 1
                    e = errors[0]
                    where = "/".join(str(p) for p in e.absolute_path)
                    print(f"INVALID {path}: {schema} at /{where}: {e.message[:300]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"validated {sum(counts.values())} answers against docs/openapi.yaml ({summary}): {bad} invalid")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
