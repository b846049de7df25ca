"""Summarize `terraform plan` for a pull-request comment.

    python3 -m review.plan_summary --plan core-test=plans/core.json:plans/core.txt [--plan ...] [--out FILE]
    python3 -m review.plan_summary --dir plans --environments plans/environments.txt --head SHA --out comment.md

Each `--plan` names a stack and its `terraform show -json` output, and
optionally its `terraform show -no-color` text after a colon; `--dir` reads
what the plan jobs left for every stack of the listed environments
(review/plan_files.py). With `--head`, the comment records each plan's
fingerprint for the apply workflow (review/plan_binding.py). The comment has,
per stack: counts to add, change and destroy (as Terraform counts them: a
replacement is one add and one destroy); a warning section for destroys and
replacements and for any change to what grants access (IAM policies and
roles, key policies, bucket and topic policies, security groups, resource
permissions), the "permissions broadening" review of CDK Pipelines; and the
full plan, folded. The first line is a marker, so the workflow updates its
comment instead of adding another.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from review import drift_report, plan_binding, plan_files
from review.policies.controls import ControlChange, plan_changes
from topology import naming

MARKER = "<!-- kiro-pipeline-plan-summary -->"

# Changing any of these can widen who may do what.
PERMISSION_TYPES = {
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "aws_iam_policy_attachment",
    "aws_kms_key_policy",
    "aws_kms_grant",
    "aws_s3_bucket_policy",
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
    "aws_cloudwatch_log_resource_policy",
    "aws_lambda_permission",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_codestarconnections_connection",
    "aws_codeconnections_connection",
}
# Resources whose policy lives in an attribute of their own.
POLICY_ATTRIBUTES = {
    "aws_kms_key": "policy",
    "aws_sns_topic": "policy",
    "aws_sqs_queue": "policy",
    "aws_ecr_repository_policy": "policy",
}


# `actions` of a resource change in `terraform show -json` (Terraform's JSON
# output format): "forget" (Terraform 1.7+, a `removed` block with
# `destroy = false`) leaves the object in AWS and drops it from state.
KINDS = {
    ("no-op",): "no-op",
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("forget",): "forget",
    ("create", "forget"): "replace-forget",
}


@dataclass(frozen=True)
class Change:
    address: str
    resource_type: str
    actions: tuple[str, ...]

    @property
    def kind(self) -> str:
        """Terraform's action list as one word. An action list this tool does
        not know is shown as it is, never dropped."""
        return KINDS.get(self.actions, "+".join(self.actions))


@dataclass
class StackPlan:
    stack: str
    changes: list[Change] = field(default_factory=list)
    permission_changes: list[Change] = field(default_factory=list)
    # What the plan does to the delivery controls (approval, rollback, bake, window, gates, retry, ...).
    controls: list[ControlChange] = field(default_factory=list)
    # Resources changed outside Terraform, as the plan's refresh found them.
    drift: list[Change] = field(default_factory=list)
    text: str = ""
    # What the apply workflow checks its own plan against (review/plan_binding.py).
    fingerprint: str = ""
    # Outputs this plan changes: the later stacks of its environment read them.
    outputs_changed: list[str] = field(default_factory=list)

    @property
    def counts(self) -> tuple[int, int, int]:
        """(add, change, destroy), as Terraform's "Plan:" line counts them."""
        kinds = [c.kind for c in self.changes]
        add = kinds.count("create") + kinds.count("replace") + kinds.count("replace-forget")
        change = kinds.count("update")
        destroy = kinds.count("delete") + kinds.count("replace")
        return add, change, destroy

    @property
    def forgotten(self) -> int:
        return sum(1 for c in self.changes if c.kind in ("forget", "replace-forget"))

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.kind in ("delete", "replace")]

    @property
    def unmanaged(self) -> list[Change]:
        """Changes that leave an object in AWS that Terraform no longer
        manages, and action lists this tool does not know."""
        return [c for c in self.changes if c.kind not in ("create", "update", "delete", "replace")]


def _policy_changed(resource_change: dict) -> bool:
    attribute = POLICY_ATTRIBUTES.get(resource_change["type"])
    if attribute is None:
        return False
    change = resource_change["change"]
    before = (change.get("before") or {}).get(attribute)
    after = (change.get("after") or {}).get(attribute)
    unknown = (change.get("after_unknown") or {}).get(attribute, False)
    return unknown is True or before != after


def summarize(stack: str, plan: dict, text: str = "") -> StackPlan:
    if "resource_changes" not in plan and "format_version" not in plan:
        raise ValueError(f"{stack}: not `terraform show -json` plan output")
    result = StackPlan(stack, text=text, controls=plan_changes(plan), fingerprint=plan_binding.fingerprint(plan))
    result.outputs_changed = sorted(
        name for name, change in plan.get("output_changes", {}).items() if change.get("actions") != ["no-op"]
    )
    # What counts as drift has one home, the nightly report's rules.
    drifted = {r.address for r in drift_report.drifted(plan)} if "format_version" in plan else set()
    result.drift = [
        Change(d["address"], d["type"], tuple(d["change"]["actions"]))
        for d in plan.get("resource_drift", [])
        if d["address"] in drifted
    ]
    for resource_change in plan.get("resource_changes", []):
        if resource_change.get("mode", "managed") != "managed":
            continue  # data sources are read, not changed
        change = Change(
            resource_change["address"], resource_change["type"], tuple(resource_change["change"]["actions"])
        )
        if change.kind == "no-op":
            continue
        result.changes.append(change)
        if change.resource_type in PERMISSION_TYPES or _policy_changed(resource_change):
            result.permission_changes.append(change)
    return result


def labels(plans: list[StackPlan], failed: dict[str, str] | None = None) -> list[str]:
    """The pull request's labels: what kind of change this is. With a failed
    stack nothing can be said to be unchanged."""
    found = []
    if any(c.kind in ("create", "update") for p in plans for c in p.changes):
        found.append("add-or-update")
    if any(p.destructive for p in plans):
        found.append("destroy")
    if not failed and not any(p.changes for p in plans):
        found.append("no-changes")
    if any(c.weakened for p in plans for c in p.controls):
        found.append("control-weakened")
    if any(p.drift for p in plans):
        found.append("drift")
    return found


def _controls(plans: list[StackPlan]) -> list[str]:
    """Delivery-control changes first of all: a weakened one opens the comment."""
    weakened = [(p.stack, c) for p in plans for c in p.controls if c.weakened]
    other = [(p.stack, c) for p in plans for c in p.controls if not c.weakened]
    lines = []
    if weakened:
        lines.append("⛔ **Delivery control weakened**: " + "; ".join(f"`{stack}` {c.text}" for stack, c in weakened))
    if other:
        lines += ["", "**Delivery controls changed:**", ""] + [f"- `{stack}`: {c.text}" for stack, c in other]
    return lines


# The end of a failed init or plan's output that the comment shows.
FAILURE_LINES = 40


def _failures(failed: dict[str, str]) -> list[str]:
    """Stacks whose `init` or `plan` failed: named first, with the end of the output."""
    lines = []
    for stack, log in failed.items():
        tail = "\n".join(log.rstrip().splitlines()[-FAILURE_LINES:]).replace("```", "` ` `")
        lines += [f"❌ **`{stack}`: terraform init or plan failed**", "", "```", tail, "```", ""]
    return lines


def render(
    plans: list[StackPlan], limit: int | None = None, failed: dict[str, str] | None = None, reviewed: str = ""
) -> str:
    """The comment. `reviewed` is plan_binding.record(): the hidden line the
    apply workflow binds its apply to."""
    limit = COMMENT_LIMIT if limit is None else limit
    controls = _controls(plans)
    lines = [
        MARKER,
        *([reviewed] if reviewed else []),
        *_failures(failed or {}),
        *controls,
        *([""] if controls else []),
        "## Terraform plan",
        "",
        "| stack | add | change | destroy | forget | plan fingerprint |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for plan in plans:
        add, change, destroy = plan.counts
        short = plan.fingerprint[: len("sha256:") + 12]
        lines.append(f"| `{plan.stack}` | {add} | {change} | {destroy} | {plan.forgotten} | `{short}` |")
    destructive = [(p.stack, c) for p in plans for c in p.destructive]
    unmanaged = [(p.stack, c) for p in plans for c in p.unmanaged]
    permissions = [(p.stack, c) for p in plans for c in p.permission_changes]
    if destructive or unmanaged or permissions:
        lines += ["", "### ⚠️ Review before merging"]
    if destructive:
        lines += ["", "**Destroyed or replaced** (data in them may be lost):", ""]
        lines += [f"- `{stack}`: {c.kind} `{c.address}`" for stack, c in destructive]
    if unmanaged:
        lines += ["", "**Forgotten** (left in AWS, no longer managed by Terraform: delete or import them):", ""]
        lines += [f"- `{stack}`: {c.kind} `{c.address}`" for stack, c in unmanaged]
    if permissions:
        lines += ["", "**Permissions may change** (IAM, key, bucket and topic policies, security groups):", ""]
        lines += [f"- `{stack}`: {c.kind} `{c.address}`" for stack, c in permissions]
    drift = [(p.stack, c) for p in plans for c in p.drift]
    if drift:
        lines += ["", "**Drift** (changed outside Terraform; this plan puts it back):", ""]
        lines += [f"- `{stack}`: {c.kind} `{c.address}`" for stack, c in drift]
    last = naming.STACK_CONCERNS[-1]  # nothing reads the last stack's outputs
    upstream = [p for p in plans if p.outputs_changed and naming.stack_parts(p.stack)[0] != last]
    if upstream:
        lines += ["", "**Stacks planned against outputs that change:**", ""]
        lines += [
            f"- `{p.stack}` changes {len(p.outputs_changed)} output(s) that the later stacks of its environment read. "
            "Those were planned against the current values; the apply plans them again after this stack, and stops "
            "for a new review if they differ. Merging the change to this stack first avoids that."
            for p in upstream
        ]
    if not plans and not failed:
        lines += ["", "No environment is affected by this change (documentation or tests only): nothing was planned."]
    elif not failed and not any(p.changes for p in plans):
        lines += ["", "No changes. The infrastructure matches the configuration."]
    head = "\n".join(lines) + "\n"
    return head + _folds(plans, limit - len(head))


# GitHub refuses a comment over 65 536 characters; keep a margin.
COMMENT_LIMIT = 65_000


def _fold(stack: str, body: str) -> str:
    return f"\n<details><summary>Full plan: <code>{stack}</code></summary>\n\n```\n{body}\n```\n\n</details>\n"


def _folds(plans: list[StackPlan], room: int) -> str:
    """Each stack's full plan, folded. When they do not fit, the longest are
    shortened whole (never cut inside a fold or a code fence): its first
    lines, and where the rest is."""
    bodies = {p.stack: p.text.rstrip() for p in plans if p.text}
    while bodies and sum(len(_fold(s, b)) for s, b in bodies.items()) > room:
        longest = max(bodies, key=lambda s: len(bodies[s]))
        excess = sum(len(_fold(s, b)) for s, b in bodies.items()) - room
        kept = bodies[longest].splitlines()
        note = "... (shortened to fit the comment: the job log has the whole plan)"
        while kept and len("\n".join(kept)) > max(0, len(bodies[longest]) - excess - len(note) - 1):
            kept.pop()
        shortened = "\n".join([*kept, note]) if kept else note
        if shortened == bodies[longest]:
            break
        bodies[longest] = shortened
    return "".join(_fold(stack, body) for stack, body in bodies.items())


def _parse_plan_argument(value: str) -> tuple[str, Path, Path | None]:
    stack, _, files = value.partition("=")
    json_path, _, text_path = files.partition(":")
    if not stack or not json_path:
        raise argparse.ArgumentTypeError(f"--plan takes STACK=PLAN.json[:PLAN.txt], got {value!r}")
    return stack, Path(json_path), Path(text_path) if text_path else None


def _inputs(args) -> tuple[list[tuple[str, Path, Path | None]], dict[str, str]]:
    """The plans and failures named on the command line, and those a plan
    job left in `--dir` for every stack of `--environments`."""
    plans, failed = list(args.plan), {}
    for value in args.failed:
        stack, _, log = value.partition("=")
        failed[stack] = Path(log).read_text(errors="replace")
    if args.dir:
        environments = Path(args.environments).read_text().split() if args.environments else []
        collected = plan_files.collect(Path(args.dir), plan_files.stacks_of(environments))
        plans += [(stack, json_path, text_path) for stack, (json_path, text_path) in collected.plans.items()]
        failed.update(collected.failed)
    return plans, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize terraform plans as a pull-request comment.")
    parser.add_argument(
        "--plan", action="append", default=[], type=_parse_plan_argument, metavar="STACK=PLAN.json[:PLAN.txt]"
    )
    parser.add_argument(
        "--failed",
        action="append",
        default=[],
        metavar="STACK=LOG",
        help="a stack whose init or plan failed, and its output",
    )
    parser.add_argument("--dir", help="a directory of STACK.json, STACK.txt and STACK.log files (review/plan_files.py)")
    parser.add_argument("--environments", help="with --dir: a file naming the environments planned, one a line")
    parser.add_argument("--out", help="write the comment here (default: standard output)")
    parser.add_argument("--labels", help="write the pull request's labels here, one a line")
    parser.add_argument(
        "--head", help="the commit planned: record the plans' fingerprints for the apply workflow to check"
    )
    args = parser.parse_args(argv)
    if not (args.plan or args.failed or args.dir):
        parser.error("give --plan, --failed or --dir")
    try:
        named, failed = _inputs(args)
        raw = {stack: json.loads(json_path.read_text()) for stack, json_path, _ in named}
        plans = [
            summarize(stack, raw[stack], text_path.read_text() if text_path else "") for stack, _, text_path in named
        ]
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    reviewed = plan_binding.record(args.head, raw, sorted(failed)) if args.head else ""
    comment = render(plans, failed=failed, reviewed=reviewed)
    if args.labels:
        Path(args.labels).write_text("".join(f"{label}\n" for label in labels(plans, failed)))
    if args.out:
        Path(args.out).write_text(comment)
    else:
        sys.stdout.write(comment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
