"""Scheduled entry point: is each deploy target answering its health URL?

Every minute (an EventBridge schedule) the probe GETs each target's
`health_check_url`, in parallel, and publishes `HealthCheckStatus` (1 or 0)
and `HealthCheckLatency` per target, in the pipeline's own region. The health
alarms (`kiro-pipeline-{env}-{target}-health`) watch the status, so the bake
conditions and the rollback function work in every region; Route 53 health
checks publish their metrics only in us-east-1.

A round is idempotent: its data carry the minute of its scheduled event, so
a duplicate or late invocation adds one more datum of the same truth to the
same one-minute bucket, and the alarms read the Minimum. An endpoint that
does not answer, answers too slowly or hangs in a name lookup is a 0, never
an error: the round has a deadline from the invocation's remaining time and
always publishes. Only a failure to publish is raised; then no round datum
exists, and the probe-silent alarm (which every bake watches) fails closed.

Environment: TARGETS (JSON: target to https URL), ENVIRONMENT,
METRICS_NAMESPACE, TIMEOUT_SECONDS. Read at the first invocation.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

from functions.health_probe import logic
from functions.health_probe.aws import Metrics, fetch
from functions.health_probe.targets import read as read_targets
from functions.shared import retry, settings
from functions.shared.log import Logger

log = Logger("health-probe")
RETRY_PAUSE_SECONDS = 2.0
# Kept back from the probes for the publish and its retries (shared.retry
# keeps its own reserve inside this).
PUBLISH_RESERVE_MS = 25_000


@functools.lru_cache(maxsize=1)
def config() -> dict:
    return settings.read(settings.spec(settings.HEALTH_PROBE, TARGETS=read_targets))


@functools.lru_cache(maxsize=1)
def metrics() -> Metrics:
    return Metrics(config()["METRICS_NAMESPACE"])


def probe(
    target: str,
    url: str,
    timeout: float,
    get: Callable[[str, float], logic.Attempt] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> logic.Result:
    """Up to two attempts: the second only after a failed first. Never raises:
    a fault in one target's probe is that target's 0, not the round's loss."""
    get, sleep = get or fetch, sleep or time.sleep
    attempts: list[logic.Attempt] = []
    try:
        attempts.append(get(url, timeout))
        if not attempts[0].healthy:
            sleep(RETRY_PAUSE_SECONDS)
            attempts.append(get(url, timeout))
    except Exception as error:  # noqa: BLE001 - any fault is an unhealthy answer, logged with its type
        attempts.append(logic.Attempt(None, 0.0, f"probe fault: {type(error).__name__}: {error}"[:200]))
    return logic.Result(target, tuple(attempts))


def probe_all(
    targets: dict[str, str],
    timeout: float,
    deadline_s: float,
    get: Callable[[str, float], logic.Attempt] | None = None,
) -> list[logic.Result]:
    """Every target in parallel, within `deadline_s`: a target still unanswered
    then (a name lookup that hangs, say) counts as unhealthy, so the round
    always publishes in time."""
    pool = ThreadPoolExecutor(max_workers=len(targets))
    futures = {pool.submit(probe, target, url, timeout, get): target for target, url in targets.items()}
    done, _ = wait(futures, timeout=max(0.0, deadline_s))
    pool.shutdown(wait=False, cancel_futures=True)
    late = logic.Attempt(None, deadline_s * 1000, f"no answer within the round's {deadline_s:.0f} s")
    return [f.result() if f in done else logic.Result(target, (late,)) for f, target in futures.items()]


def handler(event, context=None, now: datetime | None = None) -> dict:
    settings_ = config()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    budget = retry.Budget.of(context)
    minute = logic.round_minute(event, now or datetime.now(UTC))
    # The probes get what the invocation has left, less a reserve to publish.
    deadline_s = (budget.remaining_ms() - PUBLISH_RESERVE_MS) / 1000
    results = probe_all(settings_["TARGETS"], settings_["TIMEOUT_SECONDS"], deadline_s)
    for result in results:  # logged first, so a failed publish still leaves them
        (log.info if result.healthy else log.warning)("probed", minute=minute.isoformat(), **logic.summary(result))
    metrics().publish(logic.metric_data(settings_["ENVIRONMENT"], results, minute), budget)
    unhealthy = sorted(r.target for r in results if not r.healthy)
    return {"result": "published", "unhealthy": unhealthy, "targets": len(results)}
