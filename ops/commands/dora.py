"""The DORA metrics of an environment's pipeline (python -m ops dora ENV [--days 30] [--json]).

Read from the deployment records (functions/shared/dora.py says what counts);
each metric with its DORA band and the number of deployments it rests on.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from functions.shared import dora, records, stages
from ops.arguments import Command
from ops.aws import OpsError
from ops.commands.options import add_days, days_back
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


def cmd_dora(ctx: Context, args) -> int:
    start, end = days_back(args.days)
    items, skipped = [], []
    for record in ctx.store().recent(ctx.config.name, since=iso(start - dora.LOOKBACK_MARGIN)):
        problem = _unreadable(record)
        if problem:
            skipped.append(f"{record.get(records.KEY, '(no id)')}: {problem}")
        else:
            items.append(record)
    try:
        metrics = dora.measure(items, start, end)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        # A shape _unreadable does not know: one line, not a traceback.
        raise OpsError(
            f"the deployment records of {ctx.config.name} could not be measured ({type(error).__name__}: {error}); "
            f"look for an odd record with python -m ops deployments {ctx.config.name} --json"
        ) from error
    lines = [f"DORA metrics of {ctx.names.pipeline}, {iso(start)} to {iso(end)} ({args.days} days):"]
    if skipped:
        lines.append(
            f"! {len(skipped)} record(s) left out, a field of an unexpected type (first: {skipped[0]}); "
            "the metrics do not count them"
        )
    kept = ctx.config.deployment_record_ttl_days
    if args.days + dora.LOOKBACK_MARGIN.days > kept:
        lines.append(
            f"! records are kept {kept} days (deployment_record_ttl_days): a {args.days}-day window "
            "undercounts its oldest deployments and recoveries"
        )
    for m in metrics:
        lines.append(f"  {m.name:30} {_shown(m):40} band {m.band:7} (rests on {m.rests_on})")
    data = {
        "environment": ctx.config.name,
        "start": iso(start),
        "end": iso(end),
        "skippedRecords": skipped,
        "metrics": [
            {
                "name": m.name,
                "value": m.value,
                "unit": m.unit,
                "band": m.band,
                "restsOn": m.rests_on,
                **(m.detail or {}),
            }
            for m in metrics
        ],
    }
    ctx.emit(data, lines)
    return 0


COMMANDS = {
    "dora": Command(
        cmd_dora,
        "DORA metrics of the environment's pipeline",
        "dora production --days 30",
        arguments=partial(add_days, default=30),
    ),
}
