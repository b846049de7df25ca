"""Lambda entry point: rolls a stage back when its health alarm enters ALARM.

Environment: TABLE_NAME, TABLE_INDEX, PIPELINE_ARN, TOPIC_ARN, ENVIRONMENT,
RECORD_TTL_DAYS, ROLLBACK_ALARMS (JSON: alarm -> stage),
ARTIFACT_EXPIRATION_DAYS (the artifacts bucket's lifecycle).

The flow, each step decided in `logic`:
1. The alarm event is parsed; any malformed shape is rejected and
   acknowledged, never raised.
2. GetPipelineState says what the stage runs now. A stage in progress (a
   deploy, a bake, a native rollback) is left to CodePipeline: recorded, not
   paged. A stage already running a rollback that is still unhealthy pages.
3. The record `rollback#{stage}#{execution}` is claimed: one rollback per bad
   deployment, however often the alarm fires. A claim found at
   ROLLBACK_STARTED (a lost acknowledgement, or an attempt that died) is
   resumed, not dropped.
4. The target is the newest older STANDARD execution in which the stage
   succeeded, started in the pipeline's current structure version, whose
   artifacts are not about to expire (paginated index query). Without one
   (the pipeline was updated since, or the last good release is too old),
   the page gives the fallback: a new execution of the last good commit,
   the overrides it needs during an incident, and the approval.
5. RollbackStage, retried on transient errors within the time budget; a
   timeout after sending is resolved by re-reading the stage, not by guessing.
6. The record ends in ROLLBACK_IN_PROGRESS or ROLLBACK_FAILED (with the
   manual command), and the rollbacks topic is told. If the record cannot be
   written even after retries, the handler raises: the retry finds the claim
   at ROLLBACK_STARTED and finishes it.

No reserved concurrency by default (topology/functions.py): two invocations
may run at once, and the claim (a conditional write of the rollback record)
lets only one of them roll a stage back for an execution.
RollbackCount is counted by the deployment recorder from the rollback
execution itself, so native and manual rollbacks count too, and none twice.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from functions.rollback import logic
from functions.rollback.aws import AWS_ERRORS, Rollbacks, error_code, error_text, parse_alarm_map
from functions.shared import changes, records, retry, settings
from functions.shared.contract.stages import DEPLOY_STAGES
from functions.shared.log import Logger

log = Logger("rollback")
SPEC = settings.spec(settings.ROLLBACK, ROLLBACK_ALARMS=parse_alarm_map)
# RollbackStage's answers for a target of an older structure version (the
# CodePipeline API reference lists both for RollbackStage).
OUTDATED_TARGET = frozenset({"UnableToRollbackStageException", "PipelineExecutionOutdatedException"})


def now() -> datetime:
    """The time a target's artifact age is judged at (tests replace it)."""
    return datetime.now(UTC)


# What changed since the last good release (functions/shared/changes.py): its
# first lines ride on every page, best effort. Computed when the page is sent,
# so after RollbackStage, in a thread given SUMMARY_SECONDS: a slow or failed
# summary never delays the rollback, and delays the page by at most that.
SUMMARY_SECONDS = 2.0
# How far back the summary reads the ledger (a last good release older than
# this is "not found" here; `ops changes` reads everything).
SUMMARY_LOOKBACK = timedelta(days=90)


def what_changed(stage: str) -> str:
    """The first lines of `python -m ops changes` for the target `stage`
    deploys, and the command; or why not, and the command."""
    environment = config()["ENVIRONMENT"]
    target = next((name for name, deploys in DEPLOY_STAGES.items() if deploys == stage), None)
    if target is None:
        return f"not computed ({stage} deploys no target); run: python -m ops changes {environment}"
    command = f"python -m ops changes {environment} --target {target}"
    found: list[str] = []
    failed: list[str] = []

    def summarize() -> None:
        try:
            since = records.format_time(now() - SUMMARY_LOOKBACK)
            items = list(aws().store.recent(environment, since=since))
            view = changes.build(items, [], environment=environment, repository="", target=target)
            found.extend(changes.first_lines(view, changes.PAGE_LINES))
        except Exception as error:  # noqa: BLE001 - best effort: any failure is one line on the page
            failed.append(f"{type(error).__name__}: {error}"[:300])

    worker = threading.Thread(target=summarize, name="what-changed", daemon=True)
    worker.start()
    worker.join(SUMMARY_SECONDS)
    if found:
        return "\n  " + "\n  ".join(found)
    why = failed[0] if failed else f"not done within {SUMMARY_SECONDS:g} s"
    log.warning("no summary of what changed on the page", reason=why)
    return f"not available ({why}); run: {command}"


@functools.lru_cache(maxsize=1)
def config() -> dict:
    """The settings, read and validated at the first invocation (not at import)."""
    return settings.read(SPEC)


def pipeline_name() -> str:
    return config()["PIPELINE_ARN"].split(":")[5]


def _log_group() -> str:
    return f"/aws/lambda/{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', pipeline_name() + '-rollback')}"


def cold_start() -> None:
    """Forget the settings and clients, as a new execution environment would."""
    global _aws
    config.cache_clear()
    _aws = None


_aws: Rollbacks | None = None
# Tests replace it to count and skip the waits.
sleep = time.sleep


def aws() -> Rollbacks:
    global _aws
    if _aws is None:
        _aws = Rollbacks(
            table=config()["TABLE_NAME"],
            index=config()["TABLE_INDEX"],
            pipeline=pipeline_name(),
            topic_arn=config()["TOPIC_ARN"],
            environment=config()["ENVIRONMENT"],
        )
    return _aws


class Invocation:
    """One alarm event's handling: the request, its budget and its record."""

    def __init__(self, request: logic.RollbackRequest, context):
        self.request = request
        self.budget = retry.Budget.of(context)
        self.key = request.alarm_key
        # Who settles a record: one per invocation, even for the same event.
        self.token = uuid.uuid4().hex

    def settle(self, **values) -> bool:
        """ROLLBACK_STARTED -> ROLLBACK_IN_PROGRESS, by exactly one invocation:
        the one that may announce it."""
        return self.call(
            lambda: aws().settle(self.key, logic.STARTED, self.token, status="ROLLBACK_IN_PROGRESS", **values)
        )

    def call(self, operation, idempotent: bool = True):
        return retry.call(
            operation,
            self.budget,
            sleep=sleep,
            idempotent=idempotent,
            on_retry=lambda error, attempt: log.warning(
                "retrying a transient AWS error", error=error_text(error), attempt=attempt
            ),
        )

    def record(self, **values) -> None:
        self.call(lambda: aws().update(self.key, **values))

    def notify(self, subject: str, **details) -> bool:
        """Publish to the rollbacks topic; a failure is logged, never fatal.
        Every page carries what changed since the last good release (after
        any RollbackStage: a page is sent only after it), first, so the
        page's own details (its `Do:` commands) stay last."""
        details = {"What changed": what_changed(self.request.stage), **details}
        try:
            self.call(
                lambda: aws().notify(
                    logic.message(
                        subject,
                        self.request,
                        pipeline=pipeline_name(),
                        environment=config()["ENVIRONMENT"],
                        table=config()["TABLE_NAME"],
                        record_key=self.key,
                        log_group=_log_group(),
                        **details,
                    )
                )
            )
            return True
        except (*AWS_ERRORS, retry.Ambiguous) as error:
            log.error("could not publish to the rollbacks topic; the record is kept", error=error_text(error))
            return False

    def claim(self, **extra):
        request = self.request
        return self.call(
            lambda: aws().claim(
                self.key,
                {
                    records.ENVIRONMENT: config()["ENVIRONMENT"],
                    records.START_TIME: request.time,
                    records.STATUS: logic.STARTED,
                    records.STAGE: request.stage,
                    records.ALARM_NAME: request.alarm,
                    records.REASON: request.reason,
                    records.PIPELINE_NAME: pipeline_name(),
                    records.EXPIRES: records.expires_at(request.time, config()["RECORD_TTL_DAYS"]),
                    **extra,
                },
            )
        )

    def fail(self, reason: str, target: str | None, **record) -> dict:
        command = logic.manual_command(pipeline_name(), self.request.stage, target)
        self.record(
            **{records.STATUS: "ROLLBACK_FAILED", records.FAILURE_REASON: reason, records.MANUAL_COMMAND: command},
            **record,
        )
        log.error("automatic rollback not possible; manual rollback needed", reason=reason, command=command)
        self.notify("Manual rollback needed", Problem=reason, Command=command)
        return {"result": "failed", "reason": reason, "command": command}

    def fall_back(self, reason: str, last_good: dict | None, **record) -> dict:
        """No execution can be rolled back to: page at once with the way
        back that works, a new release of the last good commit."""
        steps = logic.fallback_commands(
            pipeline_name(), config()["ENVIRONMENT"], self.request.stage, last_good, aws().stage_names
        )
        minutes = logic.expected_minutes(last_good)
        command = "\n".join(steps)
        self.record(
            **{
                records.STATUS: "ROLLBACK_FAILED",
                records.FAILURE_REASON: reason,
                records.MANUAL_COMMAND: command,
                records.FALLBACK_COMMIT: (last_good or {}).get(records.COMMIT_ID) or "unknown",
            },
            **record,
        )
        log.error("no valid rollback target; a new release of the last good commit is the way back", reason=reason)
        self.notify(
            "Rollback impossible: release the last good commit",
            Problem=reason,
            **{
                "Last good": (last_good or {}).get("pipelineExecutionId") or "none recorded",
                "Expected time to production": f"about {minutes} minutes" if minutes else "unknown",
                "Do": "\n  " + "\n  ".join(steps),
            },
        )
        return {"result": "fallback", "reason": reason, "commands": steps}


def handler(event, context=None) -> dict:
    log.bind(
        requestId=getattr(context, "aws_request_id", None),
        eventId=event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None,
    )
    try:
        decision = logic.decide(event, config()["ROLLBACK_ALARMS"])
    except logic.MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}
    if isinstance(decision, logic.Ignored):
        log.info("ignored alarm event", reason=decision.reason)
        return {"result": "ignored", "reason": decision.reason}

    run = Invocation(decision, context)
    log.add(alarm=decision.alarm, stage=decision.stage)
    try:
        state, version = run.call(lambda: aws().state(decision.stage))
    except (*AWS_ERRORS, retry.Ambiguous) as error:
        if isinstance(error, retry.Ambiguous) or retry.is_transient(error):
            # Nothing is claimed yet: the event is retried (then kept by the
            # dead-letter queue, whose alarm pages).
            raise
        # AccessDenied, PipelineNotFound, a validation error: no retry helps.
        reason = f"GetPipelineState on {pipeline_name()} failed: {error_text(error)}"
        return _without_rollback(run, logic.Refuse(reason))
    now_ = logic.assess(state, version)
    if isinstance(now_, (logic.Skip, logic.Refuse)):
        finished = _finish_unfinished(run, state)
        if finished:
            return finished
        if isinstance(now_, logic.Refuse) and _answered_already(run, state):
            return {"result": "duplicate", "reason": "the rollback the stage runs answered this alarm"}
        if isinstance(now_, logic.Refuse) and now_.rollback_failed:
            return _after_a_failed_rollback(run, now_)
        if isinstance(now_, logic.Skip) and now_.deploying:
            stranded = _no_target_for_codepipeline(run, now_)
            if stranded:
                return stranded
        return _without_rollback(run, now_)

    run.key = now_.key(decision.stage)
    log.add(record=run.key, execution=now_.execution_id)
    existing = run.claim(**{records.ROLLED_BACK_EXECUTION_ID: now_.execution_id})
    if existing is not None:
        if existing.get(records.STATUS) != logic.STARTED:
            log.info("this deployment is already handled", status=existing.get(records.STATUS))
            return {"result": "duplicate", "status": existing.get(records.STATUS)}
        log.warning("resuming a rollback whose record was claimed but not finished")
        # Its first attempt may have started the rollback already (or be
        # starting it now, a parallel delivery): then only settle the record.
        latest = (run.call(lambda: aws().stage_state(decision.stage)) or {}).get("latestExecution") or {}
        if latest.get("type") == "ROLLBACK" and latest.get("status") in ("InProgress", "Succeeded"):
            if run.settle(**{records.ROLLBACK_EXECUTION_ID: latest["pipelineExecutionId"]}):
                run.notify("Rollback Initiated", **{"Rollback execution": latest["pipelineExecutionId"]})
                return {"result": "resumed", records.ROLLBACK_EXECUTION_ID: latest["pipelineExecutionId"]}
            return {"result": "duplicate", records.ROLLBACK_EXECUTION_ID: latest["pipelineExecutionId"]}
    return _roll_back(run, now_.execution_id, now_.version)


def _no_target_for_codepipeline(run: Invocation, skip: logic.Skip) -> dict | None:
    """The stage is deploying or baking: CodePipeline's own rollback (its
    on-failure or on-success result) will act, but only to an execution of
    the current structure version whose artifacts still exist. If none
    exists, it will not roll back: page the way back now, once per alarm
    transition, rather than after the stage has failed."""
    try:
        target = logic.choose_target(
            history(run),
            run.request.stage,
            skip.deploying,
            version=skip.version,
            now=now(),
            artifact_days=config()["ARTIFACT_EXPIRATION_DAYS"],
        )
    except (*AWS_ERRORS, retry.Ambiguous):
        return None  # unknown: leave it to CodePipeline, as before
    if not isinstance(target, logic.NoTarget) or target.last_good is None:
        return None
    existing = run.claim(**{records.ROLLED_BACK_EXECUTION_ID: skip.deploying})
    if existing is not None and existing.get(records.STATUS) != logic.STARTED:
        return {"result": "duplicate"}
    reason = f"CodePipeline's own rollback of {skip.deploying} will find no target: {target.reason}"
    return run.fall_back(reason, target.last_good, **{records.ROLLED_BACK_EXECUTION_ID: skip.deploying})


def _after_a_failed_rollback(run: Invocation, refusal: logic.Refuse) -> dict:
    """CodePipeline's rollback failed: rolling back again would fail the same
    way. Page the way back (a new release of the last good commit), once per
    alarm transition."""
    existing = run.claim()
    if existing is not None and existing.get(records.STATUS) != logic.STARTED:
        return {"result": "duplicate"}
    try:
        good = logic.last_good(itertools.islice(history(run), 200), run.request.stage)
    except (*AWS_ERRORS, retry.Ambiguous):
        good = None
    if good is None:
        return run.fail(refusal.reason + "; no earlier good release is recorded", None)
    return run.fall_back(refusal.reason, good)


def _answered_already(run: Invocation, state: dict | None) -> bool:
    """A rollback execution runs (or ran) in the stage, and this alarm
    transition happened before it started: a duplicate or late delivery of
    the alarm it answered. Not "still unhealthy": record nothing, page nobody."""
    latest = (state or {}).get("latestExecution") or {}
    if latest.get("type") != "ROLLBACK":
        return False
    rollback = latest.get("pipelineExecutionId")
    try:
        found = next(
            (r for r in itertools.islice(history(run), 100) if r.get(records.PIPELINE_EXECUTION_ID) == rollback), None
        )
    except (*AWS_ERRORS, retry.Ambiguous):
        return False  # unknown: page rather than stay silent
    answered = logic.alarm_precedes(run.request, found)
    if answered:
        log.info("alarm transition precedes the rollback execution that answered it", rollbackExecutionId=rollback)
    return answered


def _finish_unfinished(run: Invocation, state: dict | None) -> dict | None:
    """An earlier attempt started the rollback and died before writing it
    down: the stage now runs a rollback. Finish that record; do not page."""
    stage = run.request.stage
    latest = (state or {}).get("latestExecution") or {}
    if latest.get("type") != "ROLLBACK":
        return None
    keys = logic.unfinished_claims(itertools.islice(history(run), 50), stage)
    settled = []
    for key in keys:
        run.key = key
        # Settled once: the attempt that started it may still be alive and
        # settle it itself (parallel deliveries); whoever settles announces.
        if run.settle(**{records.ROLLBACK_EXECUTION_ID: latest["pipelineExecutionId"]}):
            log.info("finished the record of a rollback an earlier attempt started", record=key)
            run.notify("Rollback Initiated", **{"Rollback execution": latest["pipelineExecutionId"]})
            settled.append(key)
    if not keys:
        return None
    # Only the invocation that settled a record resumed (and announced) it;
    # one that lost the race to the attempt still alive is a duplicate.
    if settled:
        return {"result": "resumed", "records": settled}
    return {"result": "duplicate", "records": keys, "notified": False}


def _record_of(run: Invocation, execution: str) -> dict | None:
    try:
        return next(
            (r for r in itertools.islice(history(run), 200) if r.get(records.PIPELINE_EXECUTION_ID) == execution), None
        )
    except (*AWS_ERRORS, retry.Ambiguous):
        return None


def history(run: Invocation):
    """The deployment records, newest first, each page read with retries."""
    return aws().deployments(fetch=lambda request: run.call(lambda: aws().page(request)))


def _without_rollback(run: Invocation, outcome) -> dict:
    """Record a skip or a refusal once per alarm transition. A claim of this
    transition still at ROLLBACK_STARTED is our own (a lost acknowledgement, or
    an attempt that died before writing the outcome): finish it."""
    existing = run.claim()
    if existing is not None and existing.get(records.STATUS) != logic.STARTED:
        return {"result": "duplicate"}
    if isinstance(outcome, logic.Skip):
        run.record(**{records.STATUS: "SKIPPED_STAGE_IN_PROGRESS", records.SKIP_REASON: outcome.reason})
        log.info("not rolling back", reason=outcome.reason)
        return {"result": "skipped", "reason": outcome.reason}
    return run.fail(outcome.reason, None)


def _roll_back(run: Invocation, current: str, version: int | None = None) -> dict:
    stage = run.request.stage
    try:
        target = logic.choose_target(
            history(run),
            stage,
            current,
            version=version,
            now=now(),
            artifact_days=config()["ARTIFACT_EXPIRATION_DAYS"],
        )
    except (*AWS_ERRORS, retry.Ambiguous) as error:
        return run.fail(f"could not read the deployment history: {error_text(error)}", None)
    if isinstance(target, logic.NoTarget):
        if target.last_good is not None:
            return run.fall_back(target.reason, target.last_good, **{records.ROLLED_BACK_EXECUTION_ID: current})
        return run.fail(target.reason, None)
    details = {records.ROLLED_BACK_EXECUTION_ID: current, records.TARGET_EXECUTION_ID: target.target_execution}
    try:
        # Not idempotent: after a timeout, re-read instead of calling again.
        rollback_execution = run.call(lambda: aws().roll_back(stage, target.target_execution), idempotent=False)
    except (retry.Ambiguous, *AWS_ERRORS) as error:
        # Applied after all (a lost response), or refused because a rollback
        # is already running (a conflict that outlived the retries): the
        # stage says which.
        latest = (run.call(lambda: aws().stage_state(stage)) or {}).get("latestExecution") or {}
        if latest.get("type") != "ROLLBACK" or latest.get("status") not in ("InProgress", "Succeeded"):
            if error_code(error) in OUTDATED_TARGET:
                # The target is of an older structure version after all (the
                # pipeline changed between our read and the call).
                last_good = _record_of(run, target.target_execution)
                return run.fall_back(f"RollbackStage refused: {error_text(error)}", last_good, **details)
            why = "timed out" if isinstance(error, retry.Ambiguous) else f"was refused: {error_text(error)}"
            return run.fail(f"RollbackStage {why}, and no rollback is running", target.target_execution, **details)
        rollback_execution = latest["pipelineExecutionId"]
        log.info(
            "RollbackStage did not answer cleanly, but the stage runs the rollback",
            error=error_text(error),
            rollbackExecutionId=rollback_execution,
        )

    settled = run.settle(**{records.ROLLBACK_EXECUTION_ID: rollback_execution}, **details)
    log.info("rollback initiated", rollbackExecutionId=rollback_execution, **details)
    if not settled:
        # Another delivery saw the rollback running and settled the record
        # first, and announced it: complete the details, do not page twice.
        run.record(**details)
        return {"result": "duplicate", records.ROLLBACK_EXECUTION_ID: rollback_execution, "notified": False}
    notified = run.notify(
        "Rollback Initiated",
        **{
            "Rolled back execution": current,
            "Rolling back to": target.target_execution,
            "Rollback execution": rollback_execution,
        },
    )
    return {"result": "rolled-back", records.ROLLBACK_EXECUTION_ID: rollback_execution, "notified": notified}
