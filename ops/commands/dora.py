"""The DORA metrics of an environment's pipeline
(python -m ops dora ENV [--days 30] [--explain METRIC] [--json]).

Read from the deployment records (functions/shared/dora.py says what counts);
each metric with its DORA band and the number of deployments it rests on.
--explain lists the records behind one figure: each one it counted with the
rule that counted it, its base for a ratio, and what it left out and why.
"""

from __future__ import annotations

from datetime import timedelta

from functions.shared import dora, dora_rules, records, stages
from functions.shared.contract import metrics as published
from ops.arguments import Command
from ops.aws import OpsError
from ops.commands.options import add_choice, add_days, days_back
from ops.common import Context, iso

# The attributes functions/shared/dora.py reads, by the type the writers give
# them (docs/deployment-records.md). A record with another type in one of
# them (a hand edit, an old writer) is left out and counted, never a traceback.
_TEXT = (
    records.INDEX_PARTITION,
    records.INDEX_SORT,
    records.COMMIT_AUTHOR_TIME,
    "endTime",
    "status",
    "executionType",
    "stage",
    records.STAGE_STATUS,
    records.FAILED_ACTION,
    "outcome",
    "target",
    dora.END_REASON,
    records.ROLLED_BACK_EXECUTION_ID,
    records.APPROVAL_REQUESTED_AT,
    records.APPROVAL_DECIDED_AT,
)
_TEXT_SETS = (records.SUCCEEDED_STAGES, records.STAGE_STARTS, records.STAGE_ENDS)
_NUMBERS = (stages.LAYOUT_ATTRIBUTE,)


def _unreadable(record: dict) -> str | None:
    """Why `record` cannot be measured (the first field of an unexpected type), or None."""
    if not isinstance(record.get(records.KEY), str):
        return f"{records.KEY} is missing or not text"
    for name in _TEXT:
        if name in record and not isinstance(record[name], str):
            return f"{name} is {type(record[name]).__name__}, not text"
    for name in _TEXT_SETS:
        value = record.get(name)
        if value is not None and not (
            isinstance(value, set | frozenset | list | tuple) and all(isinstance(v, str) for v in value)
        ):
            return f"{name} is {type(value).__name__}, not a set of text"
    for name in _NUMBERS:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{name} is {type(value).__name__}, not a number"
    return None


def _shown(metric: dora.Metric) -> str:
    if metric.value is None:
        return "no data"
    if metric.unit == "seconds":
        median, p90 = metric.detail["median"], metric.detail["p90"]
        shown = f"median {timedelta(seconds=round(median))}, p90 {timedelta(seconds=round(p90))}"
        # Recoveries counted at an incident whose alarm lost its data
        # (INSUFFICIENT_DATA): in the figure, but their real end is unknown.
        unknown = metric.detail.get("endedUnknown")
        return f"{shown}; {unknown} ended without data (end unknown)" if unknown else shown
    if metric.unit == "ratio":
        return f"{metric.value:.1%}"
    return f"{metric.value:.2f} {metric.unit}"


def _read(ctx: Context, start) -> tuple[list[dict], list[str]]:
    """The records from `start` less the lookback margin, and those left out
    for a field of an unexpected type (one line each)."""
    return readable(ctx.store().recent(ctx.config.name, since=iso(start - dora.LOOKBACK_MARGIN)))


def readable(found) -> tuple[list[dict], list[str]]:
    """The records of `found` the computations can read, and one line for
    each left out for a field of an unexpected type (`ops changes` reads so too)."""
    items, skipped = [], []
    for record in found:
        problem = _unreadable(record)
        if problem:
            skipped.append(f"{record.get(records.KEY, '(no id)')}: {problem}")
        else:
            items.append(record)
    return items, skipped


def _measured(ctx: Context, compute, items, start, end):
    try:
        return compute(items, start, end)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        # A shape _unreadable does not know: one line, not a traceback.
        raise OpsError(
            f"the deployment records of {ctx.config.name} could not be measured ({type(error).__name__}: {error}); "
            f"look for an odd record with python -m ops deployments {ctx.config.name} --json"
        ) from error


def _warnings(ctx: Context, days: int, skipped: list[str]) -> list[str]:
    lines = []
    if skipped:
        lines.append(
            f"! {len(skipped)} record(s) left out, a field of an unexpected type (first: {skipped[0]}); "
            "the metrics do not count them"
        )
    kept = ctx.config.deployment_record_ttl_days
    if days + dora.LOOKBACK_MARGIN.days > kept:
        lines.append(
            f"! records are kept {kept} days (deployment_record_ttl_days): a {days}-day window "
            "undercounts its oldest deployments and recoveries"
        )
    return lines


def cmd_dora(ctx: Context, args) -> int:
    start, end = days_back(args.days)
    items, skipped = _read(ctx, start)
    metrics = _measured(ctx, dora.measure, items, start, end)
    if args.explain:
        evidence = _measured(ctx, dora.explain, items, start, end)[args.explain]
        (metric,) = [m for m in metrics if m.name == args.explain]
        return _explain(ctx, args, metric, evidence, (start, end), skipped)
    lines = [f"DORA metrics of {ctx.names.pipeline}, {iso(start)} to {iso(end)} ({args.days} days):"]
    lines += _warnings(ctx, args.days, skipped)
    for m in metrics:
        lines.append(f"  {m.name:30} {_shown(m):40} band {m.band:7} (rests on {m.rests_on})")
    data = {
        "environment": ctx.config.name,
        "start": iso(start),
        "end": iso(end),
        "skippedRecords": skipped,
        "metrics": [_metric_json(m) for m in metrics],
    }
    ctx.emit(data, lines)
    return 0


def _metric_json(m: dora.Metric) -> dict:
    return {"name": m.name, "value": m.value, "unit": m.unit, "band": m.band, "restsOn": m.rests_on, **(m.detail or {})}


# What each part of a metric's evidence is, by metric: (counted, basis) titles.
PARTS = {
    published.DEPLOYMENT_FREQUENCY.name: ("deployments", None),
    published.LEAD_TIME_FOR_CHANGES.name: ("deployments with a lead time", None),
    published.CHANGE_FAILURE_RATE.name: ("change failures", "attempts (deployments, and failures that never deployed)"),
    published.FAILED_DEPLOYMENT_RECOVERY_TIME.name: ("recovered failures", None),
    published.DEPLOYMENT_REWORK_RATE.name: ("rework", "changes (deployments and successful rollback executions)"),
}


def _entry_json(entry: dora_rules.Entry) -> dict:
    shown = {"id": entry.id, "at": iso(entry.at), "rule": entry.rule, "why": dora_rules.RULES[entry.rule]}
    if entry.seconds is not None:
        shown["seconds"] = entry.seconds
    if entry.cause:
        shown["cause"] = entry.cause
    return shown


def _entry_line(entry: dora_rules.Entry) -> str:
    value = f"  {timedelta(seconds=round(entry.seconds))}" if entry.seconds is not None else ""
    cause = f"  <- {entry.cause}" if entry.cause else ""
    return f"    {iso(entry.at)}  {entry.id:40} {entry.rule}: {dora_rules.RULES[entry.rule]}{value}{cause}"


def _explain(ctx: Context, args, metric, evidence, window, skipped) -> int:
    start, end = window
    counted_title, basis_title = PARTS[metric.name]
    parts = [(counted_title, evidence.counted), (basis_title, evidence.basis), ("left out", evidence.left_out)]
    # The base is shown for ratios, left-out records where there are any.
    parts = [(title, entries) for title, entries in parts if title and (entries or title == counted_title)]
    lines = [
        f"{metric.name} of {ctx.names.pipeline}, {iso(start)} to {iso(end)} ({args.days} days): "
        f"{_shown(metric)}, band {metric.band} (rests on {metric.rests_on})"
    ]
    lines += _warnings(ctx, args.days, skipped)
    for title, entries in parts:
        lines.append(f"  {title} ({len(entries)}):")
        lines += [_entry_line(entry) for entry in entries] or ["    (none)"]
    data = {
        "environment": ctx.config.name,
        "start": iso(start),
        "end": iso(end),
        "skippedRecords": skipped,
        "metric": _metric_json(metric),
        "counted": [_entry_json(e) for e in evidence.counted],
        "basis": [_entry_json(e) for e in evidence.basis],
        "leftOut": [_entry_json(e) for e in evidence.left_out],
    }
    ctx.emit(data, lines)
    return 0


def arguments_dora(parser) -> None:
    add_days(parser, default=30)
    add_choice(parser, "--explain", tuple(PARTS), "DORA metric", "list the records behind this metric's figure")


COMMANDS = {
    "dora": Command(
        cmd_dora,
        "DORA metrics of the environment's pipeline",
        "dora production --days 30 --explain ChangeFailureRate",
        arguments=arguments_dora,
    ),
}
