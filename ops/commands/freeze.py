"""One-off change freezes (holidays, launches, audits) on top of the
recurring change window:

    python -m ops freeze ENV add --from 2026-12-24 --to 2026-12-27 --reason "Christmas"
    python -m ops freeze ENV list [--all]
    python -m ops freeze ENV remove --id ID --reason "..."
    python -m ops freeze ENV lift --reason "Hotfix for INC-42"

The freezes are the events of the environment's SSM Change Calendar
(`kiro-pipeline-{env}-freezes`, ops/freezes.py); the freeze gate function
(functions/freeze_gate) holds production's releases while it is CLOSED.
`lift` is the freeze's break-glass: it lets releases through for the rest of
the freeze in force, audited (a ledger record written before the transition
moves, and a message on the deployments topic), and lifts nothing else: the
change window and the incident gate are the next stages' conditions.
Every change is recorded as an ops run in the ledger (`ops changes` lists it).
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from functions.freeze_gate import logic
from functions.shared import records
from functions.shared.contract import calendar as freeze_calendar
from functions.shared.contract.stages import freeze_stage
from ops import freezes
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_USAGE, OpsError, explain
from ops.commands.override import write_audit
from ops.common import Context, code, iso
from ops.ledger_runs import record_run
from ops.values import text

ACTIONS = ("add", "list", "remove", "lift")


def now() -> datetime:
    """The time the command judges freezes by (tests set a simulated clock)."""
    return datetime.now(UTC)


def _calendar(ctx: Context, which: str = "$LATEST") -> tuple[freeze_calendar.Calendar, str]:
    """The calendar's freezes and the version they were read from (the latest,
    which a write must name; `list` reads the default one, which the commands
    make each new version)."""
    name = ctx.names.freeze_calendar
    try:
        found = ctx.client("ssm").get_document(Name=name, DocumentVersion=which)
    except AWS_ERRORS as error:
        if code(error) == "InvalidDocument":
            raise OpsError(
                f"the change calendar {name} does not exist: deploy monitoring-{ctx.config.name} "
                f"(respect_freezes=True makes it)"
            ) from error
        raise explain(error, "reading the change calendar", name) from error
    return freeze_calendar.parse(found["Content"]), found["DocumentVersion"]


def _write(ctx: Context, calendar: freeze_calendar.Calendar, version: str) -> str:
    """Write the calendar as a new version of the one read, and make it the
    default. "Currently, Systems Manager supports updating only the latest
    version of the document" (UpdateDocument, DocumentVersion): naming the
    version read makes a concurrent edit fail rather than be overwritten
    (inferred from that sentence)."""
    ssm, name = ctx.client("ssm"), ctx.names.freeze_calendar
    try:
        written = ssm.update_document(
            Name=name, Content=calendar.render(datetime.now(UTC)), DocumentVersion=version, DocumentFormat="TEXT"
        )["DocumentDescription"]["DocumentVersion"]
    except AWS_ERRORS as error:
        if code(error) == "InvalidDocumentVersion":
            raise OpsError(f"the calendar {name} changed while this ran; run the command again") from error
        raise explain(error, "writing the change calendar", name) from error
    try:
        # Which version GetCalendarState reads is not said; the default one is
        # set to the new version, so either reading sees it (assumed).
        ssm.update_document_default_version(Name=name, DocumentVersion=written)
    except AWS_ERRORS as error:
        raise explain(error, f"making version {written} the calendar's default (it is written)", name) from error
    return written


def _state(ctx: Context) -> tuple[str, str]:
    """The calendar's state now, and when it changes, as the gate reads it;
    an error names the call and the calendar (never "no freeze")."""
    try:
        answer = ctx.client("ssm").get_calendar_state(CalendarNames=[ctx.names.freeze_calendar])
    except AWS_ERRORS as error:
        raise explain(error, "reading the calendar's state", ctx.names.freeze_calendar) from error
    return answer["State"], answer.get("NextTransitionTime", "")


def _inbound(ctx: Context, stage: str) -> dict:
    """The freeze point's inbound transition, as GetPipelineState reports it."""
    try:
        states = ctx.client("codepipeline").get_pipeline_state(name=ctx.names.pipeline)["stageStates"]
    except AWS_ERRORS as error:
        raise explain(error, "reading the freeze point's transition", ctx.names.pipeline) from error
    return next((s.get("inboundTransitionState") or {} for s in states if s["stageName"] == stage), {})


def _add(ctx: Context, args, now: datetime) -> int:
    problems = []
    try:
        starts = freezes.moment(args.starts, now)
    except ValueError as error:
        problems.append(f"--from: {error}")
    try:
        ends = freezes.moment(args.ends, now)
    except ValueError as error:
        problems.append(f"--to: {error}")
    if problems:
        raise OpsError("; ".join(problems), EXIT_USAGE)
    calendar, version = _calendar(ctx)
    try:
        new = freezes.add(calendar, starts, ends, args.reason, now)
    except freezes.CalendarError as error:
        raise OpsError(str(error), EXIT_USAGE) from error
    calendar.freezes.append(new)
    written = _write(ctx, calendar, version)
    record_run(ctx, "freeze add", [f"freeze {new.id}: {new.span()}: {new.reason}"], args.reason)
    lines = [
        f"✓ freeze {new.id} added to {ctx.names.freeze_calendar} (version {written}): {new.span()}",
        f"  reason: {new.reason}",
        f"  production releases of {ctx.names.pipeline} wait before {_stage(ctx)} while it lasts",
    ]
    if calendar.foreign:
        lines.append(
            f"! the calendar has {len(calendar.foreign)} event(s) not written by ops; "
            "overlaps with them are not checked"
        )
    ctx.emit({"added": _json(new), "calendarVersion": written}, lines)
    return 0


def _list(ctx: Context, args, now: datetime) -> int:
    calendar, version = _calendar(ctx, "$DEFAULT")
    latest = _calendar(ctx)[1]
    shown = [f for f in sorted(calendar.freezes, key=lambda f: f.starts) if args.all or f.ends > now]
    try:
        state, next_change = _state(ctx)
    except OpsError as error:
        state, next_change = f"state not known ({error})", ""
    lines = [
        f"{ctx.names.freeze_calendar} (version {version}): {state}"
        + (f", changes at {next_change}" if next_change else "")
    ]
    lines += [f"  {f.id}  {f.span()}  {f.reason}" + ("  (in force)" if f.starts <= now < f.ends else "") for f in shown]
    if not shown:
        lines.append("  no freezes" + ("" if args.all else " to come (--all lists past ones)"))
    lines += [
        f"  ! not written by ops, shown as is: {block.splitlines()[0] if block else ''} ..."
        for block in calendar.foreign
    ]
    if latest != version:
        lines.append(
            f"  ! version {latest} is newer than the default {version} (a write was cut short): "
            "run the command that made it again"
        )
    ctx.emit(
        {
            "calendar": ctx.names.freeze_calendar,
            "version": version,
            "state": state,
            "nextTransitionTime": next_change,
            "freezes": [_json(f) for f in shown],
            "notWrittenByOps": len(calendar.foreign),
        },
        lines,
    )
    return 0


def _remove(ctx: Context, args, now: datetime) -> int:
    calendar, version = _calendar(ctx)
    found = next((f for f in calendar.freezes if f.id == args.id), None)
    if found is None:
        known = ", ".join(f.id for f in calendar.freezes) or "none"
        raise OpsError(
            f"no freeze {args.id} in {ctx.names.freeze_calendar} "
            f"(freezes: {known}; `python -m ops freeze {ctx.config.name} list --all`)",
            EXIT_USAGE,
        )
    calendar.freezes.remove(found)
    written = _write(ctx, calendar, version)
    record_run(ctx, "freeze remove", [f"freeze {found.id} removed: {found.span()}: {found.reason}"], args.reason)
    ended = found.starts <= now < found.ends
    lines = [f"✓ freeze {found.id} removed ({found.span()}); calendar version {written}"]
    if ended:
        lines.append("  it was in force: the freeze gate lets releases through within a minute")
    ctx.emit({"removed": _json(found), "calendarVersion": written, "wasInForce": ended}, lines)
    return 0


def _lift(ctx: Context, args, now: datetime) -> int:
    state, until = _state(ctx)
    if state != "CLOSED":
        raise OpsError(f"no freeze is in force in {ctx.names.freeze_calendar} (state {state}); nothing to lift")
    if not until:
        raise OpsError("the freeze in force has no end the calendar reports; remove it instead (`freeze ENV remove`)")
    key = logic.lift_key(records.FREEZE_LIFT_PREFIX, datetime.fromisoformat(until.replace("Z", "+00:00")))
    caller = ctx.identity("recording who lifts the freeze")["Arn"]
    stage = _stage(ctx)
    moment = iso(now)
    transition = _inbound(ctx, stage)
    held_by_other = not transition.get("enabled", True) and not logic.ours(transition.get("disabledReason", ""))
    # No audit, no lift: the record is written first (override's rule). A
    # lift of this freeze already recorded (a retry after a failed enable)
    # is this lift: it goes on to the enable.
    try:
        earlier = ctx.store().get(key)
    except AWS_ERRORS as error:
        raise explain(error, "reading the lift records (no audit, no lift)", ctx.names.deployments_table) from error
    if earlier is None:
        _record_lift(ctx, key, stage, until, args.reason, caller, moment)
    if held_by_other:
        # The gate leaves another's hold alone; so does the lift.
        reason = transition.get("disabledReason", "")
        who = transition.get("lastChangedBy", "someone")
        raise OpsError(
            f"the freeze until {until} is lifted ({key}), but {stage}'s transition is held by {who} "
            f"for another reason ({reason!r}); that hold is theirs to end"
        )
    _enable(ctx, stage, key)
    record_run(
        ctx, "freeze lift", [f"the freeze until {until} lifted ({stage} inbound transition enabled)"], args.reason
    )
    announced = _announce(
        ctx,
        f"Change freeze lifted: {ctx.names.pipeline}",
        (
            f"{caller} lifted the change freeze of {ctx.names.pipeline} until {until}.\nReason: {args.reason}\n"
            f"Releases enter {stage} again; the change window and the incident gate still apply."
        ),
    )
    lines = [
        f"✓ the freeze until {until} is lifted by {caller}: releases enter {stage} again",
        f"  the change window and the incident gate still hold; a freeze after {until} holds as usual",
        f"  audit record: {key} in {ctx.names.deployments_table}",
        announced,
    ]
    ctx.emit({"record": key, "until": until, "stage": stage}, lines)
    return 0


def _enable(ctx: Context, stage: str, key: str) -> None:
    """Enable the stage's inbound transition, after its lift was recorded under `key`."""
    try:
        ctx.client("codepipeline").enable_stage_transition(
            pipelineName=ctx.names.pipeline, stageName=stage, transitionType="Inbound"
        )
    except AWS_ERRORS as error:
        raise explain(
            error, f"enabling {stage}'s inbound transition (the lift is recorded as {key}; run lift again)"
        ) from error


def _record_lift(ctx: Context, key: str, stage: str, until: str | None, reason: str, caller: str, moment: str) -> None:
    """The lift's audit record; `until` is the end of the freeze lifted (none
    for a hold left behind, whose freeze the calendar no longer says)."""
    item = {
        records.AUDIT_TOKEN: uuid.uuid4().hex,
        records.INDEX_PARTITION: ctx.config.name,
        records.INDEX_SORT: moment,
        records.STATUS: "LIFTED",
        records.FROZEN_STAGE: stage,
        records.REASON: reason,
        records.OVERRIDDEN_BY: caller,
        records.PIPELINE_NAME: ctx.names.pipeline,
        records.EXPIRES: records.expires_at(moment, ctx.config.deployment_record_ttl_days),
    }
    if until:
        item[records.FREEZE_UNTIL] = until
    write_audit(ctx, key, item, what="freeze lift")


def _announce(ctx: Context, subject: str, message: str) -> str:
    try:
        ctx.client("sns").publish(
            TopicArn=ctx.arn("sns", ctx.names.topic("deployments")), Subject=subject[:100], Message=message
        )
        return "  announced on the deployments topic"
    except AWS_ERRORS as error:
        return f"! not announced on the deployments topic ({explain(error, 'publishing')}); tell the team"


def _stage(ctx: Context) -> str:
    return freeze_stage(window=ctx.config.change_window.enabled)


def _json(f: freeze_calendar.Freeze) -> dict:
    return {"id": f.id, "from": iso(f.starts), "to": iso(f.ends), "reason": f.reason}


def cmd_freeze(ctx: Context, args) -> int:
    if not ctx.config.respect_freezes:
        if args.freeze_action == "lift":
            return _lift_left_behind(ctx, args, now())
        raise OpsError(
            f"{ctx.config.name} does not respect freezes: set respect_freezes=True in "
            f"environments/{ctx.config.name}.py and deploy monitoring-{ctx.config.name} (turning it off while a "
            "freeze holds leaves the hold: lift or remove the freeze first)",
            EXIT_USAGE,
        )
    return {"add": _add, "list": _list, "remove": _remove, "lift": _lift}[args.freeze_action](ctx, args, now())


def _lift_left_behind(ctx: Context, args, now: datetime) -> int:
    """`lift` where this checkout's environment does not respect freezes:
    ends a hold the freeze gate left when `respect_freezes` was turned off
    (nothing else would ever end it), audited as any lift. The record is the
    ordinary lift of the freeze the hold's reason names (`freeze-lift#<end>`),
    so that a gate still deployed (monitoring not applied yet) reads it and
    does not hold again, and a retry finds it. With no such hold, it refuses
    as every freeze command does there."""
    try:
        state = ctx.client("codepipeline").get_pipeline_state(name=ctx.names.pipeline)
    except AWS_ERRORS as error:
        raise explain(error, "reading the transitions for a hold the freeze gate left", ctx.names.pipeline) from error
    held = freezes.left_behind(ctx.config.respect_freezes, state)
    if not held:
        raise OpsError(
            f"{ctx.config.name} does not respect freezes and no hold of the freeze gate is in place: nothing to "
            f"lift (to use freezes, set respect_freezes=True in environments/{ctx.config.name}.py and deploy "
            f"monitoring-{ctx.config.name})",
            EXIT_USAGE,
        )
    caller = ctx.identity("recording who lifts the freeze")["Arn"]
    moment = iso(now)
    keys = []
    for stage, reason in sorted(held.items()):
        until = logic.reason_until(reason)
        key = logic.lift_key(records.FREEZE_LIFT_PREFIX, until) or f"{records.FREEZE_LIFT_PREFIX}left-behind#{moment}"
        try:
            earlier = ctx.store().get(key)
        except AWS_ERRORS as error:
            raise explain(error, "reading the lift records (no audit, no lift)", ctx.names.deployments_table) from error
        if earlier is None:
            _record_lift(ctx, key, stage, logic.iso(until) if until else None, args.reason, caller, moment)
        _enable(ctx, stage, key)
        keys.append(key)
    ended = f"the freeze gate's hold left behind on {', '.join(sorted(held))} ended (respect_freezes is off)"
    record_run(ctx, "freeze lift", [ended], args.reason)
    announced = _announce(
        ctx,
        f"Change freeze hold ended: {ctx.names.pipeline}",
        f"{caller} ended {ended}.\nReason: {args.reason}\nThe change window and the incident gate still apply.",
    )
    lines = [f"✓ {ended}", *(f"  audit record: {key} in {ctx.names.deployments_table}" for key in keys), announced]
    ctx.emit({"records": keys, "stages": sorted(held)}, lines)
    return 0


def arguments_freeze(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="freeze_action", required=True, metavar="{" + ",".join(ACTIONS) + "}")
    add = actions.add_parser("add", help="add a freeze")
    add.add_argument(
        "--from", dest="starts", required=True, help="start: now, 2026-12-24 (00:00 UTC) or 2026-12-24T18:00+01:00"
    )
    add.add_argument(
        "--to", dest="ends", required=True, help="end, as --from (at most 30 days with the freezes it touches)"
    )
    reason = text("the reason", longest=freezes.REASON_LONGEST)
    add.add_argument("--reason", required=True, type=reason, help="why; shown in the list and the notifications")
    listing = actions.add_parser("list", help="list the freezes to come, and the calendar's state")
    listing.add_argument("--all", action="store_true", help="past freezes too")
    remove = actions.add_parser("remove", help="remove a freeze (one in force ends at once)")
    remove.add_argument("--id", required=True, help="the freeze's ID (`list` shows it)")
    remove.add_argument("--reason", required=True, type=reason, help="why; kept in the ledger")
    lift = actions.add_parser("lift", help="break-glass: let releases through for the rest of the freeze in force")
    lift.add_argument(
        "--reason",
        required=True,
        type=text("the reason", longest=4096),
        help="why; kept in the audit record and announced",
    )


COMMANDS = {
    "freeze": Command(
        cmd_freeze,
        "One-off change freezes of production releases: add, list, remove, lift (audited)",
        'freeze production add --from 2026-12-24 --to 2026-12-27 --reason "Christmas"',
        arguments=arguments_freeze,
    ),
}
