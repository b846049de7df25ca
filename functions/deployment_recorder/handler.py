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
    log.bind(
        requestId=getattr(context, "aws_request_id", None), eventId=event.get("id") if isinstance(event, dict) else None
    )
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
    record = None
    for update in decision.updates:
        result = aws.apply(update)
        if result is None:
            log.info("update skipped: the record already holds newer data", update=update.purpose)
            continue
        record = result
        applied.append(update.purpose)
        if update.purpose == "start":
            _record_commit(aws, decision.deployment_id, parsed.pipeline)
    if decision.check_metrics:
        # Decided from the record, so a retry after a lost publication still
        # publishes, and a duplicate never publishes twice.
        token = event.get("id") if isinstance(event.get("id"), str) else getattr(context, "aws_request_id", "local")
        _publish_pending(aws, decision.deployment_id, record if applied else aws.get(decision.deployment_id), token)
    log.info("recorded event", applied=applied, status=decision.status)
    return {"result": "recorded" if applied else "duplicate", "applied": applied}


def _record_commit(aws: Recorder, deployment_id: str, pipeline: str) -> None:
    try:
        commit = aws.set_commit(deployment_id, pipeline)
        log.info("recorded commit", commitId=commit)
    except AWS_ERRORS as error:
        # The record stands without it; the commit is informational.
        log.warning("could not look up the commit", error=str(error))


def _publish_pending(aws: Recorder, deployment_id: str, record: dict | None, token: str) -> None:
    """Claim, publish, mark published. The claim is keyed by this event's ID,
    which every retry of the event keeps: a retry after a failed publication
    (or a lost claim response) publishes; any other delivery does not. The one
    case left is a PutMetricData that succeeds and then times out: its retry
    publishes again (CloudWatch has no idempotent PutMetricData)."""
    metrics = logic.pending_metrics(record)
    if metrics is None:
        return
    status, updated_at = metrics.key.split("@", 1)
    if not aws.claim_metrics(deployment_id, metrics.key, token, status, updated_at):
        return
    aws.publish(metrics.counts, metrics.duration)  # an error raises: the event is retried
    aws.mark_published(deployment_id, metrics.key, token)
    log.info("published outcome metrics", metrics=metrics.counts, duration=metrics.duration)
