"""Approve or reject the pending production release (python -m ops approve|reject ENV)."""

from __future__ import annotations

import argparse
from functools import partial

from ops.arguments import Command
from ops.aws import OpsError
from ops.common import Context, pipeline_state
from ops.values import text
from topology import naming


def _pending_approval(ctx: Context) -> str:
    for stage in pipeline_state(ctx).get("stageStates", []):
        if stage["stageName"] != naming.APPROVAL_STAGE:
            continue
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution", {})
            if (
                action["actionName"] == naming.APPROVAL_ACTION
                and latest.get("status") == "InProgress"
                and latest.get("token")
            ):
                return latest["token"]
    raise OpsError(
        f"no approval is pending for {ctx.names.pipeline} ({naming.APPROVAL_STAGE}/{naming.APPROVAL_ACTION})"
    )


def _answer_approval(ctx: Context, args, status: str) -> int:
    token = _pending_approval(ctx)
    ctx.client("codepipeline").put_approval_result(
        pipelineName=ctx.names.pipeline,
        stageName=naming.APPROVAL_STAGE,
        actionName=naming.APPROVAL_ACTION,
        result={"status": status, "summary": args.summary},
        token=token,
    )
    ctx.emit(
        {"pipeline": ctx.names.pipeline, "result": status, "summary": args.summary},
        [f"✓ {status.lower()} the production release of {ctx.names.pipeline}: {args.summary}"],
    )
    return 0


def arguments_approval(parser: argparse.ArgumentParser) -> None:
    # PutApprovalResult takes an empty summary ("Minimum length of 0. Maximum
    # length of 512", https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ApprovalResult.html),
    # but an approval with nothing said is refused here: it is the record of
    # who decided and why.
    parser.add_argument(
        "--summary",
        required=True,
        type=text("the summary", "codepipeline", "ApprovalSummary"),
        help="who decides and why (at most 512 characters); kept with the approval",
    )


# Approve and reject are one operation, answering the pending approval with
# ApprovalResult's status "Approved" or "Rejected".
COMMANDS = {
    "approve": Command(
        partial(_answer_approval, status="Approved"),
        "Approve the pending production release",
        "approve production --summary 'Approved by Jane'",
        arguments=arguments_approval,
    ),
    "reject": Command(
        partial(_answer_approval, status="Rejected"),
        "Reject the pending production release",
        "reject production --summary 'Rejected: flaky e2e'",
        arguments=arguments_approval,
    ),
}
