"""What changed since the last good release: one view of an environment's
ledger between the last release that was healthy on a target and now
(`python -m ops changes ENV`, and the first lines of the rollback page).

Pure: no boto3. The caller reads the ledger records (the environment's, as
Store.recent returns them) and the configuration facts (SSM parameter and
Secrets Manager secret names, versions and dates, never values), and gets a
ChangeSet back:

- application: the span's first and last commit, the GitHub compare link,
  and each release in it with its artifact digest ("not recorded" where the
  record has none);
- pipeline: the structure versions (`pipelineVersion`) the span's executions ran in;
- infrastructure: the apply workflow's records (`apply#...`);
- ops runs that changed something (`run#...`, ops/ledger_runs.py);
- approvals (on the execution records) and overrides (`override#...`): who, when, why;
- configuration: parameters and secrets changed in the span;
- drift: the ledger holds no drift report (the nightly drift check reports
  on its GitHub issue), and the view says so.

The last good release is decided by the DORA rules, not again here
(functions/shared/dora.py): a deployment (dora.deployments: a STANDARD
execution that passed the target's deploy stage) that is not a change
failure (dora.failures: failed in the stage, rolled back out of it
afterwards, or the newest release to reach it before an incident on the
target). dora measures production; for test and staging the records are
read through `_as_production`, which names the target's deploy stage and
incidents as dora names production's, so the same rules decide.

Records written before a feature existed (no `recordLayout`, no commit, no
version, no digest) give a line saying what is not recorded, never a KeyError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from . import dora, records, stages
from .contract import stages as names

NOT_RECORDED = "not recorded"
DEFAULT_TARGET = dora.PRODUCTION_TARGET
# What the page carries (the rollback function): the first lines, then the command.
PAGE_LINES = 12


class SpanError(ValueError):
    """The span cannot be chosen: no good release, an unknown execution, a reversed span."""


@dataclass(frozen=True)
class ConfigChange:
    """A parameter or secret as the describe calls show it: no value."""

    kind: str  # "parameter" or "secret"
    name: str
    version: str
    changed_at: datetime | None
    changed_by: str = ""


@dataclass(frozen=True)
class Release:
    execution: str
    started: str
    commit: str
    digest: str
    outcome: str
    version: str


@dataclass(frozen=True)
class ChangeSet:
    environment: str
    target: str
    # The span: the good release (or --from) and the end (the newest record, or --to).
    base: Release
    until: str
    newest: Release | None
    compare: str
    releases: tuple[Release, ...] = ()
    versions: tuple[str, ...] = ()
    applies: tuple[dict, ...] = ()
    runs: tuple[dict, ...] = ()
    approvals: tuple[dict, ...] = ()
    overrides: tuple[dict, ...] = ()
    configuration: tuple[ConfigChange, ...] = ()
    notes: tuple[str, ...] = field(default=())


def _time(text: Any) -> datetime | None:
    try:
        return records.parse_time(text)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value else NOT_RECORDED


def _key(record: dict) -> str:
    return str(record.get(records.KEY, ""))


# --- the last good release, by dora's rules ---------------------------------------
_REAL_PRODUCTION = "(production)"


def _as_production(items: list[dict], target: str) -> list[dict]:
    """The records as dora would read them if `target` were production: its
    deploy stage named ProductionDeploy (layout 2), its incidents production's;
    production's own deploy stage and incidents renamed out of the way."""
    if target == DEFAULT_TARGET:
        return items
    stage, production = names.DEPLOY_STAGES[target], names.PRODUCTION_DEPLOY_STAGE

    def rename(value: str) -> str:
        for old, new in ((stage, production), (production, _REAL_PRODUCTION)):
            if value == old or value.startswith((f"{old}@", f"{old}/")):
                return new + value[len(old) :]
        return value

    seen = []
    for record in items:
        copy = dict(record)
        for attribute in (records.SUCCEEDED_STAGES, records.STAGE_STARTS, records.STAGE_ENDS):
            if isinstance(record.get(attribute), set | frozenset | list | tuple):
                copy[attribute] = {rename(v) for v in record[attribute] if isinstance(v, str)}
        for attribute in (records.STAGE, records.FAILED_ACTION):
            if isinstance(record.get(attribute), str):
                copy[attribute] = rename(record[attribute])
        if records.is_deployment(_key(record)):
            # Layout 1's production deploy (ProductionEnv) is not the target's:
            # read as layout 2, ProductionEnv is only the approval.
            copy[records.RECORD_LAYOUT] = stages.LAYOUT
        if _key(record).startswith(records.INCIDENT_PREFIX):
            copy[records.TARGET] = DEFAULT_TARGET if record.get(records.TARGET) == target else _REAL_PRODUCTION
        seen.append(copy)
    return seen


def good_releases(items: list[dict], target: str = DEFAULT_TARGET) -> list[dict]:
    """The releases healthy on `target`, oldest first: deployments there that
    no dora rule made a change failure."""
    view = _as_production(items, target)
    failed = {failure.execution for failure in dora.failures(view)}
    good = {_key(r) for r in dora.deployments(view) if _key(r) not in failed}
    return sorted((r for r in items if _key(r) in good), key=lambda r: str(r.get(records.END_TIME)))


def _release(record: dict, builds: dict[str, dict] | None = None) -> Release:
    """An execution as the view shows it; its digest from its record, else from
    its build's provenance record (`build#{execution}`), else "not recorded"."""
    version = record.get(records.PIPELINE_VERSION)
    digest = record.get(records.ARTIFACT_DIGEST) or (builds or {}).get(_key(record), {}).get(records.ARTIFACT_DIGEST)
    outcome = record.get(records.OUTCOME) or stages.classify(record) or str(record.get(records.STATUS) or "")
    if record.get(records.EXECUTION_TYPE) == records.ROLLBACK:
        outcome = f"rollback execution, {record.get(records.STATUS) or 'status not recorded'}"
    return Release(
        execution=_key(record),
        started=_text(record.get(records.INDEX_SORT)),
        commit=_text(record.get(records.COMMIT_ID)),
        digest=_text(digest),
        outcome=outcome or "in progress",
        version=str(version) if isinstance(version, int | float) and not isinstance(version, bool) else NOT_RECORDED,
    )


# --- the span ----------------------------------------------------------------------
def _executions(items: list[dict]) -> dict[str, dict]:
    return {_key(r): r for r in items if _key(r) and records.is_deployment(_key(r))}


def choose_span(
    items: list[dict], environment: str, target: str = DEFAULT_TARGET, first: str | None = None, last: str | None = None
) -> tuple[dict, dict | None]:
    """(the base record, the end record or None for "up to now"): the last
    good release on `target`, or the executions `first` and `last` name."""
    if first or last:
        if not (first and last):
            raise SpanError("--from and --to go together: name both executions, or neither (--since-last-good)")
        found = _executions(items)
        for option, execution in (("--from", first), ("--to", last)):
            if execution not in found:
                raise SpanError(
                    f"{option} {execution}: no execution of {environment} has this ID in the ledger "
                    f"(python -m ops deployments {environment} --limit 50 lists them)"
                )
        base, end = found[first], found[last]
        if str(end.get(records.INDEX_SORT) or "") < str(base.get(records.INDEX_SORT) or ""):
            raise SpanError(f"--to {last} started before --from {first}: swap them")
        return base, end
    good = good_releases(items, target)
    if not good:
        raise SpanError(
            f"no release of {environment} is recorded as healthy on {target}: every deployment that passed "
            f"{names.DEPLOY_STAGES[target]} was rolled back, failed there or was followed by an incident, or none "
            f"is in the ledger; name a span with --from EXECUTION --to EXECUTION "
            f"(python -m ops deployments {environment} --limit 50 lists them)"
        )
    return good[-1], None


def _bounds(base: dict, end: dict | None) -> tuple[str, str, str | None, str | None]:
    """(base start, base end, end start, end end) as record times; None: up to now."""
    base_start = str(base.get(records.INDEX_SORT) or "")
    base_end = str(base.get(records.END_TIME) or base_start)
    if end is None:
        return base_start, base_end, None, None
    end_start = str(end.get(records.INDEX_SORT) or "")
    return base_start, base_end, end_start, str(end.get(records.END_TIME) or end_start)


# --- the sections --------------------------------------------------------------------
def _entry(record: dict, attributes: tuple[str, ...]) -> dict:
    """A record as the view shows it: its key, its time, and `attributes`,
    each "not recorded" where the record lacks it (sets as sorted lists)."""
    shown = {records.KEY: _key(record), records.INDEX_SORT: _text(record.get(records.INDEX_SORT))}
    for attribute in attributes:
        value = record.get(attribute)
        if isinstance(value, set | frozenset | tuple):
            value = sorted(value)
        if attribute == records.CONTROL_CHANGES and isinstance(value, list):
            shown[attribute] = value  # an empty list is an answer: no control changed
            continue
        if attribute == records.APPLY_STOPPED:
            shown[attribute] = value or None  # absent: the apply did not stop
            continue
        shown[attribute] = value if value not in (None, "", [], {}) else NOT_RECORDED
    return shown


_APPLY = (
    records.PULL_REQUEST,
    records.STACKS,
    records.PLAN_FINGERPRINTS,
    records.MERGED_BY,
    records.COMMIT_ID,
    records.RUN_URL,
    records.CONTROL_CHANGES,
    records.APPLY_STOPPED,
)
_RUN = (records.COMMAND, records.CHANGED, records.RAN_BY, records.REASON)
_OVERRIDE = (
    records.STAGE,
    records.CONDITION_TYPE,
    records.PIPELINE_EXECUTION_ID,
    records.OVERRIDDEN_BY,
    records.REASON,
    records.STATUS,
)
_APPROVAL = (records.APPROVAL_RESULT, records.APPROVED_BY, records.APPROVAL_DECIDED_AT)


def _approvals(executions: list[dict]) -> tuple[dict, ...]:
    """The approvals decided on the span's executions (the recorder keeps them on the record)."""
    return tuple(
        _entry(record, _APPROVAL)
        for record in executions
        if record.get(records.APPROVAL_RESULT) or record.get(records.APPROVED_BY)
    )


def _versions(base: Release, releases: tuple[Release, ...]) -> tuple[str, ...]:
    """Each structure version change in the span: `3 -> 4 (first in EXECUTION)`."""
    changes, current = [], base.version
    for release in releases:
        if release.version not in (NOT_RECORDED, current):
            changes.append(f"{current} -> {release.version} (first in {release.execution}, {release.started})")
            current = release.version
    return tuple(changes)


def _compare(repository: str, base: Release, newest: Release | None) -> str:
    if newest is None:
        return "no release since"
    if NOT_RECORDED in (base.commit, newest.commit):
        which = "the good release's" if base.commit == NOT_RECORDED else f"{newest.execution}'s"
        return f"not available: {which} commit is not recorded"
    if base.commit == newest.commit:
        return "the same commit"
    if not repository:  # the rollback function does not know the repository
        return f"{base.commit}...{newest.commit}"
    return f"https://github.com/{repository}/compare/{base.commit}...{newest.commit}"


def _after(record: dict, since: str, until: str | None) -> bool:
    when = str(record.get(records.INDEX_SORT) or "")
    return bool(when) and when > since and (until is None or when <= until)


def build(
    items: list[dict],
    configuration: list[ConfigChange],
    *,
    environment: str,
    repository: str,
    target: str = DEFAULT_TARGET,
    first: str | None = None,
    last: str | None = None,
) -> ChangeSet:
    """The ChangeSet of `environment` on `target`: since its last good release
    (or from execution `first` to `last`), up to now (or `last`'s end)."""
    base_record, end_record = choose_span(items, environment, target, first, last)
    base_start, base_end, end_start, end_end = _bounds(base_record, end_record)
    executions = sorted(
        (r for r in _executions(items).values() if _key(r) != _key(base_record) and _after(r, base_start, end_start)),
        key=lambda r: (str(r.get(records.INDEX_SORT)), _key(r)),
    )
    others = sorted((r for r in items if _after(r, base_end, end_end)), key=lambda r: str(r.get(records.INDEX_SORT)))
    builds = {_key(r)[len(records.BUILD_PREFIX) :]: r for r in items if _key(r).startswith(records.BUILD_PREFIX)}
    base, releases = _release(base_record, builds), tuple(_release(r, builds) for r in executions)
    standard = [r for r in executions if r.get(records.EXECUTION_TYPE, records.STANDARD) != records.ROLLBACK]
    newest = _release(standard[-1], builds) if standard else None
    changed = tuple(
        sorted(
            (c for c in configuration if c.changed_at and _within(c.changed_at, base_end, end_end)),
            key=lambda c: (c.changed_at, c.kind, c.name),
        )
    )
    return ChangeSet(
        environment=environment,
        target=target,
        base=base,
        until=(end_end or "now"),
        newest=newest,
        compare=_compare(repository, base, newest),
        releases=releases,
        versions=_versions(base, releases),
        applies=tuple(_entry(r, _APPLY) for r in others if _key(r).startswith(records.APPLY_PREFIX)),
        runs=tuple(_entry(r, _RUN) for r in others if _key(r).startswith(records.RUN_PREFIX)),
        approvals=_approvals(executions),
        overrides=tuple(_entry(r, _OVERRIDE) for r in others if _key(r).startswith(records.OVERRIDE_PREFIX)),
        configuration=changed,
        notes=_notes(base, releases),
    )


def _within(moment: datetime, since: str, until: str | None) -> bool:
    return records.format_time(moment) > since and (until is None or records.format_time(moment) <= until)


def _notes(base: Release, releases: tuple[Release, ...]) -> tuple[str, ...]:
    """What the records do not say (written before the feature that records it)."""
    notes = []
    every = (base, *releases)
    for what, attribute in (("commit", "commit"), ("structure version", "version"), ("artifact digest", "digest")):
        missing = [r.execution for r in every if getattr(r, attribute) == NOT_RECORDED]
        if missing:
            notes.append(
                f"{len(missing)} of {len(every)} execution record(s) carry no {what} "
                f"(written before it was recorded): {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}"
            )
    return tuple(notes)


# --- the view --------------------------------------------------------------------------
DRIFT_LINE = (
    "drift: the ledger holds no drift report; the nightly drift check (terraform-drift.yml) reports on its GitHub issue"
)


def command(changes: ChangeSet) -> str:
    """The command that shows the whole view."""
    return f"python -m ops changes {changes.environment} --target {changes.target}"


def summary(changes: ChangeSet) -> str:
    counts = (
        (len(changes.releases), "execution(s)"),
        (len(changes.applies), "infrastructure apply(s)"),
        (len(changes.runs), "ops run(s)"),
        (len(changes.overrides), "override(s)"),
        (len(changes.approvals), "approval(s)"),
        (len(changes.configuration), "configuration change(s)"),
        (len(changes.versions), "pipeline structure change(s)"),
    )
    return "  " + ", ".join(f"{count} {what}" for count, what in counts)


def lines(changes: ChangeSet) -> list[str]:
    base = changes.base
    shown = [
        f"What changed in {changes.environment} since {base.execution}, the last good release on {changes.target}, "
        f"until {changes.until}:",
        summary(changes),
        f"  last good: {base.execution} started {base.started}, commit {base.commit}, digest {base.digest}",
    ]
    if changes.newest:
        newest = changes.newest
        shown.append(
            f"  newest:    {newest.execution} started {newest.started}, commit {newest.commit}, digest {newest.digest}"
        )
    shown.append(f"  compare:   {changes.compare}")
    shown += _section(
        "application",
        changes.releases,
        lambda r: (
            f"{r.started}  {r.execution}  {r.outcome}  commit {r.commit}  "
            f"digest {r.digest}  pipeline version {r.version}"
        ),
    )
    shown.append("pipeline:")
    shown += [f"  structure version {change}" for change in changes.versions] or [
        f"  structure version {base.version} throughout (the good release's)"
    ]
    shown += _section("infrastructure applies", changes.applies, _apply_line)
    shown += _section("ops runs", changes.runs, _run_line)
    shown += _section("approvals", changes.approvals, _approval_line)
    shown += _section("overrides", changes.overrides, _override_line)
    shown += _section("configuration", changes.configuration, _config_line)
    shown.append(DRIFT_LINE)
    shown += [f"note: {note}" for note in changes.notes]
    return shown


def first_lines(changes: ChangeSet, n: int = PAGE_LINES) -> list[str]:
    """The first `n` lines of the view, then the command that shows it all."""
    return [*lines(changes)[: max(n, 0)], f"all of it: {command(changes)}"]


def _section(title: str, entries, line) -> list[str]:
    return [f"{title} ({len(entries)}):", *(f"  {line(entry)}" for entry in entries)] if entries else [f"{title}: none"]


def _apply_line(entry: dict) -> str:
    stacks = entry[records.STACKS]
    fingerprints = entry[records.PLAN_FINGERPRINTS]
    shown = ", ".join(stacks) if isinstance(stacks, list) else str(stacks)
    if isinstance(fingerprints, dict):
        shown += " (" + ", ".join(f"{stack} {str(value)[:19]}" for stack, value in sorted(fingerprints.items())) + ")"
    controls = entry[records.CONTROL_CHANGES]
    if isinstance(controls, list):
        said = "; ".join(controls) if controls else "none"
    else:
        said = str(controls)  # "not recorded": an apply record from before the field
    stopped = f"  STOPPED: {entry[records.APPLY_STOPPED]}" if entry.get(records.APPLY_STOPPED) else ""
    return (
        f"{entry[records.INDEX_SORT]}  pull request #{entry[records.PULL_REQUEST]}{stopped}  stacks {shown}  "
        f"merged by {entry[records.MERGED_BY]}  commit {entry[records.COMMIT_ID]}  run {entry[records.RUN_URL]}  "
        f"delivery controls changed: {said}"
    )


def _run_line(entry: dict) -> str:
    changed = entry[records.CHANGED]
    what = "; ".join(changed) if isinstance(changed, list) else str(changed)
    reason = entry[records.REASON]
    why = f"  reason: {reason}" if reason != NOT_RECORDED else ""
    return f"{entry[records.INDEX_SORT]}  {entry[records.COMMAND]} by {entry[records.RAN_BY]}: {what}{why}"


def _approval_line(entry: dict) -> str:
    return (
        f"{entry[records.APPROVAL_DECIDED_AT]}  {entry[records.KEY]}  {entry[records.APPROVAL_RESULT]} "
        f"by {entry[records.APPROVED_BY]}"
    )


def _override_line(entry: dict) -> str:
    return (
        f"{entry[records.INDEX_SORT]}  {entry[records.STAGE]} {entry[records.CONDITION_TYPE]} for "
        f"{entry[records.PIPELINE_EXECUTION_ID]} by {entry[records.OVERRIDDEN_BY]} ({entry[records.STATUS]}): "
        f"{entry[records.REASON]}"
    )


def _config_line(change: ConfigChange) -> str:
    by = f" by {change.changed_by}" if change.changed_by else ""
    at = records.format_time(change.changed_at) if change.changed_at else NOT_RECORDED
    return f"{at}  {change.kind} {change.name} version {change.version}{by}"


def as_json(changes: ChangeSet) -> dict:
    """The view as data: every section, the command, no values of parameters or secrets."""

    def release(r: Release | None) -> dict | None:
        return None if r is None else asdict(r)

    return {
        "environment": changes.environment,
        "target": changes.target,
        "lastGood": release(changes.base),
        "until": changes.until,
        "newest": release(changes.newest),
        "compare": changes.compare,
        "releases": [release(r) for r in changes.releases],
        "pipelineVersions": list(changes.versions),
        "applies": list(changes.applies),
        "opsRuns": list(changes.runs),
        "approvals": list(changes.approvals),
        "overrides": list(changes.overrides),
        "configuration": [
            {
                "kind": c.kind,
                "name": c.name,
                "version": c.version,
                "changedAt": records.format_time(c.changed_at) if c.changed_at else None,
                "changedBy": c.changed_by,
            }
            for c in changes.configuration
        ],
        "drift": None,
        "notes": list(changes.notes),
        "command": command(changes),
    }
