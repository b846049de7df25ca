"""Lambda entry point: records CodePipeline execution and stage events.

Environment: TABLE_NAME, PIPELINE_NAME, ENVIRONMENT, METRICS_NAMESPACE,
RECORD_TTL_DAYS. Malformed or foreign events are logged and acknowledged
(returning normally), so EventBridge does not retry them; AWS errors raise,
so EventBridge retries and then the dead-letter queue keeps the event.
"""

from __future__ import annotations

from deployment_recorder import logic
from deployment_recorder.aws import AWS_ERRORS, Recorder
from shared import settings
from shared.log import Logger

log = Logger("deployment-recorder")
SETTINGS = settings.read(
    {
        "TABLE_NAME": str,
        "PIPELINE_NAME": str,
        "ENVIRONMENT": str,
        "METRICS_NAMESPACE": str,
        "RECORD_TTL_DAYS": settings.positive_int,
    }
)
_recorder: Recorder | None = None


def recorder() -> Recorder:
    global _recorder
    if _recorder is None:
        _recorder = Recorder(SETTINGS["TABLE_NAME"], SETTINGS["METRICS_NAMESPACE"], SETTINGS["ENVIRONMENT"])
    return _recorder


def handler(event, context=None) -> dict:
    log.bind(requestId=getattr(context, "aws_request_id", None), eventId=event.get("id") if isinstance(event, dict) else None)
    try:
        parsed = logic.parse(event)
    except logic.MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}

    decision = logic.plan(
        parsed,
        pipeline=SETTINGS["PIPELINE_NAME"],
        environment=SETTINGS["ENVIRONMENT"],
        ttl_days=SETTINGS["RECORD_TTL_DAYS"],
    )
    if isinstance(decision, logic.Ignored):
        log.info("ignored event", reason=decision.reason)
        return {"result": "ignored", "reason": decision.reason}

    log.add(deploymentId=decision.deployment_id, state=parsed.state, stage=parsed.stage)
    aws = recorder()
    applied = []
    for update in decision.updates:
        record = aws.apply(update)
        if record is None:
            log.info("update skipped: the record already holds newer data", update=update.purpose)
            continue
        applied.append(update.purpose)
        if update.purpose == "status" and decision.final:
            aws.publish(logic.outcome_metrics(decision.status))
        if update.purpose in ("status", "start") and "endTime" in record:
            # The duration is known once both STARTED and the final state are in,
            # whichever arrived last; exactly one of the two updates sees that.
            seconds = logic.duration_seconds(record)
            if seconds is not None and (update.purpose == "start" or decision.final):
                aws.publish({"DeploymentDuration": seconds}, unit="Seconds")
        if update.purpose == "start":
            try:
                commit = aws.set_commit(decision.deployment_id, parsed.pipeline)
                log.info("recorded commit", commitId=commit)
            except AWS_ERRORS as error:
                # The record stands without it; the commit is informational.
                log.warning("could not look up the commit", error=str(error))
    log.info("recorded event", applied=applied, status=decision.status)
    return {"result": "recorded" if applied else "duplicate", "applied": applied}
