"""The nightly drift report: what changed outside Terraform, from
`terraform plan -refresh-only` plans, as the body of one GitHub issue.

    python3 -m review.drift_report --dir drift/ --out drift.md --status status.txt
    python3 -m review.drift_report --plan STACK=plan.json [...] [--failed STACK=LOG ...] --out ... --status ...

`--dir` holds what the nightly jobs left for every stack of every
environment (review/plan_files.py): a stack without a plan is "not checked".

It lists each drifted resource with the attributes that differ between what
Terraform recorded (`before`) and what AWS now holds (`after`), from the
plan's `resource_drift`. The status file gets one word for the workflow:

* `drift`: open the drift issue, or update the open one;
* `clean`: every stack was checked and none drifted: close the open issue;
* `incomplete`: no drift found, but a stack could not be checked: leave any
  open issue as it is (it cannot be known to be fixed) and fail the job.

Values marked sensitive are never shown, only their attribute's path.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from review import plan_files
from review.policies.controls import ControlChange, pipeline_changes
from topology.environments import ENVIRONMENT_NAMES

MARKER = "<!-- kiro-pipeline-drift -->"
TITLE = "Drift: infrastructure changed outside Terraform"
# Longer values are cut: the path is what a reader acts on.
VALUE_LIMIT = 80


@dataclass(frozen=True)
class Attribute:
    path: str
    before: str
    after: str


@dataclass
class DriftedResource:
    address: str
    action: str
    attributes: list[Attribute] = field(default_factory=list)
    # A pipeline changed in the console: what that did to its delivery controls.
    controls: list[ControlChange] = field(default_factory=list)


def _any_sensitive(marker) -> bool:
    """A `*_sensitive` marker: True, or a map or list with True anywhere in it."""
    if isinstance(marker, dict):
        return any(_any_sensitive(m) for m in marker.values())
    if isinstance(marker, list):
        return any(_any_sensitive(m) for m in marker)
    return marker is True


def _shown(value, sensitive) -> str:
    # A value shown whole hides all of itself when any part of it is sensitive.
    if _any_sensitive(sensitive):
        return "(sensitive)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 3] + "..."


# Attributes that mirror other resources: a role's `inline_policy` lists the
# policies its aws_iam_role_policy resources put on it after the role was
# made, so every refresh finds them "new". Not drift.
MIRRORED = {
    ("aws_iam_role", "inline_policy"): "mirrors the role's aws_iam_role_policy resources",
    ("aws_iam_role", "managed_policy_arns"): "mirrors the role's policy attachments",
}


def _empty(value) -> bool:
    """null, "", [] and {}: the provider writes one where AWS answers another."""
    return value is None or value == "" or value == [] or value == {}


def _walk(path: str, before, after, before_sensitive, after_sensitive, found: list[Attribute]) -> None:
    """The leaf paths where before and after differ. A path into a value
    that is present on one side only is reported whole. Empty against empty
    (a null the provider stored, an empty list AWS returns) is no change."""
    if before == after or (_empty(before) and _empty(after)):
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _walk(
                f"{path}.{key}" if path else key,
                before.get(key),
                after.get(key),
                before_sensitive.get(key) if isinstance(before_sensitive, dict) else before_sensitive,
                after_sensitive.get(key) if isinstance(after_sensitive, dict) else after_sensitive,
                found,
            )
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _walk(
                f"{path}[{index}]",
                old,
                new,
                before_sensitive[index] if isinstance(before_sensitive, list) else before_sensitive,
                after_sensitive[index] if isinstance(after_sensitive, list) else after_sensitive,
                found,
            )
        return
    found.append(Attribute(path or "(whole)", _shown(before, before_sensitive), _shown(after, after_sensitive)))


def drifted(plan: dict) -> list[DriftedResource]:
    if "format_version" not in plan:
        raise ValueError("not `terraform show -json` plan output")
    resources = []
    for drift in plan.get("resource_drift", []):
        change = drift["change"]
        if change["actions"] == ["no-op"]:
            continue
        found: list[Attribute] = []
        if change["actions"] == ["update"]:
            _walk(
                "",
                change.get("before"),
                change.get("after"),
                change.get("before_sensitive", False),
                change.get("after_sensitive", False),
                found,
            )
            found = [a for a in found if (drift.get("type"), a.path.split(".")[0].split("[")[0]) not in MIRRORED]
            if not found:
                continue  # only normalization or mirrors: nothing changed in AWS
        action = {"update": "changed", "delete": "deleted outside Terraform"}.get(
            "+".join(change["actions"]), "+".join(change["actions"])
        )
        controls = []
        if drift.get("type") == "aws_codepipeline" and change.get("before") and change.get("after"):
            controls = pipeline_changes(change["before"], change["after"])
        resources.append(DriftedResource(drift["address"], action, found, controls))
    return resources


def status(drift: dict[str, list[DriftedResource]], failed: dict[str, str]) -> str:
    if any(drift.values()):
        return "drift"
    return "incomplete" if failed else "clean"


def render(drift: dict[str, list[DriftedResource]], failed: dict[str, str], run_url: str = "") -> str:
    lines = [MARKER, f"# {TITLE}", ""]
    count = sum(len(r) for r in drift.values())
    lines.append(
        f"The nightly `terraform plan -refresh-only` found {count} resource"
        f"{'' if count == 1 else 's'} that differ from Terraform's state"
        + (f" ([run]({run_url}))." if run_url else ".")
    )
    lines += [
        "",
        "Either put the change into code (a pull request), or let the next apply put it back. "
        "This issue is updated every night and closed when no drift is left "
        "(docs/review-and-apply.md).",
    ]
    for stack, resources in drift.items():
        if not resources:
            continue
        lines += ["", f"## `{stack}`", ""]
        for resource in resources:
            lines.append(f"- `{resource.address}`: {resource.action}")
            lines += [
                f"  - {'⛔ delivery control weakened' if c.weakened else 'delivery control changed'}: {c.text}"
                for c in resource.controls
            ]
            lines += [f"  - `{a.path}`: {a.before} → {a.after}" for a in resource.attributes]
    if failed:
        lines += ["", "## Not checked", ""]
        lines += [f"- `{stack}`: the refresh-only plan failed (see the run's log)" for stack in failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Report drift from refresh-only plans.")
    parser.add_argument("--plan", action="append", default=[], metavar="STACK=PLAN.json")
    parser.add_argument("--failed", action="append", default=[], metavar="STACK=LOG")
    parser.add_argument("--dir", help="STACK.json or STACK.log for every stack of every environment")
    parser.add_argument("--out", required=True, help="write the issue body here")
    parser.add_argument("--status", required=True, help="write drift, clean or incomplete here")
    parser.add_argument("--run-url", default="", help="the workflow run, linked from the issue")
    args = parser.parse_args(argv)
    if not (args.plan or args.failed or args.dir):
        parser.error("give --dir, --plan or --failed")
    try:
        paths = dict(v.partition("=")[::2] for v in args.plan)
        failed = {
            stack: Path(log).read_text(errors="replace") for stack, _, log in (v.partition("=") for v in args.failed)
        }
        if args.dir:
            collected = plan_files.collect(Path(args.dir), plan_files.stacks_of(list(ENVIRONMENT_NAMES)))
            paths.update({stack: json_path for stack, (json_path, _) in collected.plans.items()})
            failed.update(collected.failed)
        drift = {stack: drifted(json.loads(Path(path).read_text())) for stack, path in paths.items()}
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    body, verdict = render(drift, failed, args.run_url), status(drift, failed)
    Path(args.out).write_text(body)
    Path(args.status).write_text(verdict + "\n")
    print(f"drift status: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
