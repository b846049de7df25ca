"""What a CodePipeline state-change event means for the deployment record.

Pure functions, no boto3. EventBridge delivers these events at least once and
in no guaranteed order, so every change is a conditional update that only
moves a record forward:

- the execution status follows the newest event by time (rank breaks a tie
  within the same second), so a late or duplicate STARTED never overwrites
  SUCCEEDED, while a retried execution (FAILED, RESUMED, SUCCEEDED) ends with
  its real final state and end time;
- `startTime` is the STARTED event's time whenever that event arrives, and
  until then the earliest time seen, so the record is in the index at once;
  `expiresAt` counts from the start;
- each stage that succeeds is added to `succeededStages` (a set, so order and
  duplicates do not matter): the rollback function picks its target by it;
- rollback executions (trigger ManualRollback or AutomatedRollback) are
  recorded with `executionType` ROLLBACK and counted as rollbacks, never as
  deployment successes or failures;
- outcome metrics are published once per final state an execution reaches,
  decided from the record (`metricsFor`, `metricsPublished`), not from which
  delivery won a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.shared import fields, records, stages
from functions.shared.contract import metrics as published
from functions.shared.executions import ROLLBACK, execution_type
from functions.shared.outcomes import Ignored, MalformedEvent  # noqa: F401  (part of this module's interface)
from functions.shared.records import Metrics, Update, expires_at  # noqa: F401  (Update: part of this module's interface)

EXECUTION_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"

# Record status for each CodePipeline execution state, and its rank.
STATUS = {
    "STARTED": ("IN_PROGRESS", 1),
    "RESUMED": ("IN_PROGRESS", 1),
    "STOPPING": ("STOPPING", 2),
    "SUCCEEDED": ("SUCCEEDED", 3),
    "FAILED": ("FAILED", 3),
    "CANCELED": ("CANCELED", 3),
    "STOPPED": ("STOPPED", 3),
    "SUPERSEDED": ("SUPERSEDED", 3),
}
FINAL_STATUSES = frozenset(status for status, rank in STATUS.values() if rank == 3)
FINAL_RANK = 3
STAGE_STATES = {"STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "STOPPED", "STOPPING"}
STAGE_STARTS = {"STARTED", "RESUMED"}
STAGE_ENDS = {"SUCCEEDED", "FAILED", "CANCELED", "STOPPED"}
# Longest values accepted from an event: CodePipeline's own limits are 100
# (pipeline, stage names) and 36 (execution IDs); trigger types are short.
MAX_NAME, MAX_TRIGGER = 100, 64


@dataclass(frozen=True)
class Plan:
    """The updates for one event, in order."""

    deployment_id: str
    status: str | None
    updates: tuple[Update, ...]
    # Whether the record may now hold metrics to publish (a final state, or
    # the start that completes a duration).
    check_metrics: bool = False
    # Whether to read the execution's actions (commit and author time,
    # approval, failed action): once it is final, they have all reported.
    look_up_actions: bool = False


@dataclass(frozen=True)
class Event:
    kind: str  # "execution" or "stage"
    pipeline: str
    execution_id: str
    state: str
    time: str  # ISO-8601 UTC, second precision, "Z"
    stage: str | None = None
    trigger_type: str | None = None
    # The pipeline's structure version the execution runs in (`detail.version`).
    version: int | None = None

    @property
    def execution_type(self) -> str:
        return execution_type(self.trigger_type)


def parse(event: Any) -> Event:
    """The fields this function uses, or MalformedEvent naming what is wrong.
    Any shape is either parsed or rejected: nothing else is raised."""
    try:
        return _parse(event)
    except MalformedEvent:
        raise
    except (TypeError, ValueError, OverflowError, UnicodeError, AttributeError, KeyError) as error:
        raise MalformedEvent(f"event could not be read: {type(error).__name__}") from None


def _parse(event: Any) -> Event:
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    detail_type = event.get("detail-type")
    if detail_type not in (EXECUTION_EVENT, STAGE_EVENT):
        raise MalformedEvent(f"detail-type {str(detail_type)[:80]!r} is not a pipeline or stage state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("event has no detail object")
    pipeline = fields.text(detail.get("pipeline"), "detail.pipeline", max_length=MAX_NAME)
    execution_id = fields.text(detail.get("execution-id"), "detail.execution-id", max_length=MAX_NAME)
    state = fields.text(detail.get("state"), "detail.state", max_length=MAX_NAME)
    stage = None
    if detail_type == STAGE_EVENT:
        stage = fields.text(detail.get("stage"), "detail.stage", max_length=MAX_NAME)
    known = STATUS if detail_type == EXECUTION_EVENT else STAGE_STATES
    if state not in known:
        raise MalformedEvent(f"unknown state {state!r}")
    trigger = detail.get("execution-trigger")
    trigger_type = None
    if trigger is not None:
        if not isinstance(trigger, dict):
            raise MalformedEvent("detail.execution-trigger is not an object")
        trigger_type = fields.text(trigger.get("trigger-type"), "trigger-type", max_length=MAX_TRIGGER, required=False)
    return Event(
        version=_version(detail.get("version")),
        kind="execution" if detail_type == EXECUTION_EVENT else "stage",
        pipeline=pipeline,
        execution_id=execution_id,
        state=state,
        time=fields.timestamp(event.get("time")),
        stage=stage,
        trigger_type=trigger_type,
    )


def _version(value: Any) -> int | None:
    """The structure version: a positive whole number (events carry it as a
    number); anything else is left out rather than guessed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    if isinstance(value, int) and 0 < value < 10**9:
        return value
    if isinstance(value, float) and value.is_integer() and 0 < value < 10**9:
        return int(value)
    return None


def plan(event: Event, *, pipeline: str, environment: str, ttl_days: int) -> Plan | Ignored:
    """The conditional updates that record `event`."""
    if event.pipeline != pipeline:
        return Ignored(f"event is for pipeline {event.pipeline!r}, not {pipeline!r}")

    deployment_id = event.execution_id
    common = {"environment": environment, "pipelineName": pipeline, "pipelineExecutionId": event.execution_id}
    absent = {
        records.START_TIME: event.time,
        records.EXPIRES: expires_at(event.time, ttl_days),
        stages.LAYOUT_ATTRIBUTE: stages.LAYOUT,
    }
    if event.version is not None:
        # An execution runs in the structure version it started in: the
        # first event to carry it wins. Rollback targets must share it.
        absent[records.PIPELINE_VERSION] = event.version

    if event.kind == "stage":
        return _stage_plan(event, deployment_id, common, absent)
    return _execution_plan(event, deployment_id, common, absent, ttl_days)


def _stage_plan(event: Event, deployment_id: str, common: dict, absent: dict) -> Plan:
    """A stage's state, newest first by time; its successes as a set."""
    updates = [
        Update(
            deployment_id,
            set_values={
                **common,
                records.STAGE: event.stage,
                records.STAGE_STATUS: event.state,
                records.STAGE_UPDATED_AT: event.time,
            },
            set_if_absent=absent,
            condition="attribute_not_exists(stageUpdatedAt) OR stageUpdatedAt <= :time",
            condition_values={":time": event.time},
            purpose="stage",
        )
    ]
    # Sets: idempotent, and independent of the order events arrive in. Each
    # stage's starts and ends as `Stage@time` (a retried stage keeps every
    # attempt; readers take its first start and last end), and its successes.
    sets = {}
    if event.state in STAGE_STARTS:
        sets[records.STAGE_STARTS] = (f"{event.stage}@{event.time}",)
    elif event.state in STAGE_ENDS:
        sets[records.STAGE_ENDS] = (f"{event.stage}@{event.time}",)
    if event.state == "SUCCEEDED":
        sets[records.SUCCEEDED_STAGES] = (event.stage,)
    if sets:
        updates.append(
            Update(
                deployment_id,
                set_values=common,
                set_if_absent=absent,
                condition=None,
                add_to_sets=sets,
                purpose="stage-succeeded" if event.state == "SUCCEEDED" else "stage-time",
            )
        )
    return Plan(deployment_id, None, tuple(updates))


def _execution_plan(event: Event, deployment_id: str, common: dict, absent: dict, ttl_days: int) -> Plan:
    """The execution's status (newest by time wins; within one second, the
    higher rank), its trigger, and its start."""
    status, rank = STATUS[event.state]
    values = {**common, records.STATUS: status, records.STATUS_RANK: rank, records.UPDATED_AT: event.time}
    # An execution's trigger never changes: the first event to carry it wins.
    trigger = {"triggerType": event.trigger_type, "executionType": event.execution_type} if event.trigger_type else {}
    final = rank == FINAL_RANK
    if final:
        values["endTime"] = event.time
    updates = [
        Update(
            deployment_id,
            set_values=values,
            set_if_absent={**absent, **trigger},
            # Newer by time wins; within one second, the higher rank.
            condition="attribute_not_exists(updatedAt) OR updatedAt < :time "
            "OR (updatedAt = :time AND statusRank < :rank)",
            condition_values={":time": event.time, ":rank": rank},
            # A retried execution is running again: its old end is void.
            remove=() if final else ("endTime",),
            purpose="status",
        )
    ]
    started = event.state == "STARTED"
    if started:
        # Whenever STARTED arrives, even after the final state, it fixes the
        # start, and the record's expiry counts from it.
        updates.append(
            Update(
                deployment_id,
                set_values={
                    records.START_TIME: event.time,
                    records.STARTED_AT: event.time,
                    records.EXPIRES: expires_at(event.time, ttl_days),
                },
                # The type decides how the outcome is counted, even when the
                # final state arrived first.
                set_if_absent={**common, **trigger},
                condition="attribute_not_exists(startedAt)",
                purpose="start",
            )
        )
    return Plan(deployment_id, status, tuple(updates), check_metrics=final or started, look_up_actions=final)


def final_state(record: dict[str, Any] | None) -> str | None:
    """`status@updatedAt` of a final record: which outcome its facts describe."""
    if not record or record.get(records.STATUS) not in FINAL_STATUSES:
        return None
    return f"{record['status']}@{record.get(records.UPDATED_AT)}"


def needs_actions(plan: Plan, record: dict[str, Any] | None) -> bool:
    """Read the actions once per final state the execution reaches: a
    duplicate finds them read (`actionsReadFor`); a retried execution that
    ends again is read again, so its approval and failed action are its last."""
    state = final_state(record)
    return plan.look_up_actions and state is not None and record.get(records.ACTIONS_READ_FOR) != state


def facts_update(deployment_id: str, facts: dict[str, str], read_for: str, record: dict[str, Any]) -> Update:
    """The facts of one final state: the commit's are kept once (the source
    never changes); the approval, the failed action and the outcome are this
    state's, and a failed action that no longer failed is removed."""
    commit = {k: v for k, v in facts.items() if k in (records.COMMIT_ID, records.COMMIT_AUTHOR_TIME)}
    latest = {k: v for k, v in facts.items() if k not in commit}
    ended = {k: v for k, v in record.items() if k not in (records.FAILED_ACTION, records.APPROVED_BY)}
    outcome = stages.classify({**ended, **facts}, actions_read=True)
    if outcome:
        latest[records.OUTCOME] = outcome
    return Update(
        deployment_id,
        set_values={**latest, records.ACTIONS_READ_FOR: read_for},
        condition=None,
        set_if_absent=commit,
        remove=() if records.FAILED_ACTION in facts else (records.FAILED_ACTION,),
        purpose="facts",
    )


def action_facts(action_details: list[dict[str, Any]]) -> dict[str, str]:
    """What the ledger keeps from ListActionExecutions' details, once an
    execution is final: the Source action's CommitId and AuthorDate output
    variables (lead time starts at the author time); the manual approval's
    request, decision, decider and result; and the action that failed. Only
    fields that are present and readable; an unreadable date is left out."""
    found: dict[str, str] = {}
    for detail in action_details:
        category = ((detail.get("input") or {}).get("actionTypeId") or {}).get("category")
        status = detail.get("status")
        if category == "Source" and status == "Succeeded":
            found.update(_source_facts((detail.get("output") or {}).get("outputVariables") or {}))
        elif category == "Approval":
            found.update(_approval_facts(detail))
        if status == "Failed" and detail.get("stageName") and detail.get("actionName"):
            found.setdefault(records.FAILED_ACTION, f"{detail['stageName']}/{detail['actionName']}"[:200])
    return found


def _source_facts(variables: dict[str, Any]) -> dict[str, str]:
    facts = {}
    if isinstance(variables.get("CommitId"), str) and variables["CommitId"]:
        facts[records.COMMIT_ID] = variables["CommitId"][:64]
    try:
        facts[records.COMMIT_AUTHOR_TIME] = records.format_time(datetime.fromisoformat(variables["AuthorDate"]))
    except (KeyError, TypeError, ValueError):
        pass
    return facts


def _approval_facts(detail: dict[str, Any]) -> dict[str, str]:
    """The approval's request, its end, its result and who answered. A
    time-out is told from a rejection by how long the approval waited
    (shared/stages.py), not by who is named: AWS does not document what
    `updatedBy` holds for a time-out, so only an IAM ARN names a person."""
    facts = {}
    if isinstance(detail.get("startTime"), datetime):
        facts[records.APPROVAL_REQUESTED_AT] = records.format_time(detail["startTime"])
    decided = {"Succeeded": "APPROVED", "Failed": "REJECTED", "Abandoned": "ABANDONED"}.get(detail.get("status"))
    if decided:
        facts[records.APPROVAL_RESULT] = decided
        if isinstance(detail.get("lastUpdateTime"), datetime):
            facts[records.APPROVAL_DECIDED_AT] = records.format_time(detail["lastUpdateTime"])
        updated_by = detail.get("updatedBy")
        if isinstance(updated_by, str) and updated_by.startswith("arn:"):
            facts[records.APPROVED_BY] = updated_by[:256]
    return facts


def duration_seconds(record: dict[str, Any]) -> int | None:
    """Seconds from STARTED to the final state, once both are known."""
    start, end = record.get(records.STARTED_AT), record.get(records.END_TIME)
    if not start or not end:
        return None
    elapsed = datetime.strptime(end, fields.TIME_FORMAT) - datetime.strptime(start, fields.TIME_FORMAT)
    return max(0, int(elapsed.total_seconds()))


def pending_metrics(record: dict[str, Any] | None) -> Metrics | None:
    """The metrics a record still owes, or None.

    Once per final state the execution reached (`status@updatedAt`): a
    duplicate or retried delivery finds `metricsPublished` already set, or
    loses the claim (`metricsFor`) to the delivery that holds it. A final
    record whose STARTED has not arrived yet waits for it, so the duration is
    part of the same single publication.
    """
    if not record or record.get(records.STATUS) not in FINAL_STATUSES:
        return None
    key = f"{record['status']}@{record.get(records.UPDATED_AT)}"
    if record.get(records.METRICS_PUBLISHED) == key or not record.get(records.STARTED_AT):
        return None
    if record.get(records.EXECUTION_TYPE) == ROLLBACK:
        if record.get(records.METRICS_PUBLISHED):
            # One rollback, counted once: a retried rollback execution that
            # ends again (FAILED, then SUCCEEDED) is still one rollback.
            return None
        counts = {published.ROLLBACK_COUNT.name: 1}
    else:
        counts = outcome_metrics(record.get(records.OUTCOME) or stages.classify(record))
    return Metrics(key, counts, duration_seconds(record) if record.get(records.EXECUTION_TYPE) != ROLLBACK else None)


# The count each outcome publishes: the contract's (contract/metrics.py),
# re-exported for the monitoring stack's outcome alarms.
OUTCOME_METRICS = published.OUTCOME_METRICS


def outcome_metrics(outcome: str | None) -> dict[str, int]:
    """Counts for an execution's outcome; stopped or superseded runs count as nothing."""
    metric = OUTCOME_METRICS.get(outcome or "")
    return {metric: 1} if metric else {}


def metrics_token(event: dict[str, Any], request_id: str) -> str:
    """Who may publish a record's pending metrics: the EventBridge event's ID,
    the same on every redelivery of that event (so a retry after a lost
    publication is recognised), else the invocation's request ID."""
    event_id = event.get("id")
    return event_id if isinstance(event_id, str) and event_id else request_id
