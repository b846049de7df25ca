"""Scheduled entry point: is each deploy target answering its health URL?

Every minute (an EventBridge schedule) the probe GETs each target's
`health_check_url`, in parallel, and publishes `HealthCheckStatus` (1 or 0)
and `HealthCheckLatency` per target, in the pipeline's own region. The health
alarms (`kiro-pipeline-{env}-{target}-health`) watch the status, so the bake
conditions and the rollback function work in every region; Route 53 health
checks publish their metrics only in us-east-1.

A round is idempotent: a duplicate or late invocation publishes one more
datum of the same truth, and the alarms read the Minimum. An endpoint that
does not answer is a 0, never an error; only a failure to publish is raised
(so Lambda retries, then the dead-letter queue keeps the event, and the
probe-errors alarm tells on-call the health signal is missing).

Environment: TARGETS (JSON: target to https URL), ENVIRONMENT,
METRICS_NAMESPACE, TIMEOUT_SECONDS. Read at the first invocation.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from health_probe import logic
from health_probe.aws import Metrics, fetch
from shared import retry, settings
from shared.log import Logger

log = Logger("health-probe")
RETRY_PAUSE_SECONDS = 2.0


@functools.lru_cache(maxsize=1)
def config() -> dict:
    return settings.read({"TARGETS": logic.targets, "ENVIRONMENT": str, "METRICS_NAMESPACE": str,
                          "TIMEOUT_SECONDS": settings.positive_int})


@functools.lru_cache(maxsize=1)
def metrics() -> Metrics:
    return Metrics(config()["METRICS_NAMESPACE"])


def probe(target: str, url: str, timeout: float, get: Callable[[str, float], logic.Attempt] | None = None,
          sleep: Callable[[float], None] | None = None) -> logic.Result:
    """Up to two attempts: the second only after a failed first."""
    get, sleep = get or fetch, sleep or time.sleep
    first = get(url, timeout)
    if first.healthy:
        return logic.Result(target, (first,))
    sleep(RETRY_PAUSE_SECONDS)
    return logic.Result(target, (first, get(url, timeout)))


def handler(event, context=None) -> dict:
    settings_ = config()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    targets = settings_["TARGETS"]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = [pool.submit(probe, target, url, settings_["TIMEOUT_SECONDS"]) for target, url in targets.items()]
        results = [f.result() for f in futures]
    metrics().publish(logic.metric_data(settings_["ENVIRONMENT"], results), retry.Budget.of(context))
    for result in results:
        (log.info if result.healthy else log.warning)("probed", **logic.summary(result))
    unhealthy = sorted(r.target for r in results if not r.healthy)
    return {"result": "published", "unhealthy": unhealthy, "targets": len(results)}
