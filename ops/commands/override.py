"""The break-glass: let an execution past a stage condition that holds it
(python -m ops override ENV --stage STAGE --reason "...").

Entry conditions keep a gate stage shut: `{Target}Gate` while its target is
in ALARM (an incident), `ProductionWindow` outside production's change
window. Each gate is a stage of its own, so one override never waives the
other. The bake (on-success) condition of a deploy stage rolls back while
the target is unhealthy. When a
person decides to go anyway (the hotfix for that incident, an urgent fix on
a Friday), this command calls OverrideStageCondition, and leaves behind:

- an audit record in the deployments table (`override#{stage}#{time}`): who
  (the caller's identity), when, why, which execution, which condition and
  the state of its rules at that moment. It is written before the override:
  no audit, no override;
- a message on the deployments topic, so the team sees it happen.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from functions.shared import records
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_USAGE, OpsError, explain
from ops.common import Context, iso, pipeline_state
from ops.values import canonical, choice, execution_id, text
from topology import naming

CONDITIONS = {"before-entry": "BEFORE_ENTRY", "on-success": "ON_SUCCESS"}
# The stages that have each kind of condition.
STAGES = {
    "BEFORE_ENTRY": naming.GATE_STAGES,
    "ON_SUCCESS": tuple(naming.DEPLOY_STAGES[target] for target in naming.BAKE_TARGETS),
}
# The record's status: written before the call, then its outcome.
REQUESTED, OVERRIDDEN, FAILED = "OVERRIDE_REQUESTED", "OVERRIDDEN", "OVERRIDE_FAILED"
# The longest --reason (arguments_override says why).
REASON_LONGEST = 4096
# The audit record's attribute that names the run which wrote it.
AUDIT_TOKEN = records.AUDIT_TOKEN  # noqa: S105 - an attribute name, not a secret


def _held_execution(stage_state: dict, condition: str) -> str | None:
    """The execution the condition holds: the one waiting to enter the stage
    (entry), or the one in it (bake)."""
    if condition == "BEFORE_ENTRY":
        waiting = (stage_state.get("inboundExecution") or {}).get("pipelineExecutionId")
        if waiting:
            return waiting
    return (stage_state.get("latestExecution") or {}).get("pipelineExecutionId")


def _condition_state(stage_state: dict, condition: str) -> dict:
    key = "beforeEntryConditionState" if condition == "BEFORE_ENTRY" else "onSuccessConditionState"
    return stage_state.get(key) or {}


def _rules(stage_state: dict, condition: str) -> dict[str, str]:
    """Each rule of the condition, with its latest status (what was overridden)."""
    found = {}
    for state in _condition_state(stage_state, condition).get("conditionStates", []):
        for rule in state.get("ruleStates", []):
            found[rule["ruleName"]] = (rule.get("latestExecution") or {}).get("status", "unknown")
    return found


def cmd_override(ctx: Context, args) -> int:
    # Every argument is checked before the first call: a usage error leaves
    # no audit record behind (--reason and --execution by their types).
    reason = args.reason
    condition = CONDITIONS[args.condition]
    args.stage = canonical(STAGES[condition], args.stage) or args.stage
    if args.stage not in STAGES[condition]:
        raise OpsError(
            f"--stage must be one of {', '.join(STAGES[condition])} for --condition {args.condition}", EXIT_USAGE
        )
    stage_state, execution = _held(ctx, args, condition)
    rules = _rules(stage_state, condition)
    caller = ctx.client("sts").get_caller_identity()["Arn"]
    now = iso(datetime.now(UTC))
    key = f"{records.OVERRIDE_PREFIX}{args.stage}#{now}#{execution}"
    write_audit(
        ctx,
        key,
        {
            # This run's own mark: a retried write finds it and knows the record is ours.
            AUDIT_TOKEN: uuid.uuid4().hex,
            records.INDEX_PARTITION: ctx.config.name,
            records.INDEX_SORT: now,
            records.STATUS: REQUESTED,
            records.STAGE: args.stage,
            records.CONDITION_TYPE: condition,
            records.PIPELINE_NAME: ctx.names.pipeline,
            records.PIPELINE_EXECUTION_ID: execution,
            records.REASON: reason,
            records.OVERRIDDEN_BY: caller,
            records.RULES: rules or {"(not reported)": "unknown"},
            records.EXPIRES: records.expires_at(now, ctx.config.deployment_record_ttl_days),
        },
    )
    warnings = _override(ctx, key, args, execution, condition)
    lines = [
        f"✓ {args.stage} {args.condition} condition overridden for execution {execution} by {caller}",
        f"  reason: {reason}",
        f"  audit record: {key} in {ctx.names.deployments_table}",
        *warnings,
        _announce(ctx, args.stage, args.condition, execution, caller, reason, rules),
    ]
    ctx.emit({"record": key, "stage": args.stage, "condition": condition, "execution": execution}, lines)
    return 0


def _held(ctx: Context, args, condition: str) -> tuple[dict, str]:
    """The stage's state, and the execution to let through."""
    stage_state = next((s for s in pipeline_state(ctx).get("stageStates", []) if s["stageName"] == args.stage), {})
    waiting = (_condition_state(stage_state, condition).get("latestExecution") or {}).get("status")
    if not args.execution and waiting != "InProgress":
        # Only a condition in progress can be overridden; a finished one has
        # already let the execution through, or failed its stage.
        raise OpsError(
            f"{args.stage}'s {args.condition} condition is not holding an execution (status {waiting or 'none'}); "
            "name one with --execution if you are sure"
        )
    execution = args.execution or _held_execution(stage_state, condition)
    if not execution:
        raise OpsError(f"no execution is at {args.stage}'s {args.condition} condition; name one with --execution")
    return stage_state, execution


def write_audit(ctx: Context, key: str, item: dict, what: str = "override") -> None:
    """Write the audit record, or refuse: no audit, no override.

    The write is conditional (a new record only), and the SDK resends a
    request whose answer was lost: "Legacy mode is the default mode used by
    any Boto3 client you create", retrying "General socket/connection errors"
    (https://docs.aws.amazon.com/boto3/latest/guide/retries.html). A resent
    PutItem whose first attempt was applied fails its condition (a new
    record only): "If the condition expression evaluates to true, the
    operation succeeds; otherwise, the operation fails"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.SpecifyingConditions.html;
    that a resend is judged like any write is assumed).
    The store then returns the record it finds; this run's token in it means
    the record is this run's own, and the override goes on. Any other record
    under the key is another override's, made this very second."""
    store = ctx.store()
    try:
        existing = store.claim(key, item)
    except AWS_ERRORS as error:
        # The last attempt's answer may be what was lost: if the record is
        # there with this run's token, it was written.
        if _written_by(store, key, item[AUDIT_TOKEN]):
            return
        raise explain(error, f"writing the audit record (no audit, no {what})") from error
    if existing is not None and existing.get(AUDIT_TOKEN) != item[AUDIT_TOKEN]:
        raise OpsError(f"another {what} was recorded this very second under this key ({key}); check it, then retry")


def _written_by(store, key: str, token: str) -> bool:
    try:
        return (store.get(key) or {}).get(AUDIT_TOKEN) == token
    except AWS_ERRORS:
        return False


def _override(ctx: Context, key: str, args, execution: str, condition: str) -> list[str]:
    """Call OverrideStageCondition and settle the record; a record that cannot
    be settled never hides what the call did."""
    store = ctx.store()
    try:
        ctx.client("codepipeline").override_stage_condition(
            pipelineName=ctx.names.pipeline,
            stageName=args.stage,
            pipelineExecutionId=execution,
            conditionType=condition,
        )
    except AWS_ERRORS as error:
        failure = explain(error, f"overriding {args.stage}'s {args.condition} condition")
        try:
            store.update(key, **{records.STATUS: FAILED, records.FAILURE_REASON: str(failure)})
        except AWS_ERRORS:
            failure = OpsError(f"{failure}; the audit record {key} still says {REQUESTED}")
        raise failure from error
    try:
        store.update(key, status=OVERRIDDEN)
    except AWS_ERRORS as error:
        return [
            f"! the override was made, but its record {key} still says {REQUESTED} "
            f"({explain(error, 'updating it')}); do not override again"
        ]
    return []


def _announce(ctx: Context, stage: str, condition: str, execution: str, caller: str, reason: str, rules) -> str:
    """Tell the deployments topic; a failure here is reported, not fatal (the record stands)."""
    held = ", ".join(f"{name} {status}" for name, status in sorted(rules.items())) or "not reported"
    try:
        ctx.client("sns").publish(
            TopicArn=ctx.arn("sns", ctx.names.topic("deployments")),
            Subject=f"Stage condition overridden: {ctx.names.pipeline} {stage}"[:100],
            Message=(
                f"{caller} overrode the {condition} condition of {stage} in {ctx.names.pipeline} "
                f"for execution {execution}.\nReason: {reason}\nRules at the time: {held}"
            ),
        )
        return "  announced on the deployments topic"
    except AWS_ERRORS as error:
        return f"! not announced on the deployments topic ({explain(error, 'publishing')}); tell the team"


def arguments_override(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage",
        required=True,
        help=(
            "the stage whose condition holds the execution: a gate stage (TestGate, StagingGate, "
            "ProductionWindow, ProductionGate) for --condition before-entry, StagingEnv or ProductionDeploy "
            "for on-success"
        ),
    )
    # No AWS call takes the reason as a parameter of its own
    # (OverrideStageCondition has none): it goes into the audit record and the
    # announcement. SNS: "messages must be UTF-8 encoded strings and at most
    # 256 KB in size" (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html);
    # DynamoDB's item limit is 400 KB
    # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html).
    # The project's own bound keeps both far below those: 4,096 characters
    # are at most 16 KB in UTF-8, and say more than an audit needs.
    parser.add_argument(
        "--reason",
        required=True,
        type=text("the reason", longest=REASON_LONGEST),
        help=f"why (at most {REASON_LONGEST} characters); kept in the audit record and announced",
    )
    parser.add_argument(
        "--condition",
        type=choice(sorted(CONDITIONS), "condition"),
        default="before-entry",
        metavar="{" + ",".join(sorted(CONDITIONS)) + "}",
        help="the entry condition (incident gate, change window; default) or the bake",
    )
    parser.add_argument(
        "--execution",
        type=execution_id,
        help="the execution to let through (default: the one the condition holds)",
    )


COMMANDS = {
    "override": Command(
        cmd_override,
        "Break-glass: let an execution past a stage condition, with an audit record",
        'override production --stage ProductionGate --reason "Hotfix for INC-42"',
        arguments=arguments_override,
    ),
}
