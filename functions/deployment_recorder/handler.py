"""Lambda entry point: records CodePipeline execution and stage events.

Environment: TABLE_NAME, PIPELINE_NAME, ENVIRONMENT, METRICS_NAMESPACE,
RECORD_TTL_DAYS, read at the first invocation. Malformed or foreign events are logged and acknowledged
(returning normally), so EventBridge does not retry them; AWS errors raise,
so EventBridge retries and then the dead-letter queue keeps the event.
"""

from __future__ import annotations

import functools

from functions.deployment_recorder import logic
from functions.deployment_recorder.aws import AWS_ERRORS, Recorder
from functions.shared import settings
from functions.shared.log import Logger

log = Logger("deployment-recorder")
SPEC = settings.DEPLOYMENT_RECORDER


@functools.lru_cache(maxsize=1)
def config() -> dict:
    """The settings, read and validated at the first invocation (not at import)."""
    return settings.read(SPEC)


_recorder: Recorder | None = None


def cold_start() -> None:
    """Forget the settings and clients, as a new execution environment would."""
    global _recorder
    config.cache_clear()
    _recorder = None


def recorder() -> Recorder:
    global _recorder
    if _recorder is None:
        _recorder = Recorder(config()["TABLE_NAME"], config()["METRICS_NAMESPACE"], config()["ENVIRONMENT"])
    return _recorder


def handler(event, context=None) -> dict:
    config()  # a misconfigured function fails on every invocation, before any event is read
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
        pipeline=config()["PIPELINE_NAME"],
        environment=config()["ENVIRONMENT"],
        ttl_days=config()["RECORD_TTL_DAYS"],
    )
    if isinstance(decision, logic.Ignored):
        log.info("ignored event", reason=decision.reason)
        return {"result": "ignored", "reason": decision.reason}

    log.add(deploymentId=decision.deployment_id, state=parsed.state, stage=parsed.stage)
    aws = recorder()
    applied = []
    record = None
    facts_read = False
    for update in decision.updates:
        result = aws.apply(update)
        if result is None:
            log.info("update skipped: the record already holds newer data", update=update.purpose)
            continue
        record = result
        applied.append(update.purpose)
        if update.purpose == "start":
            _record_commit(aws, decision.deployment_id, parsed.pipeline)
    if decision.look_up_actions:
        current = record if applied else aws.get(decision.deployment_id)
        if logic.needs_actions(decision, current):
            _record_facts(aws, decision.deployment_id, parsed.pipeline, logic.final_state(current), current)
            facts_read = True
    if decision.check_metrics:
        # Decided from the record, so a retry after a lost publication still
        # publishes, and a duplicate never publishes twice.
        token = logic.metrics_token(event, getattr(context, "aws_request_id", "local"))
        # Re-read once the facts were written: the outcome decides the metric.
        fresh = record if applied and not facts_read else aws.get(decision.deployment_id)
        _publish_pending(aws, decision.deployment_id, fresh, token)
    log.info("recorded event", applied=applied, status=decision.status)
    return {"result": "recorded" if applied else "duplicate", "applied": applied}


def _record_commit(aws: Recorder, deployment_id: str, pipeline: str) -> None:
    try:
        commit = aws.set_commit(deployment_id, pipeline)
        log.info("recorded commit", commitId=commit)
    except AWS_ERRORS as error:
        # The record stands without it; the commit is informational.
        log.warning("could not look up the commit", error=str(error))


def _record_facts(aws: Recorder, deployment_id: str, pipeline: str, read_for: str, record: dict) -> None:
    try:
        values = logic.action_facts(aws.action_details(deployment_id, pipeline))
        aws.keep_facts(logic.facts_update(deployment_id, values, read_for, record))
        log.info("recorded the execution's facts", readFor=read_for, **values)
    except AWS_ERRORS as error:
        # The record stands without it; lead time skips this deployment.
        log.warning("could not look up the execution's actions", error=str(error))


def _publish_pending(aws: Recorder, deployment_id: str, record: dict | None, token: str) -> None:
    """Publish what the record owes, once (the store's claim protocol)."""
    metrics = logic.pending_metrics(record)
    if metrics is not None and aws.publish(deployment_id, metrics, token):
        log.info("published outcome metrics", metrics=metrics.counts, duration=metrics.duration)
