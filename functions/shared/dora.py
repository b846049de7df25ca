"""The DORA metrics of one environment's pipeline, from its deployment records.

Pure: no boto3. `ops dora` reads the records and calls `measure`; the same
function can serve a scheduled publisher. Each metric comes with its DORA
performance band and the number of deployments (or failures) it rests on, so
a figure from two deployments is not read as a trend.

What counts (docs/delivery-controls.md says the same, with the limits):
- a **deployment** is a STANDARD execution that passed the production deploy
  stage (ProductionDeploy; ProductionEnv in records written before it had a
  stage of its own): it changed what the production target runs;
- a **failed deployment** is a STANDARD execution that failed while
  deploying production (its deploy, tests or bake), or a deployment rolled
  back out of production afterwards (the rollback function's record names
  it). A rejection, an approval time-out, a gate that held a release, a
  build or a test-environment failure deployed nothing to production and is
  not a change failure (shared/stages.py classifies each end);
- **recovery** from a failure is the next successful deployment or
  successful rollback execution after it; from an incident, the incident's
  end. An incident that ended because its alarm went to INSUFFICIENT_DATA
  is counted as recovered then, and flagged: the recovery time's detail
  counts such recoveries (`endedUnknown`), whose real end is unknown;
- **rework** is a deployment or rollback that recovers from a failure: work
  done again because a change failed (DORA's 2024 rework rate);
- **lead time** runs from the head commit's author time (CodeConnections'
  AuthorDate) to the deployment's end. It is the author time, not the merge
  time: a commit written long before it was merged looks slow.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import records, stages
from .contract import metrics as published

PRODUCTION_TARGET = "production"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# A recovery can start before the window: readers read this much further back.
LOOKBACK_MARGIN = timedelta(days=30)
# How an incident ended (incident_recorder/handler.py writes it): the
# state its health alarm left ALARM for. OK is a known recovery; after
# INSUFFICIENT_DATA the alarm stopped seeing data, so the incident is over as
# far as the ledger can tell but whether the target recovered then is
# unknown. Records written before the attribute existed ended on OK.
END_REASON = records.END_REASON
ENDED_OK, ENDED_UNKNOWN = "OK", "INSUFFICIENT_DATA"

# The bands. Frequency, lead time and recovery follow the DORA report's
# wording (on demand / daily / weekly / monthly; under an hour / a day / a
# week). The report's change-failure clusters are not monotonic (2024: elite
# 5 %, high 20 %, medium 10 %, low 40 %), so these thresholds are ours: 5, 10
# and 20 %. Rework rate has no published bands.
FREQUENCY_BANDS = ((1.0, "elite"), (1 / 7, "high"), (1 / 30, "medium"))  # deployments per day, at least
LEAD_TIME_BANDS = ((DAY, "elite"), (7 * DAY, "high"), (30 * DAY, "medium"))  # median, under
FAILURE_RATE_BANDS = ((0.05, "elite"), (0.10, "high"), (0.20, "medium"))  # rate, at most
RECOVERY_BANDS = ((HOUR, "elite"), (DAY, "high"), (7 * DAY, "medium"))  # median, under


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None  # None when there is nothing to measure
    unit: str
    band: str  # elite, high, medium, low, or "n/a"
    rests_on: int  # deployments (or failures) behind the figure
    detail: dict[str, float] | None = None  # median and p90, where the metric has them


def _time(text: Any) -> datetime | None:
    try:
        return records.parse_time(text)
    except (TypeError, ValueError):
        return None


def _standard(record: dict) -> bool:
    return record.get("executionType", "STANDARD") != "ROLLBACK" and records.is_deployment(record[records.KEY])


def deployments(items: list[dict]) -> list[dict]:
    """Successful deployments, oldest first."""
    done = [r for r in items if _standard(r) and stages.deployed_production(r) and _time(r.get("endTime"))]
    return sorted(done, key=lambda r: r["endTime"])


@dataclass(frozen=True)
class Failure:
    execution: str
    at: datetime
    # When an incident marked it: the alarm's return to OK (None while open).
    # Otherwise None, and recovery is the next restore.
    recovered: datetime | None = None
    by_incident: bool = False
    # The incident that decides `recovered` ended on INSUFFICIENT_DATA: a
    # recovery is counted there, but whether the target was healthy is unknown.
    end_unknown: bool = False


def incidents(items: list[dict]) -> list[tuple[datetime, datetime | None]]:
    """(start, end) of the production target's incidents, oldest first."""
    return [(start, end) for start, end, _ in _incident_windows(items)]


def _incident_windows(items: list[dict]) -> list[tuple[datetime, datetime | None, bool]]:
    """(start, end, whether that end is unknown) of the production target's
    incidents, oldest first. An end is unknown when the alarm left ALARM for
    INSUFFICIENT_DATA; an open incident has no end, known or not."""
    found = [
        (
            _time(r.get(records.INDEX_SORT)),
            _time(r.get("endTime")),
            r.get(END_REASON) == ENDED_UNKNOWN and _time(r.get("endTime")) is not None,
        )
        for r in items
        if r[records.KEY].startswith(records.INCIDENT_PREFIX) and r.get("target") == PRODUCTION_TARGET
    ]
    # By start, then end (an open one last): never compares None with a time.
    windows = [(start, end, unknown) for start, end, unknown in found if start]
    return sorted(windows, key=lambda w: (w[0], w[1] is None, w[1] or w[0]))


def failures(items: list[dict]) -> list[Failure]:
    """Oldest first: failed deploy stages, deployments rolled back afterwards,
    and deployments an incident followed (the newest STANDARD execution that
    had reached production before the incident started, recovered when the
    alarm left ALARM)."""
    found: dict[str, Failure] = {}
    for r in items:
        if _standard(r) and stages.is_change_failure(r) and _time(r.get("endTime")):
            found[r[records.KEY]] = Failure(r[records.KEY], _time(r["endTime"]))
    production_stages = (stages.PRODUCTION_DEPLOY_STAGE, stages.LEGACY_PRODUCTION_DEPLOY_STAGE)
    for r in items:
        rolled_back = r.get(records.ROLLED_BACK_EXECUTION_ID)
        when = _time(r.get(records.INDEX_SORT))
        rolled_out_of_production = r.get("stage") in production_stages
        if r[records.KEY].startswith(records.ROLLBACK_PREFIX) and rolled_back and when and rolled_out_of_production:
            if rolled_back not in found or when < found[rolled_back].at:
                found[rolled_back] = Failure(rolled_back, when)
    reached = sorted(
        ((when, r[records.KEY]) for r in items if _standard(r) for when in [_reached_production(r)] if when),
    )
    for start, end, end_unknown in _incident_windows(items):
        before = [execution for when, execution in reached if when <= start]
        if not before:
            continue
        execution = before[-1]
        earlier = found.get(execution)
        if earlier and earlier.by_incident:
            # Overlapping incidents after the same change: one failure, which
            # recovers when the last of them ends (never while one is open);
            # that last end says whether the recovery is known.
            recovered, unknown = _last_end((earlier.recovered, earlier.end_unknown), (end, end_unknown))
            found[execution] = Failure(
                execution, min(earlier.at, start), recovered, by_incident=True, end_unknown=unknown
            )
        else:
            # The incident is what was seen: its window decides the recovery.
            at = min(start, earlier.at) if earlier else start
            found[execution] = Failure(execution, at, end, by_incident=True, end_unknown=end_unknown)
    return sorted(found.values(), key=lambda f: f.at)


def _last_end(one: tuple[datetime | None, bool], other: tuple[datetime | None, bool]) -> tuple[datetime | None, bool]:
    """The later of two incident ends (None, still open, wins), with whether
    it is unknown; at the same moment, a known end makes it known."""
    (first, first_unknown), (second, second_unknown) = one, other
    if first is None or second is None:
        return None, False
    if first == second:
        return first, first_unknown and second_unknown
    return max(one, other, key=lambda end: end[0])


def _reached_production(record: dict) -> datetime | None:
    """When an execution first touched production: its first start of the
    production deploy stage (recorded as `ProductionDeploy@time`), else its
    end if it passed that stage. None if it never got there."""
    deploy = stages.production_deploy_stage(record)
    starts = [
        _time(entry.split("@", 1)[1])
        for entry in record.get(records.STAGE_STARTS) or ()
        if isinstance(entry, str) and entry.startswith(f"{deploy}@")
    ]
    starts = [t for t in starts if t]
    if starts:
        return min(starts)
    if stages.deployed_production(record):
        return _time(record.get("endTime"))
    return None


def recoveries(items: list[dict]) -> list[datetime]:
    """When service was restored: successful deployments and successful rollback executions."""
    restored = [_time(r["endTime"]) for r in deployments(items)]
    restored += [
        _time(r.get("endTime"))
        for r in items
        if r.get("executionType") == "ROLLBACK" and r.get("status") == "SUCCEEDED" and _time(r.get("endTime"))
    ]
    return sorted(restored)


def _band(value: float | timedelta, bands, lower_is_better: bool) -> str:
    for threshold, band in bands:
        if (value < threshold) if lower_is_better else (value >= threshold):
            return band
    return "low"


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that happened, never an interpolation
    (the median, by contrast, averages the two middle values of an even count)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(items: list[dict], start: datetime, end: datetime) -> list[Metric]:
    """The five metrics over [start, end), from the environment's records
    (which may reach further back: a recovery can start before the window)."""
    window = [r for r in items if _in(r, start, end)]
    deployed = deployments(window)
    failed = [f for f in failures(items) if start <= f.at < end]
    days = max((end - start) / DAY, 1e-9)
    rate = len(deployed) / days
    metrics = [
        Metric(
            published.DEPLOYMENT_FREQUENCY.name,
            round(rate, 4),
            "per day",
            _band(rate, FREQUENCY_BANDS, False),
            len(deployed),
        )
    ]

    leads = [
        (_time(r["endTime"]) - _time(r[records.COMMIT_AUTHOR_TIME])).total_seconds()
        for r in deployed
        if _time(r.get(records.COMMIT_AUTHOR_TIME))
    ]
    metrics.append(_timed(published.LEAD_TIME_FOR_CHANGES.name, leads, LEAD_TIME_BANDS))

    attempts = len(deployed) + sum(1 for f in failed if f.execution not in {r[records.KEY] for r in deployed})
    failure_rate = len(failed) / attempts if attempts else None
    band = (
        "n/a"
        if failure_rate is None
        else next((b for at_most, b in FAILURE_RATE_BANDS if failure_rate <= at_most), "low")
    )
    metrics.append(Metric(published.CHANGE_FAILURE_RATE.name, _round(failure_rate), "ratio", band, attempts))

    restored = recoveries(items)
    recovery_seconds, rework, ended_unknown = _recovered(failed, restored, deployed, items)
    metrics.append(
        _timed(
            published.FAILED_DEPLOYMENT_RECOVERY_TIME.name,
            recovery_seconds,
            RECOVERY_BANDS,
            rests_on=len(failed),
            extra={"endedUnknown": ended_unknown},
        )
    )

    changes = len(deployed) + sum(
        1 for t in restored if start <= t < end and t not in {_time(r["endTime"]) for r in deployed}
    )
    rework_in_window = sum(1 for t in rework if start <= t < end)
    metrics.append(
        Metric(
            published.DEPLOYMENT_REWORK_RATE.name,
            _round(rework_in_window / changes if changes else None),
            "ratio",
            "n/a",
            changes,
        )
    )
    return metrics


def _recovered(failed, restored, deployed, items) -> tuple[list[float], set, int]:
    """Each failure's recovery in seconds, the rework (recoveries, and
    deployments made during an incident: hotfixes), and how many recoveries
    an incident's INSUFFICIENT_DATA end marked: counted in the figure, and
    flagged beside it, since the target's health then is unknown."""
    recovery_seconds, rework, ended_unknown = [], set(), 0
    for failure in failed:
        if failure.by_incident:
            after = failure.recovered
            ended_unknown += bool(after and failure.end_unknown)
        else:
            after = next((t for t in restored if t > failure.at), None)
            rework.add(after)
        if after:
            recovery_seconds.append((after - failure.at).total_seconds())
    for incident_start, incident_end in incidents(items):
        for r in deployed:
            began = _time(r.get(records.INDEX_SORT))
            if began and incident_start <= began and (incident_end is None or began < incident_end):
                rework.add(_time(r["endTime"]))
    rework.discard(None)
    return recovery_seconds, rework, ended_unknown


def _in(record: dict, start: datetime, end: datetime) -> bool:
    when = _time(record.get("endTime")) or _time(record.get(records.INDEX_SORT))
    return when is not None and start <= when < end


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _timed(
    name: str, seconds: list[float], bands, rests_on: int | None = None, extra: dict[str, float] | None = None
) -> Metric:
    """A median-and-p90 metric; `extra` joins median and p90 in its detail."""
    if not seconds:
        return Metric(name, None, "seconds", "n/a", rests_on if rests_on is not None else 0)
    median = statistics.median(seconds)
    p90 = _percentile(seconds, 0.9)
    band = _band(timedelta(seconds=median), bands, True)
    return Metric(
        name,
        median,
        "seconds",
        band,
        rests_on if rests_on is not None else len(seconds),
        {"median": median, "p90": p90, **(extra or {})},
    )
