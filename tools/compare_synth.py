"""Field by field: do two syntheses of every stack differ only where a
refactor may? `python -m tools.compare_synth [REV] [--stacks-dir DIR]`.

A structure change (issue 23) must move no state and change no behaviour:
every Terraform address, name, IAM statement, alarm and event pattern stays.
This compares each stack's `cdk.tf.json` of REV (default: the last release in
RELEASES, synthesized from its own sources by tools/previous_version.py) with
this checkout's (`make synth`'s cdktf.out/stacks), after removing what may
differ:

- metadata: every `//` key (cdktf's construct paths and checkov skips);
- ALLOWED: a Lambda function's `handler`, `filename` and `source_code_hash`
  (its code moved between packages or changed; the function is the same).

Every other difference is printed as `stack: path: before -> after`, and the
exit code is 1. The upgrade gate proves the other half: the plan over the
previous version's state destroys and replaces nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STACK_FILE = "cdk.tf.json"
# What may differ, by resource type: the code of a function, not the function.
ALLOWED = {"aws_lambda_function": frozenset({"handler", "filename", "source_code_hash"})}


def normalized(stack: dict) -> dict:
    """The stack without metadata and without the allowed attributes."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key != "//"}
        if isinstance(node, list):
            return [strip(value) for value in node]
        return node

    clean = strip(stack)
    for kind, attributes in ALLOWED.items():
        for resource in clean.get("resource", {}).get(kind, {}).values():
            for attribute in attributes:
                resource.pop(attribute, None)
    return clean


def differences(before: Any, after: Any, path: str = "$") -> list[str]:
    """Every leaf that differs, by JSON path."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            if key not in after:
                found.append(f"{path}.{key}: removed")
            elif key not in before:
                found.append(f"{path}.{key}: added")
            else:
                found.extend(differences(before[key], after[key], f"{path}.{key}"))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d for i, (b, a) in enumerate(zip(before, after, strict=True)) for d in differences(b, a, f"{path}[{i}]")
        ]
    if before != after:
        return [f"{path}: {json.dumps(before)[:120]} -> {json.dumps(after)[:120]}"]
    return []


def compare(before_dir: Path, after_dir: Path) -> list[str]:
    """Differences between two stacks directories, stack by stack."""
    before = {p.parent.name: p for p in sorted(before_dir.glob(f"*/{STACK_FILE}"))}
    after = {p.parent.name: p for p in sorted(after_dir.glob(f"*/{STACK_FILE}"))}
    found = [f"{stack}: stack removed" for stack in sorted(set(before) - set(after))]
    found += [f"{stack}: stack added" for stack in sorted(set(after) - set(before))]
    for stack in sorted(set(before) & set(after)):
        old = normalized(json.loads(before[stack].read_text()))
        new = normalized(json.loads(after[stack].read_text()))
        found.extend(f"{stack}: {line}" for line in differences(old, new))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compare_synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", help="the version to compare with (default: the last release)")
    parser.add_argument("--stacks-dir", type=Path, default=REPO / "cdktf.out" / "stacks")
    parser.add_argument("--before-dir", type=Path, help="a stacks directory to compare with instead of a revision")
    args = parser.parse_args(argv)
    if not args.stacks_dir.is_dir():
        print(f"error: {args.stacks_dir} does not exist: run make synth first", file=sys.stderr)
        return 2
    if args.before_dir:
        before = args.before_dir
    else:
        from tools import previous_version

        try:
            before = previous_version.synthesize(args.revision)
        except previous_version.PreviousVersionUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    found = compare(before, args.stacks_dir)
    stacks = len(list(args.stacks_dir.glob(f"*/{STACK_FILE}")))
    for line in found:
        print(line)
    allowed = ", ".join(f"{kind}.{'/'.join(sorted(attrs))}" for kind, attrs in ALLOWED.items())
    print(
        f"{stacks} stacks compared with {before}: "
        + (f"{len(found)} difference(s)" if found else f"identical apart from metadata and {allowed}")
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
