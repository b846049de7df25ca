"""The apply workflow's record of one Terraform apply in the environment's
ledger (`python -m ops changes` lists it under "infrastructure applies").

    python3 -m tools.apply_record --environment ENV --reviewed reviewed/reviewed.json \\
        --applied plans/applied [--applying plans/applying] [--stopped plans/stopped] \\
        --pull-request N --merged-by WHO --commit SHA \\
        --run-url URL --run-id ID --attempt N --out-dir plans

writes `apply-record.json` (the item, in DynamoDB's typed JSON) and
`apply-record-key.json` (the key attribute's name, for the condition) into
--out-dir, and prints the deployments table's name. tools/record-apply.sh
puts the item with `attribute_not_exists` on the key, so a record is never
overwritten: the key is the pull request, the workflow run and its attempt
(`apply#{pr}#{run}#{attempt}`), and a replay of that same attempt finds it.

The item holds exactly the contract's APPLY_ATTRIBUTES (the apply role may
put no other): the pull request, the stacks applied (in order) with their
reviewed plan fingerprints (review/plan_binding.py), who merged, the
commit and the run's URL; for an apply that stopped, where and why
(`applyStopped`), the stack whose apply failed partway counted among the
applied (some of its changes may be live: "Terraform does not automatically
rollback in the face of errors. Instead, your Terraform state file has been
partially updated with any resources that successfully completed", as
Terraform's own apply error used to say it). Each file --applied, --applying
and --stopped may be missing (none of that happened). It has no `expiresAt`: the workflow does not know
the environment's `deployment_record_ttl_days`, so apply records are kept
until deleted (a few hundred bytes per apply). Standard library only: it runs
on the runner's bare python3.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from functions.shared.contract import records
from review.policies.controls import plan_changes
from topology import naming
from topology.environments import ENVIRONMENT_NAMES


def key(pull_request: str, run_id: str, attempt: str) -> str:
    return f"{records.APPLY_PREFIX}{pull_request}#{run_id}#{attempt}"


def item(
    environment: str,
    reviewed: dict,
    applied: list[str],
    *,
    pull_request: str,
    merged_by: str,
    commit: str,
    run_url: str,
    run_id: str,
    attempt: str,
    now: datetime,
    plans: dict[str, dict] | None = None,
    stopped: str = "",
) -> dict:
    """The record, in DynamoDB's typed JSON (what `aws dynamodb put-item --item` takes).
    `plans`: each applied stack's `terraform show -json` plan, whose
    delivery-control changes the record keeps in words. `stopped`: where and
    why the apply stopped ("" for one that applied every stack it had to)."""
    stacks = reviewed.get("stacks", {})
    fingerprints = {stack: stacks.get(stack, {}).get("fingerprint", "not reviewed") for stack in applied}
    typed = {
        records.KEY: {"S": key(pull_request, run_id, attempt)},
        records.ENVIRONMENT: {"S": environment},
        records.START_TIME: {"S": now.astimezone(UTC).strftime(records.TIME_FORMAT)},
        records.PULL_REQUEST: {"S": pull_request},
        records.STACKS: {"L": [{"S": stack} for stack in applied]},
        records.PLAN_FINGERPRINTS: {"M": {stack: {"S": value} for stack, value in fingerprints.items()}},
        records.MERGED_BY: {"S": merged_by or "not recorded"},
        records.COMMIT_ID: {"S": commit},
        records.RUN_URL: {"S": run_url},
        records.CONTROL_CHANGES: {"L": [{"S": line} for line in control_changes(applied, plans or {})]},
    }
    if stopped:
        typed[records.APPLY_STOPPED] = {"S": stopped}
    expected = tuple(a for a in records.APPLY_ATTRIBUTES if stopped or a != records.APPLY_STOPPED)
    if tuple(typed) != expected:  # the apply role may put no other
        raise ValueError(f"an apply record holds {', '.join(expected)}, not {', '.join(typed)}")
    return typed


def stopped_between_stacks(outcome: str) -> str:
    """An apply step that did not succeed though no stack says where it
    stopped: it was cancelled or timed out between two stacks."""
    if outcome == "success":
        return ""
    return (
        f"the apply step's outcome was {outcome}, between stacks "
        "(the stacks after the last one listed were not applied)"
    )


def _lines(path: str | None) -> list[str]:
    """The non-empty lines of a file the apply step may not have written."""
    if not path or not Path(path).exists():
        return []
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def control_changes(applied: list[str], plans: dict[str, dict]) -> list[str]:
    """What the applied plans did to the delivery controls, as the plan
    review says it: "stack: text", a weakened control marked so."""
    return [
        f"{stack}: {'WEAKENED ' if change.weakened else ''}{change.text}"
        for stack in applied
        for change in plan_changes(plans.get(stack, {}))
    ]


def table(environment: str) -> str:
    return naming.resource_name(environment, "deployments")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The ledger record of one apply.")
    for name in ("environment", "reviewed", "applied", "pull-request", "merged-by", "commit", "run-url", "run-id"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--attempt", default="1")
    parser.add_argument("--applying", help="file: the stack whose apply failed partway (absent: none)")
    parser.add_argument("--stopped", help="file: where and why the apply stopped (absent: it did not)")
    parser.add_argument("--outcome", default="success", help="the apply step's outcome (success, failure, cancelled)")
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    try:
        applied = _lines(args.applied) + _lines(args.applying)
        stopped = " ".join(_lines(args.stopped)) or stopped_between_stacks(args.outcome)
        reviewed = json.loads(Path(args.reviewed).read_text())
        # The plans the apply step checked and applied (plans/<stack>.json beside plans/applied).
        folder = Path(args.applied).parent
        plans = {s: json.loads((folder / f"{s}.json").read_text()) for s in applied if (folder / f"{s}.json").exists()}
        if args.environment not in ENVIRONMENT_NAMES:
            raise ValueError(f"unknown environment {args.environment!r}: one of {', '.join(ENVIRONMENT_NAMES)}")
        record = item(
            args.environment,
            reviewed,
            applied,
            pull_request=args.pull_request,
            merged_by=args.merged_by,
            commit=args.commit,
            run_url=args.run_url,
            run_id=args.run_id,
            attempt=args.attempt,
            now=datetime.now(UTC),
            plans=plans,
            stopped=stopped,
        )
        out = Path(args.out_dir)
        (out / "apply-record.json").write_text(json.dumps(record, indent=2) + "\n")
        (out / "apply-record-key.json").write_text(json.dumps({"#key": records.KEY}) + "\n")
    except (OSError, ValueError, KeyError, AttributeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(args.environment))
    return 0


if __name__ == "__main__":
    sys.exit(main())
