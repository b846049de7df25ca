"""Apply exactly what was reviewed: the plan's fingerprint, recorded in the
pull-request comment and checked again before apply.

    python3 -m review.plan_binding reviewed --comment FILE --head SHA --out reviewed.json
    python3 -m review.plan_binding check --reviewed reviewed.json --stack STACK --plan plan.json [--explain FILE]

A plan's *fingerprint* is a SHA-256 over its resource changes: for every
resource instance the plan does something to (not `no-op`), its address,
actions, before and after values, unknown and replaced paths. Everything
else in the plan JSON (timestamps, Terraform's version, the configuration,
prior state of untouched resources) is left out, so two plans of the same
change against the same state have the same fingerprint, and two plans that
would change anything differently do not.

The plan workflow puts each stack's fingerprint, and a digest per changed
resource, in its comment (`record()`), with the commit it planned. The apply
workflow reads that record back (`reviewed`), re-plans each stack, and
applies the saved plan only when its fingerprint equals the reviewed one
(`check`); otherwise it says which resources differ. Standard library only,
so any Python on a runner can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from topology import naming
from topology.environments import ENVIRONMENT_NAMES

RECORD_PREFIX = "<!-- kiro-pipeline-reviewed-plan "
RECORD = re.compile(re.escape(RECORD_PREFIX) + r"(?P<json>\{.*?\}) -->")
# What of a resource change is bound: the rest of the entry (`action_reason`,
# the `*_sensitive` masks, derived from the values) cannot change what is applied.
BOUND_FIELDS = ("actions", "before", "after", "after_unknown", "replace_paths", "importing")


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(value) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


def resource_digests(plan: dict) -> dict[str, str]:
    """{address: "ACTIONS:DIGEST"} for every resource instance the plan changes.
    Data sources read at apply time count: what they read feeds the apply."""
    if "resource_changes" not in plan and "format_version" not in plan:
        raise ValueError("not `terraform show -json` plan output")
    digests = {}
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions == ["no-op"]:
            continue
        # A deposed object (a create-before-destroy left over) shares its address with the current one.
        key = change["address"] + (f" (deposed {change['deposed']})" if change.get("deposed") else "")
        bound = {"address": key, **{k: change["change"].get(k) for k in BOUND_FIELDS}}
        digests[key] = f"{'+'.join(actions)}:{_sha256(bound)}"
    return digests


def fingerprint(plan: dict) -> str:
    return "sha256:" + _sha256(resource_digests(plan))


@dataclass(frozen=True)
class Reviewed:
    """What a pull request's comment says was reviewed: the commit planned,
    and per stack its fingerprint and the digest of each changed resource."""

    head: str
    stacks: dict[str, dict]

    def environments(self, order: tuple[str, ...]) -> list[str]:
        planned = {naming.stack_parts(stack)[1] for stack in self.stacks}
        return [env for env in order if env in planned]


# A short digest per resource keeps the record small in the comment; the
# fingerprint itself is the full SHA-256 over the full digests.
SHORT = 16


def record(head: str, plans: dict[str, dict], failed: tuple[str, ...] | list[str] = ()) -> str:
    """The comment's hidden record of what was reviewed (one line). A stack
    whose plan failed is recorded as such: its environment's apply stops at
    it instead of passing over it."""
    stacks: dict[str, dict] = {stack: {"failed": True} for stack in failed}
    stacks.update(
        {
            stack: {
                "fingerprint": fingerprint(plan),
                "changes": {a: d[: d.index(":") + 1 + SHORT] for a, d in resource_digests(plan).items()},
            }
            for stack, plan in plans.items()
        }
    )
    stacks = dict(sorted(stacks.items()))
    body = json.dumps({"head": head, "stacks": stacks}, sort_keys=True, separators=(",", ":"))
    # An address cannot end the HTML comment early: `>` inside a JSON string is escaped.
    return RECORD_PREFIX + body.replace(">", "\\u003e") + " -->"


def read_record(comment: str) -> Reviewed:
    found = RECORD.findall(comment)
    if len(found) != 1:
        raise ValueError(
            f"the comment holds {len(found)} reviewed-plan records, expected 1: "
            "was it written by review/plan_summary.py with --head?"
        )
    data = json.loads(found[0])
    return Reviewed(head=data["head"], stacks=data["stacks"])


def differences(reviewed: dict[str, str], current: dict[str, str]) -> list[str]:
    """What differs between the reviewed plan's resources and this plan's, in words."""
    lines = []
    current = {a: d[: d.index(":") + 1 + SHORT] for a, d in current.items()}
    for address in sorted(set(reviewed) | set(current)):
        was, now = reviewed.get(address), current.get(address)
        if was == now:
            continue
        if was is None:
            lines.append(f"`{address}`: {now.split(':')[0]}, which the reviewed plan did not have")
        elif now is None:
            lines.append(f"`{address}`: the reviewed {was.split(':')[0]} is no longer planned")
        elif was.split(":")[0] != now.split(":")[0]:
            lines.append(f"`{address}`: reviewed as {was.split(':')[0]}, now {now.split(':')[0]}")
        else:
            lines.append(f"`{address}`: {now.split(':')[0]} with other values than reviewed")
    return lines


@dataclass(frozen=True)
class Verdict:
    stack: str
    matches: bool
    reviewed: str
    current: str
    differences: tuple[str, ...] = ()

    def explain(self) -> str:
        if self.matches:
            return f"`{self.stack}`: the plan is the reviewed one ({self.current[:19]}...)"
        lines = [
            f"⛔ **`{self.stack}`: not applied.** Its plan now differs from the reviewed one "
            f"(reviewed {self.reviewed[:19]}..., now {self.current[:19]}...):",
            "",
            *[f"- {line}" for line in self.differences],
            "",
            "Something changed between review and merge: another merge applied first, the "
            "infrastructure changed outside Terraform, main moved on, or an earlier apply of this "
            "change stopped halfway (throttling, a timeout). Re-run the pull "
            "request's plan check, review the new comment, then run the apply workflow for "
            "this pull request again (docs/review-and-apply.md).",
        ]
        return "\n".join(lines)


def check(reviewed: Reviewed, stack: str, plan: dict) -> Verdict:
    if stack not in reviewed.stacks:
        raise ValueError(f"{stack} was not planned in the review: nothing of it may be applied")
    entry = reviewed.stacks[stack]
    if entry.get("failed"):
        raise ValueError(f"{stack}'s plan failed in the review: nothing of it was reviewed, so nothing is applied")
    current = fingerprint(plan)
    if current == entry["fingerprint"]:
        return Verdict(stack, True, entry["fingerprint"], current)
    return Verdict(
        stack, False, entry["fingerprint"], current, tuple(differences(entry["changes"], resource_digests(plan)))
    )


def _reviewed_command(args) -> int:
    reviewed = read_record(Path(args.comment).read_text())
    if reviewed.head != args.head:
        raise ValueError(
            f"the comment's plan is of commit {reviewed.head[:12]}, but the pull request's head is "
            f"{args.head[:12]}: its last plan did not finish. Re-run the plan check before applying."
        )
    Path(args.out).write_text(json.dumps({"head": reviewed.head, "stacks": reviewed.stacks}, indent=2) + "\n")
    print(json.dumps(reviewed.environments(ENVIRONMENT_NAMES)))
    return 0


def _check_command(args) -> int:
    data = json.loads(Path(args.reviewed).read_text())
    verdict = check(Reviewed(data["head"], data["stacks"]), args.stack, json.loads(Path(args.plan).read_text()))
    print(verdict.explain())
    if args.explain and not verdict.matches:
        Path(args.explain).write_text(verdict.explain() + "\n")
    return 0 if verdict.matches else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bind an apply to the reviewed plan.")
    commands = parser.add_subparsers(dest="command", required=True)
    reviewed = commands.add_parser("reviewed", help="read the reviewed plans from the pull-request comment")
    reviewed.add_argument("--comment", required=True, help="the comment's body")
    reviewed.add_argument("--head", required=True, help="the pull request's head commit")
    reviewed.add_argument("--out", required=True, help="write the reviewed plans here (JSON)")
    checked = commands.add_parser("check", help="exit 0 when STACK's plan is the reviewed one, 1 when not")
    checked.add_argument("--reviewed", required=True)
    checked.add_argument("--stack", required=True)
    checked.add_argument("--plan", required=True, help="`terraform show -json` of the plan to apply")
    checked.add_argument("--explain", help="on refusal, write what differs here (Markdown)")
    args = parser.parse_args(argv)
    try:
        return _reviewed_command(args) if args.command == "reviewed" else _check_command(args)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
