"""What one health probe round means: pure functions, no boto3, no network.

The probe checks each deploy target's `health_check_url` the way a Route 53
HTTPS health check does: a 2xx or 3xx answer within the timeout is healthy
(redirects are not followed), anything else, including no answer, is not.
One failed attempt is retried once in the same round, so a single dropped
connection does not count as a failure; the health alarm then needs two
failed rounds in a row (two one-minute periods) before it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.shared.contract import metrics as published

HEALTHY_STATUS = range(200, 400)
# EventBridge's `time` on a scheduled event. Of shared/ this module imports
# only the contract (standard library only; the TARGETS rule, which reads
# shared/urls.py, is in targets.py).
EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Attempt:
    status: int | None  # the HTTP status, or None when nothing answered
    latency_ms: float
    error: str | None = None  # why nothing answered (a timeout, a refused connection)

    @property
    def healthy(self) -> bool:
        return self.status in HEALTHY_STATUS


@dataclass(frozen=True)
class Result:
    target: str
    attempts: tuple[Attempt, ...]

    @property
    def healthy(self) -> bool:
        return any(a.healthy for a in self.attempts)

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


def round_minute(event: Any, now: datetime) -> datetime:
    """The minute a round stands for: its scheduled event's `time`, floored to
    the minute (so a late or repeated round lands in its own one-minute bucket,
    never in the next one), or the current minute for any other invocation."""
    raw = event.get("time") if isinstance(event, dict) else None
    try:
        when = datetime.strptime(raw, EVENT_TIME_FORMAT).replace(tzinfo=UTC) if isinstance(raw, str) else now
    except ValueError:
        when = now
    # A scheduled event older than a few minutes is no measure of now.
    if abs((now - when).total_seconds()) > 300:
        when = now
    return when.replace(second=0, microsecond=0)


def metric_data(environment: str, results: list[Result], minute: datetime) -> list[dict[str, Any]]:
    """One status datum (1 healthy, 0 not) per target, the latency of the
    healthy answer, and one round datum; the health alarms watch the status'
    Minimum, the probe-silent alarm the rounds' Sum."""
    # One datum per round, whatever the targets say: the probe-silent alarm
    # watches it, so a probe that stops (errors, throttles, a disabled
    # schedule) is seen, and a bake fails closed.
    data = [published.HEALTH_PROBE_ROUNDS.datum(1.0, environment, at=minute)]
    for result in sorted(results, key=lambda r: r.target):
        status = 1.0 if result.healthy else 0.0
        data.append(published.HEALTH_CHECK_STATUS.datum(status, environment, result.target, at=minute))
        answered = [a for a in result.attempts if a.healthy]
        if answered:
            latency = round(answered[0].latency_ms, 1)
            data.append(published.HEALTH_CHECK_LATENCY.datum(latency, environment, result.target, at=minute))
    return data


def summary(result: Result) -> dict[str, Any]:
    """A result as log fields (the URL is configuration, not a secret)."""
    return {
        "target": result.target,
        "healthy": result.healthy,
        "attempts": [
            {"status": a.status, "latencyMs": round(a.latency_ms, 1), "error": a.error} for a in result.attempts
        ],
    }
