"""Decisions of the rollback function. Pure functions, no boto3.

An alarm of ours entering ALARM means the stage it watches is unhealthy:
roll that stage back to the newest execution that succeeded before the
current deployment. Everything else is ignored or rejected, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.shared import fields, records, stages
from functions.shared.executions import ROLLBACK, execution_type
from functions.shared.outcomes import Ignored, MalformedEvent  # noqa: F401  (part of this module's interface)

ALARM_EVENT = "CloudWatch Alarm State Change"
ROLLBACK_PREFIX = records.ROLLBACK_PREFIX
# The claim's status; every path ends in ROLLBACK_IN_PROGRESS,
# ROLLBACK_FAILED or SKIPPED_STAGE_IN_PROGRESS.
STARTED = "ROLLBACK_STARTED"


@dataclass(frozen=True)
class RollbackRequest:
    alarm: str
    stage: str
    reason: str
    time: str  # ISO-8601 UTC of the alarm's state change

    @property
    def alarm_key(self) -> str:
        """Identifies this alarm transition: duplicates of it share the key."""
        return f"{ROLLBACK_PREFIX}{self.alarm}#{self.time}"


@dataclass(frozen=True)
class Deployed:
    """The execution the alarmed stage is running now (GetPipelineState)."""

    execution_id: str
    # The pipeline's structure version now (GetPipelineState's pipelineVersion).
    version: int | None = None

    def key(self, stage: str) -> str:
        """One rollback per bad deployment: keyed by stage and execution, not
        by alarm transition, so an alarm that fires again does nothing new."""
        return f"{ROLLBACK_PREFIX}{stage}#{self.execution_id}"


@dataclass(frozen=True)
class Skip:
    """Left to CodePipeline: record, do not page."""

    reason: str
    # A STANDARD execution deploying or baking in the stage: CodePipeline's own
    # rollback will need a target, which is checked at once.
    deploying: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Refuse:
    """Nothing automatic is safe: record and page."""

    reason: str
    # CodePipeline's own rollback execution failed (for instance, its
    # target's artifacts were gone): the page gives the way back.
    rollback_failed: bool = False


@dataclass(frozen=True)
class Target:
    current_execution: str
    target_execution: str


@dataclass(frozen=True)
class NoTarget:
    reason: str
    # The newest release that was good in the stage, of any structure
    # version: the fallback starts a new execution of its commit.
    last_good: dict[str, Any] | None = None


# "The pipeline can only roll back to a previous execution if the previous
# execution was started in the current pipeline structure version" (CodePipeline
# user guide, "Configure stage rollback"). And a rollback execution "uses the
# ... artifacts from the execution to which it is rolling back": past the
# artifacts bucket's expiration they are gone. A target this close to it is
# refused too: the rollback would race the lifecycle.
ARTIFACT_MARGIN = timedelta(days=1)


def decide(event: Any, rollback_alarms: dict[str, str]) -> RollbackRequest | Ignored:
    """`rollback_alarms` maps each rollback-triggering alarm to the stage it
    guards. Any event shape is either decided or rejected with MalformedEvent."""
    try:
        return _decide(event, rollback_alarms)
    except MalformedEvent:
        raise
    except (TypeError, ValueError, OverflowError, UnicodeError, AttributeError, KeyError) as error:
        raise MalformedEvent(f"event could not be read: {type(error).__name__}") from None


def _decide(event: Any, rollback_alarms: dict[str, str]) -> RollbackRequest | Ignored:
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    if event.get("detail-type") != ALARM_EVENT:
        raise MalformedEvent(f"detail-type {str(event.get('detail-type'))[:80]!r} is not an alarm state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("event has no detail object")
    alarm = fields.text(detail.get("alarmName"), "detail.alarmName", max_length=255)
    state = detail.get("state")
    if not isinstance(state, dict):
        raise MalformedEvent("detail lacks a state object")
    value = fields.text(state.get("value"), "state.value", max_length=32)
    time = fields.timestamp(state.get("timestamp"), "state.timestamp")
    reason = state.get("reason", "")
    reason = fields.text(reason, "state.reason", max_length=100_000) if reason else ""

    if alarm not in rollback_alarms:
        return Ignored(f"alarm {alarm!r} does not trigger rollbacks")
    if value != "ALARM":
        return Ignored(f"alarm {alarm!r} is {value}, not ALARM")
    return RollbackRequest(alarm=alarm, stage=rollback_alarms[alarm], reason=reason[:500], time=time)


def assess(stage_state: dict[str, Any] | None, version: int | None = None) -> Deployed | Skip | Refuse:
    """What the alarmed stage is doing now, from GetPipelineState."""
    latest = (stage_state or {}).get("latestExecution") or {}
    execution_id, status = latest.get("pipelineExecutionId"), latest.get("status")
    if not execution_id:
        return Skip("the stage has not run yet: there is no deployment to roll back")
    if status in ("InProgress", "Stopping"):
        # A deploy, a bake (the stage's on-success condition) or a native
        # rollback is running: CodePipeline decides; RollbackStage would be
        # refused anyway.
        deploying = execution_id if latest.get("type") != "ROLLBACK" and status == "InProgress" else None
        return Skip(f"the stage is {status} (execution {execution_id}): left to CodePipeline", deploying, version)
    if latest.get("type") == "ROLLBACK" and status == "Failed":
        return Refuse(f"rollback execution {execution_id} failed", rollback_failed=True)
    if latest.get("type") == "ROLLBACK":
        return Refuse(
            f"the stage already runs rollback execution {execution_id} and is still unhealthy: "
            "rolling back further needs a person"
        )
    if status != "Succeeded" and not _deploy_stands(stage_state, execution_id):
        # The stage's last execution deployed nothing that stands (its deploy
        # failed, and CloudFormation undid the update; or it never ran): the
        # target still runs the release before it, and "rolling back" to that
        # would redeploy what runs and announce a rollback that changes nothing.
        return Refuse(
            f"the stage's last execution {execution_id} is {status} and its deploy did not succeed: the target "
            "runs the release before it, so a rollback would redeploy what runs. The alarm needs a person"
        )
    return Deployed(execution_id, version)


def _deploy_stands(stage_state: dict[str, Any], execution_id: str) -> bool:
    """Whether the stage's deploy action succeeded in `execution_id` (a test
    or the bake failed after it): the release runs, and is what to roll back.
    Unknown (no action state for it) reads as not standing: a person decides."""
    deploy = stages.DEPLOY_ACTIONS.get(stage_state.get("stageName", ""))
    for action in stage_state.get("actionStates") or ():
        latest = action.get("latestExecution") or {}
        if action.get("actionName") == deploy and latest.get("status") == "Succeeded":
            # actionStates carry no execution ID; the stage's latest is this one.
            return True
    return False


def _succeeded_in(record: dict[str, Any], stage: str) -> bool:
    stages = record.get(records.SUCCEEDED_STAGES)
    if stages:
        return stage in stages
    # Records written before succeededStages existed: a whole-run success.
    return record.get(records.STATUS) == "SUCCEEDED"


def is_rollback_execution(record: dict[str, Any]) -> bool:
    return (
        record.get(records.EXECUTION_TYPE) == ROLLBACK or execution_type(record.get(records.TRIGGER_TYPE)) == ROLLBACK
    )


def _version(record: dict[str, Any]) -> int | None:
    try:
        return int(record[records.PIPELINE_VERSION])
    except (KeyError, TypeError, ValueError):
        return None


def choose_target(
    records_: Iterable[dict[str, Any]],
    stage: str,
    current: str,
    *,
    version: int | None = None,
    now: datetime | None = None,
    artifact_days: int | None = None,
) -> Target | NoTarget:
    """The newest STANDARD execution older than `current` in which `stage`
    succeeded, that was not itself rolled back out of `stage`, that started in
    the pipeline's current structure `version`, and whose artifacts outlive
    the rollback (`artifact_days` after its start, less a margin, from `now`).
    `records_` are the environment's deployment records, newest first (the
    EnvironmentStatusIndex query); they are read only as far as needed, so a
    paginated source stops early. With no valid target, NoTarget says why
    and names the newest good release of any version (the fallback's)."""
    current_start = None
    rolled_back = set()  # deployments already rolled back out of this stage: known bad
    refused: list[str] = []
    last_good = None
    oldest_usable = (now - timedelta(days=artifact_days) + ARTIFACT_MARGIN) if now and artifact_days else None
    for record in records_:
        execution = record.get(records.PIPELINE_EXECUTION_ID)
        if str(record.get(records.KEY, "")).startswith(ROLLBACK_PREFIX):
            # A rollback record is newer than the deployment it undid, so it
            # is read first.
            if record.get(records.STAGE) == stage and record.get(records.STATUS) in ("ROLLBACK_IN_PROGRESS", STARTED):
                rolled_back.add(record.get(records.ROLLED_BACK_EXECUTION_ID))
            continue
        if not execution:
            continue
        if execution == current:
            current_start = record.get(records.START_TIME)
            continue
        if current_start is None:
            continue  # newer than the running deployment: not yet in the stage
        if is_rollback_execution(record):
            continue  # CodePipeline refuses a ROLLBACK-type target
        if execution in rolled_back:
            continue  # it was rolled back out of this stage once already
        if not (str(record.get(records.START_TIME, "")) < str(current_start) and _succeeded_in(record, stage)):
            continue
        last_good = last_good or record
        refusal = _refusal(record, version, oldest_usable, artifact_days)
        if refusal:
            # Every older execution is older still, in version and in age: none can qualify.
            refused.append(refusal)
            break
        return Target(current, execution)
    if current_start is None:
        return NoTarget(f"execution {current} running in {stage} has no deployment record")
    if refused:
        return NoTarget(f"no valid rollback target: {refused[0]}", last_good)
    return NoTarget(f"no earlier execution in which {stage} succeeded is recorded")


def _refusal(record: dict[str, Any], version: int | None, oldest_usable, artifact_days) -> str | None:
    """Why a good execution cannot be a target, or None."""
    execution = record.get(records.PIPELINE_EXECUTION_ID)
    if version is not None and _version(record) != version:
        return (
            f"{execution} ran in pipeline version {_version(record) or 'unknown'}, not the current {version} "
            "(CodePipeline rolls back only within one structure version)"
        )
    if oldest_usable and _start(record) and _start(record) < oldest_usable:
        return f"{execution}'s artifacts expire {artifact_days} days after its start ({record.get('startTime')})"
    return None


def _start(record: dict[str, Any]) -> datetime | None:
    try:
        return records.parse_time(record.get(records.START_TIME))
    except (TypeError, ValueError):
        return None


def last_good(records_: Iterable[dict[str, Any]], stage: str) -> dict[str, Any] | None:
    """The newest STANDARD execution, of any structure version, in which
    `stage` succeeded and that was not rolled back out of it: the release a
    new execution puts back."""
    rolled_back = set()
    for record in records_:
        if str(record.get(records.KEY, "")).startswith(ROLLBACK_PREFIX):
            if record.get(records.STAGE) == stage:
                rolled_back.add(record.get(records.ROLLED_BACK_EXECUTION_ID))
            continue
        execution = record.get(records.PIPELINE_EXECUTION_ID)
        if not execution or is_rollback_execution(record) or execution in rolled_back:
            continue
        if _succeeded_in(record, stage) and record.get(records.STATUS) in ("SUCCEEDED", "FAILED", "IN_PROGRESS"):
            return record
    return None


def fallback_commands(
    pipeline: str,
    environment: str,
    stage: str,
    last_good: dict[str, Any] | None,
    present: Iterable[str] | None = None,
) -> list[str]:
    """When no rollback target is valid: a new release of the last good
    commit, through every stage and gate, is the way back. The commands in
    the order the release meets them: start it; then, each only if that
    control holds it (an incident on its target, or outside the window), the
    audited override of every gate up to the target and of the target's bake
    (during an incident the bake would roll the release back); and the
    production approval where it comes. `present`: the pipeline's stages
    (GetPipelineState), so an environment without an approval or a window is
    not told to pass one; None lists every control."""
    has = (lambda name: True) if present is None else set(present).__contains__
    commit = (last_good or {}).get(records.COMMIT_ID) or "<commit-of-the-last-good-release>"
    short = commit[:12]
    target = next((t for t, s in stages.DEPLOY_STAGES.items() if s == stage), None)
    ops = f"python -m ops override {environment} --stage"
    steps = [
        f"aws codepipeline start-pipeline-execution --name {pipeline} --source-revisions "
        f"actionName={stages.SOURCE_ACTION},revisionType=COMMIT_ID,revisionValue={commit}",
        "# each override below only when that control holds the release (python -m ops health shows it):",
    ]
    for gate_target, gate in stages.INCIDENT_GATE_STAGES.items():
        if gate_target == "production" and has(stages.APPROVAL_STAGE):
            steps.append(f'python -m ops approve {environment} --summary "roll back to {short}"')
        if gate_target == "production" and has(stages.WINDOW_STAGE):
            steps.append(f'{ops} {stages.WINDOW_STAGE} --reason "roll production back to {short} outside the window"')
        steps.append(f'{ops} {gate} --reason "roll {gate_target} back to {short} during the incident"')
        if gate_target == target:
            if stage in BAKED_STAGES:
                steps.append(f'{ops} {stage} --condition on-success --reason "the incident holds the bake of {short}"')
            break
    return steps


# The deploy stages that bake (their on-success condition watches the health alarm).
BAKED_STAGES = tuple(stages.DEPLOY_STAGES[target] for target in stages.BAKE_TARGETS)


def expected_minutes(last_good: dict[str, Any] | None) -> int | None:
    """How long the fallback takes to reach the target: the last good
    release's own run, less its wait for the approval."""
    if not last_good:
        return None
    try:
        ran = records.parse_time(last_good["endTime"]) - records.parse_time(last_good["startTime"])
    except (KeyError, TypeError, ValueError):
        return None
    waited = timedelta(0)
    try:
        waited = records.parse_time(last_good[records.APPROVAL_DECIDED_AT]) - records.parse_time(
            last_good[records.APPROVAL_REQUESTED_AT]
        )
    except (KeyError, TypeError, ValueError):
        pass
    return max(1, int((ran - waited).total_seconds() // 60))


def alarm_precedes(request: RollbackRequest, rollback_record: dict[str, Any] | None) -> bool:
    """Whether this alarm transition happened before the rollback execution
    the stage runs started: a duplicate or late delivery of the alarm that
    rollback answered, not news that it did not help."""
    start = (rollback_record or {}).get("startTime")
    return bool(start) and str(request.time) <= str(start)


def unfinished_claims(records_: Iterable[dict[str, Any]], stage: str) -> list[str]:
    """Keys of this stage's rollback records still at ROLLBACK_STARTED: a
    rollback was claimed and, perhaps, started, but its outcome never written."""
    prefix = f"{ROLLBACK_PREFIX}{stage}#"
    return [
        r[records.KEY]
        for r in records_
        if str(r.get(records.KEY, "")).startswith(prefix) and r.get(records.STATUS) == STARTED
    ]


def manual_command(pipeline: str, stage: str, target: str | None) -> str:
    """The runbook command an operator runs when the automatic rollback could not."""
    if target:
        return (
            f"aws codepipeline rollback-stage --pipeline-name {pipeline} --stage-name {stage} "
            f"--target-pipeline-execution-id {target}"
        )
    return (
        f"aws codepipeline list-pipeline-executions --pipeline-name {pipeline} --max-results 20 "
        f"# pick a Succeeded execution, then: aws codepipeline rollback-stage --pipeline-name {pipeline} "
        f"--stage-name {stage} --target-pipeline-execution-id <execution-id>"
    )


def message(
    subject: str,
    request: RollbackRequest,
    *,
    pipeline: str,
    environment: str,
    table: str,
    log_group: str,
    record_key: str,
    **details: Any,
) -> dict[str, str]:
    """The SNS message for the rollbacks topic: a subject and a readable body."""
    lines = [
        f"{subject} for {pipeline} ({environment})",
        "",
        f"Alarm:  {request.alarm}",
        f"Stage:  {request.stage}",
        f"Time:   {request.time}",
        f"Reason: {request.reason}",
    ]
    lines += [f"{key}: {value}" for key, value in details.items() if value]
    lines += [
        "",
        f"Follow it: aws logs tail {log_group} --since 10m",
        f'Record:    aws dynamodb get-item --table-name {table} --key \'{{"deploymentId":{{"S":"{record_key}"}}}}\'',
    ]
    return {"Subject": f"{subject}: {pipeline} {request.stage}"[:100], "Message": "\n".join(lines)}
