"""`make scan`: checkov over every synthesized stack, with inline skips.

    python -m tools.scan [--checkov PATH] [--json] [STACKS_DIR]

checkov 3.3.30's terraform_json runner has two gaps this wrapper closes:
- its parser fails on any non-block value in the `terraform` block, such as
  `required_version`; the scan reads copies without that one key (it holds no
  resources, so no check looks at it);
- it ignores inline suppressions; this wrapper applies the skips written in
  each resource's `//` comment (`checkov:skip=ID: reason`, see
  modules/checks.py), and fails on a skip without a reason or one that no
  longer matches a finding.

The pipeline's invariants (review/policies/) run as custom checks beside
checkov's own (CKV_KIRO_*), with the same inline-skip rules.

Exit code 0 only with zero unskipped failures and zero parsing errors.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"
# The pipeline's invariants (review/policies/) as custom checks, through the adapter
# tools/policies/checkov_pipeline.py, run with checkov's own.
POLICIES = REPO / "tools" / "policies"
SKIP = re.compile(r"^checkov:skip=([A-Z0-9_]+):\s*(.*)$")


@dataclass(frozen=True)
class Finding:
    stack: str
    check_id: str
    check_name: str
    resource: str  # as checkov names it: "type.name", "resource.name" or "data.name"


@dataclass
class Result:
    failed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)
    unused_skips: list[tuple[str, str, str]] = field(default_factory=list)
    passed: int = 0
    parsing_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unused_skips or self.parsing_errors)


def inline_skips(stack_json: dict) -> dict[tuple[str, str, str], dict[str, str]]:
    """{(block, type, name): {check_id: reason}} from every `//` comment."""
    skips = {}
    for block in ("resource", "data"):
        for resource_type, resources in stack_json.get(block, {}).items():
            for name, body in resources.items():
                entries = body.get("//", {}).get("checkov", []) if isinstance(body, dict) else []
                parsed = {}
                for entry in entries:
                    match = SKIP.match(entry)
                    if not match or not match.group(2).strip():
                        raise ValueError(f"{block}.{resource_type}.{name}: skip {entry!r} has no reason")
                    parsed[match.group(1)] = match.group(2).strip()
                if parsed:
                    skips[(block, resource_type, name)] = parsed
    return skips


def prepare(stacks_dir: Path, work_dir: Path) -> dict[str, dict]:
    """Copies of every stack for checkov, and each stack's skips."""
    skips = {}
    for source in sorted(stacks_dir.glob("*/cdk.tf.json")):
        stack = source.parent.name
        document = json.loads(source.read_text())
        skips[stack] = inline_skips(document)
        document.get("terraform", {}).pop("required_version", None)
        target = work_dir / stack / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(document, indent=2))
    if not skips:
        raise SystemExit(f"no synthesized stacks under {stacks_dir}: run `make synth` first")
    return skips


def _matches(finding: Finding, key: tuple[str, str, str]) -> bool:
    block, resource_type, name = key
    return finding.resource in (f"{resource_type}.{name}", f"{block}.{name}")


def run_checkov(checkov: Path, work_dir: Path) -> dict:
    if not checkov.exists():
        raise SystemExit(f"checkov is not installed at {checkov}: run `make install-scan`")
    completed = subprocess.run(
        [
            str(checkov),
            "-d",
            str(work_dir),
            "--framework",
            "terraform_json",
            "--quiet",
            "--compact",
            "--skip-download",
            "--external-checks-dir",
            str(POLICIES),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    if completed.returncode not in (0, 1):
        raise SystemExit(f"checkov failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def evaluate(report: dict, skips: dict[str, dict]) -> Result:
    result = Result(passed=report["summary"]["passed"])
    result.parsing_errors = list(report["results"].get("parsing_errors", []))
    used = set()
    for check in report["results"].get("failed_checks", []):
        stack = Path(check["file_path"]).parent.name
        finding = Finding(stack, check["check_id"], check["check_name"], check["resource"])
        reason = None
        for key, by_check in skips.get(stack, {}).items():
            if finding.check_id in by_check and _matches(finding, key):
                reason = by_check[finding.check_id]
                used.add((stack, key, finding.check_id))
                break
        if reason is None:
            result.failed.append(finding)
        else:
            result.skipped.append((finding, reason))
    for stack, stack_skips in skips.items():
        for key, by_check in stack_skips.items():
            for check_id in by_check:
                if (stack, key, check_id) not in used:
                    result.unused_skips.append((stack, ".".join(key), check_id))
    return result


def scan(stacks_dir: Path, checkov: Path = DEFAULT_CHECKOV) -> Result:
    work_dir = Path(tempfile.mkdtemp(prefix="kiro-scan-"))
    try:
        skips = prepare(stacks_dir, work_dir)
        return evaluate(run_checkov(checkov, work_dir), skips)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def render(result: Result) -> str:
    lines = [
        f"checkov: {result.passed} passed, {len(result.failed)} failed, {len(result.skipped)} skipped inline, "
        f"{len(result.parsing_errors)} parsing errors"
    ]
    for finding in result.failed:
        lines.append(f"  FAILED  {finding.stack}: {finding.resource}: {finding.check_id} {finding.check_name}")
    for stack, resource, check_id in result.unused_skips:
        lines.append(f"  STALE   {stack}: {resource}: skip of {check_id} matches no finding; remove it")
    for error in result.parsing_errors:
        lines.append(f"  PARSE   {error}")
    distinct = sorted({(f.check_id, f.resource.split(".")[-1], reason) for f, reason in result.skipped})
    if distinct:
        lines.append("  skipped (check, resource, reason):")
        lines += [f"    {check_id} {resource}: {reason}" for check_id, resource, reason in distinct]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="checkov over the synthesized stacks, with inline skips")
    parser.add_argument("stacks", nargs="?", default=str(REPO / "cdktf.out" / "stacks"))
    parser.add_argument("--checkov", default=str(DEFAULT_CHECKOV))
    args = parser.parse_args(argv)
    result = scan(Path(args.stacks), Path(args.checkov))
    print(render(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
