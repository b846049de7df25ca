"""The DORA metrics of one environment's pipeline, from its deployment records.

Pure: no boto3. `ops dora` reads the records and calls `measure`; the same
function can serve a scheduled publisher. Each metric comes with its DORA
performance band and the number of deployments (or failures) it rests on, so
a figure from two deployments is not read as a trend.

Each figure is computed from its evidence (`explain`): the records it
counted, each with the rule that counted it (dora_rules.py: a deployment, a
change failure and its causes, a recovery, rework), its base for a ratio,
and the records it left out and why. docs/delivery-controls.md gives each
metric's definition and limits. Lead time runs from the head commit's author
time (CodeConnections' AuthorDate), not its merge time; an incident whose
alarm went to INSUFFICIENT_DATA counts as recovered then, flagged
(`endedUnknown`); shared/stages.py classifies how each execution ended.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import dora_rules as why
from . import records, stages
from .contract import metrics as published
from .dora_rules import Entry, Evidence

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
    return record.get(records.EXECUTION_TYPE, "STANDARD") != "ROLLBACK" and records.is_deployment(record[records.KEY])


def deployments(items: list[dict]) -> list[dict]:
    """Successful deployments, oldest first."""
    done = [r for r in items if _standard(r) and stages.deployed_production(r) and _time(r.get(records.END_TIME))]
    return sorted(done, key=lambda r: r[records.END_TIME])


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
    # What made it a failure, first cause first: (rule, the record that shows it).
    causes: tuple[tuple[str, str], ...] = ()


def incidents(items: list[dict]) -> list[tuple[datetime, datetime | None]]:
    """(start, end) of the production target's incidents, oldest first."""
    return [(start, end) for start, end, _, _ in _incident_windows(items)]


def _incident_windows(items: list[dict]) -> list[tuple[datetime, datetime | None, bool, str]]:
    """(start, end, whether that end is unknown, record id) of the production
    target's incidents, oldest first. An end is unknown when the alarm left
    ALARM for INSUFFICIENT_DATA; an open incident has no end, known or not."""
    found = [
        (
            _time(r.get(records.INDEX_SORT)),
            _time(r.get(records.END_TIME)),
            r.get(END_REASON) == ENDED_UNKNOWN and _time(r.get(records.END_TIME)) is not None,
            r[records.KEY],
        )
        for r in items
        if r[records.KEY].startswith(records.INCIDENT_PREFIX) and r.get(records.TARGET) == PRODUCTION_TARGET
    ]
    # By start, then end (an open one last): never compares None with a time.
    windows = [window for window in found if window[0]]
    return sorted(windows, key=lambda w: (w[0], w[1] is None, w[1] or w[0], w[3]))


def failures(items: list[dict]) -> list[Failure]:
    """Oldest first: failed deploy stages, deployments rolled back afterwards,
    and deployments an incident followed (the newest STANDARD execution that
    had reached production before the incident started, recovered when the
    alarm left ALARM)."""
    found: dict[str, Failure] = {}
    for r in items:
        if _standard(r) and stages.is_change_failure(r) and _time(r.get(records.END_TIME)):
            cause = (why.FAILED_IN_PRODUCTION, r[records.KEY])
            found[r[records.KEY]] = Failure(r[records.KEY], _time(r[records.END_TIME]), causes=(cause,))
    production_stages = (stages.PRODUCTION_DEPLOY_STAGE, stages.LEGACY_PRODUCTION_DEPLOY_STAGE)
    for r in items:
        rolled_back = r.get(records.ROLLED_BACK_EXECUTION_ID)
        when = _time(r.get(records.INDEX_SORT))
        rolled_out_of_production = r.get(records.STAGE) in production_stages
        if r[records.KEY].startswith(records.ROLLBACK_PREFIX) and rolled_back and when and rolled_out_of_production:
            if rolled_back not in found or when < found[rolled_back].at:
                earlier = found[rolled_back].causes if rolled_back in found else ()
                found[rolled_back] = Failure(rolled_back, when, causes=((why.ROLLED_BACK, r[records.KEY]), *earlier))
    reached = sorted(
        ((when, r[records.KEY]) for r in items if _standard(r) for when in [_reached_production(r)] if when),
    )
    for start, end, end_unknown, incident in _incident_windows(items):
        before = [execution for when, execution in reached if when <= start]
        if not before:
            continue
        execution = before[-1]
        earlier = found.get(execution)
        causes = (*(earlier.causes if earlier else ()), (why.INCIDENT, incident))
        if earlier and earlier.by_incident:
            # Overlapping incidents after the same change: one failure, which
            # recovers when the last of them ends (never while one is open);
            # that last end says whether the recovery is known.
            recovered, unknown = _last_end((earlier.recovered, earlier.end_unknown), (end, end_unknown))
            found[execution] = Failure(
                execution, min(earlier.at, start), recovered, by_incident=True, end_unknown=unknown, causes=causes
            )
        else:
            # The incident is what was seen: its window decides the recovery.
            at = min(start, earlier.at) if earlier else start
            found[execution] = Failure(execution, at, end, by_incident=True, end_unknown=end_unknown, causes=causes)
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
        return _time(record.get(records.END_TIME))
    return None


def recoveries(items: list[dict]) -> list[datetime]:
    """When service was restored: successful deployments and successful rollback executions."""
    return [when for when, _, _ in _restores(items)]


def _restores(items: list[dict]) -> list[tuple[datetime, str, str]]:
    """(when, execution, rule) of each restore: a successful deployment or a
    successful rollback execution, oldest first."""
    restored = [(_time(r[records.END_TIME]), r[records.KEY], why.DEPLOYED) for r in deployments(items)]
    restored += [
        (_time(r.get(records.END_TIME)), r[records.KEY], why.ROLLBACK_EXECUTION)
        for r in items
        if r.get(records.EXECUTION_TYPE) == "ROLLBACK"
        and r.get(records.STATUS) == "SUCCEEDED"
        and _time(r.get(records.END_TIME))
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
    (which may reach further back: a recovery can start before the window).
    Each figure is computed from its evidence (`explain`), so what
    `ops dora --explain` lists is exactly what was counted."""
    evidence = explain(items, start, end)
    days = max((end - start) / DAY, 1e-9)
    frequency = evidence[published.DEPLOYMENT_FREQUENCY.name]
    rate = len(frequency.counted) / days
    metrics = [
        Metric(
            published.DEPLOYMENT_FREQUENCY.name,
            round(rate, 4),
            "per day",
            _band(rate, FREQUENCY_BANDS, False),
            len(frequency.counted),
        )
    ]
    leads = [entry.seconds for entry in evidence[published.LEAD_TIME_FOR_CHANGES.name].counted]
    metrics.append(_timed(published.LEAD_TIME_FOR_CHANGES.name, leads, LEAD_TIME_BANDS))

    failing = evidence[published.CHANGE_FAILURE_RATE.name]
    attempts = len(failing.basis)
    failure_rate = len(failing.counted) / attempts if attempts else None
    band = (
        "n/a"
        if failure_rate is None
        else next((b for at_most, b in FAILURE_RATE_BANDS if failure_rate <= at_most), "low")
    )
    metrics.append(Metric(published.CHANGE_FAILURE_RATE.name, _round(failure_rate), "ratio", band, attempts))

    recovery = evidence[published.FAILED_DEPLOYMENT_RECOVERY_TIME.name]
    metrics.append(
        _timed(
            published.FAILED_DEPLOYMENT_RECOVERY_TIME.name,
            [entry.seconds for entry in recovery.counted],
            RECOVERY_BANDS,
            rests_on=len(recovery.counted) + len(recovery.left_out),
            extra={"endedUnknown": sum(entry.rule == why.RECOVERED_UNKNOWN for entry in recovery.counted)},
        )
    )

    rework = evidence[published.DEPLOYMENT_REWORK_RATE.name]
    changes = len(rework.basis)
    metrics.append(
        Metric(
            published.DEPLOYMENT_REWORK_RATE.name,
            _round(len(rework.counted) / changes if changes else None),
            "ratio",
            "n/a",
            changes,
        )
    )
    return metrics


def explain(items: list[dict], start: datetime, end: datetime) -> dict[str, Evidence]:
    """Each metric's evidence over [start, end): the records it counted and
    the rule that counted each, its base for a ratio, and the records it
    considered and left out, with the rule that left each out."""
    window = [r for r in items if _in(r, start, end)]
    deployed = deployments(window)
    deployed_ids = {r[records.KEY] for r in deployed}
    failed = [f for f in failures(items) if start <= f.at < end]
    restores = _restores(items)
    counted_deployments = tuple(Entry(r[records.KEY], _time(r[records.END_TIME]), why.DEPLOYED) for r in deployed)
    leads, no_lead = [], []
    for r in deployed:
        authored, ended = _time(r.get(records.COMMIT_AUTHOR_TIME)), _time(r[records.END_TIME])
        if authored:
            leads.append(Entry(r[records.KEY], ended, why.LEAD_TIME, (ended - authored).total_seconds()))
        else:
            no_lead.append(Entry(r[records.KEY], ended, why.NO_AUTHOR_TIME))
    failures_counted = tuple(Entry(f.execution, f.at, f.causes[0][0], cause=_causes(f)) for f in failed)
    attempts = counted_deployments + tuple(
        Entry(f.execution, f.at, why.FAILED_ATTEMPT) for f in failed if f.execution not in deployed_ids
    )
    recovered, unrecovered, rework = _recovered(failed, restores, deployed, items)
    changes = counted_deployments + tuple(
        Entry(execution, when, why.ROLLBACK_EXECUTION)
        for when, execution, rule in restores
        if rule == why.ROLLBACK_EXECUTION and start <= when < end
    )
    return {
        published.DEPLOYMENT_FREQUENCY.name: Evidence(counted_deployments, left_out=_not_deployed(window)),
        published.LEAD_TIME_FOR_CHANGES.name: Evidence(tuple(leads), left_out=tuple(no_lead)),
        published.CHANGE_FAILURE_RATE.name: Evidence(
            failures_counted,
            basis=attempts,
            left_out=tuple(e for e in _not_deployed(window) if e.id not in {f.execution for f in failed}),
        ),
        published.FAILED_DEPLOYMENT_RECOVERY_TIME.name: Evidence(recovered, left_out=unrecovered),
        published.DEPLOYMENT_REWORK_RATE.name: Evidence(
            tuple(sorted((e for e in rework.values() if start <= e.at < end), key=lambda e: (e.at, e.id))),
            basis=changes,
        ),
    }


def _causes(failure: Failure) -> str:
    """The records that made it a failure, besides its own (a rollback, an incident)."""
    return "; ".join(record for _, record in failure.causes if record != failure.execution)


def _not_deployed(window: list[dict]) -> tuple[Entry, ...]:
    """The executions of the window that deployed nothing to production, each
    with how it ended (a rollback execution restores; it is no deployment)."""
    left = []
    for r in window:
        if not records.is_deployment(r[records.KEY]):
            continue
        when = _time(r.get(records.END_TIME)) or _time(r.get(records.INDEX_SORT))
        if r.get(records.EXECUTION_TYPE) == "ROLLBACK":
            left.append(Entry(r[records.KEY], when, why.ROLLBACK_EXECUTION))
        elif not stages.deployed_production(r):
            left.append(Entry(r[records.KEY], when, r.get(records.OUTCOME) or stages.classify(r) or why.IN_PROGRESS))
    return tuple(sorted(left, key=lambda e: (e.at, e.id)))


def _recovered(failed, restores, deployed, items):
    """Each failure's recovery (counted, in seconds) or its absence, and the
    rework by execution: the restore that recovered a failure, and
    deployments made during an incident (hotfixes)."""
    recovered, unrecovered, rework = [], [], {}
    for failure in failed:
        if failure.by_incident:
            after = failure.recovered
            rule = why.RECOVERED_UNKNOWN if failure.end_unknown else why.RECOVERED_AT_INCIDENT_END
            by = failure.causes[-1][1]
        else:
            restore = next(((when, execution) for when, execution, _ in restores if when > failure.at), None)
            after, by = restore if restore else (None, "")
            rule = why.RECOVERED_BY_RESTORE
            if restore:
                rework.setdefault(by, Entry(by, after, why.RECOVERS, cause=failure.execution))
        if after:
            seconds = (after - failure.at).total_seconds()
            recovered.append(Entry(failure.execution, failure.at, rule, seconds, cause=by))
        else:
            unrecovered.append(Entry(failure.execution, failure.at, why.NOT_RECOVERED))
    for incident_start, incident_end, _, incident in _incident_windows(items):
        for r in deployed:
            began = _time(r.get(records.INDEX_SORT))
            if began and incident_start <= began and (incident_end is None or began < incident_end):
                rework.setdefault(
                    r[records.KEY], Entry(r[records.KEY], _time(r[records.END_TIME]), why.HOTFIX, cause=incident)
                )
    return tuple(recovered), tuple(unrecovered), rework


def _in(record: dict, start: datetime, end: datetime) -> bool:
    when = _time(record.get(records.END_TIME)) or _time(record.get(records.INDEX_SORT))
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
