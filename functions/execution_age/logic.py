"""The decisions of the execution-age function (handler.py says what it
publishes and why): the age of an execution's current stretch without
progress. Pure functions, no boto3.

Progress: an action starts or ends (ListActionExecutions' startTime, and
lastUpdateTime of an action that ended), a stage starts or ends (its first
action's start, its last action's end: GetPipelineState gives a stage's
latest execution no time), or a condition starts or ends (GetPipelineState's
`conditionStates[].latestExecution.lastStatusChange`: the in-progress entry
condition or bake of an execution; the ended on-success or on-failure
condition of a stage's latest execution). The execution's start is its first
progress. An action in progress counts from its start (a hung build's age is
how long it has run), unless something else progressed since.

The stretch's age is `now - max(last progress, expected end of the known wait
it is in)`, never negative. The known waits, each excluded until its
expected end:

- a pending manual approval, until its time-out (APPROVAL_TIMEOUT_MINUTES after
  it started; CodePipeline fails the approval after seven days);
- ProductionWindow's entry condition (the DeploymentWindow rule), until the
  window's next opening after the wait began (shared/window.py, from
  WINDOW_CRON and WINDOW_TIME_ZONE) plus GRACE (the opening after that when
  the window closes within the grace: a release that arrived in its last
  minutes); a window that does not open, or a cron that cannot be read,
  excludes nothing (it alarms);
- an incident gate's entry condition (TestGate, StagingGate, ProductionGate:
  the CloudWatchAlarm rule), until INCIDENT_WAIT_MINUTES (its WaitTime) after
  the wait began;
- a deploy stage's on-success bake (the CloudWatchAlarm rule whose WaitTime is
  the bake time), until BAKE_MINUTES after it began plus GRACE;
- the QUEUED line: an execution waiting to enter a stage that another
  in-progress execution holds (GetPipelineState's inbound executions), or one
  that has run no action while an older execution runs, is excluded entirely
  (age 0) while it waits; the execution ahead is measured itself.

An execution is in a known wait only when none of its actions other than an
approval runs (a build running beside an approval counts). Where it waits
between stages comes from GetPipelineState: at which stage's entry condition
(`beforeEntryConditionState`, the wait beginning at the condition's last
status change; in line before that), in whose line, or in which stage's bake
(`onSuccessConditionState` in progress for the stage's in-progress latest
execution). Anything else (an entry condition of another stage, a disabled
transition, a retry after a failure, a state that cannot be read) is no known
wait: it counts from the last progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.shared import window as windows
from functions.shared.stages import INCIDENT_GATE_STAGES, WINDOW_STAGE

# A window wait or a bake is excluded this long past its expected end: the
# rules are evaluated periodically, and the execution ahead in line passes first.
GRACE = timedelta(minutes=10)
INCIDENT_GATES = frozenset(INCIDENT_GATE_STAGES.values())
IN_PROGRESS = "InProgress"

# Kinds of known wait.
APPROVAL = "approval"
WINDOW = "window"
INCIDENT_GATE = "incident-gate"
BAKE = "bake"
IN_LINE = "in-line"


# --- the known waits' expected ends ------------------------------------------


@dataclass(frozen=True)
class Rules:
    """How long each known wait may last before it counts."""

    approval_timeout: timedelta
    incident_wait: timedelta
    bake: timedelta = timedelta(minutes=10)
    window: windows.Window | None = None
    # Why there is no window: not configured, or its cron/time zone unreadable.
    no_window: str = "no window configured"
    grace: timedelta = GRACE

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> Rules:
        rules = cls(
            approval_timeout=timedelta(minutes=values["APPROVAL_TIMEOUT_MINUTES"]),
            incident_wait=timedelta(minutes=values["INCIDENT_WAIT_MINUTES"]),
            bake=timedelta(minutes=values["BAKE_MINUTES"]),
        )
        cron = values["WINDOW_CRON"]
        if not cron:
            return rules
        try:
            return dataclasses.replace(rules, window=windows.window(cron, values["WINDOW_TIME_ZONE"]))
        except ValueError as error:
            return dataclasses.replace(rules, no_window=f"WINDOW_CRON/WINDOW_TIME_ZONE: {error}")

    def expected_end(self, kind: str, began: datetime) -> tuple[datetime, str | None]:
        """Until when a wait of `kind` that began at `began` is excluded, and
        why it is not excluded at all (None when it is)."""
        if kind == APPROVAL:
            return began + self.approval_timeout, None
        if kind == INCIDENT_GATE:
            return began + self.incident_wait, None
        if kind == BAKE:
            return began + self.bake + self.grace, None
        if kind == WINDOW:
            if self.window is None:
                return began, self.no_window
            opening = self.window.next_opening(began)
            if opening is None:
                return began, f"the window does not open within {windows.HORIZON.days} days"
            # A window that closes within the grace (a release that arrived in
            # its last minutes) may have been evaluated closed: the wait then
            # lasts until the opening after.
            minute = opening.replace(second=0, microsecond=0)
            steps = range(1, int(self.grace.total_seconds() // 60) + 1)
            closes = (minute + timedelta(minutes=k) for k in steps)
            closed = next((m for m in closes if not self.window.is_open(m)), None)
            later = self.window.next_opening(closed) if closed else None
            return (later or opening) + self.grace, None
        raise ValueError(f"unknown wait {kind!r}")


# --- the stretch without progress ----------------------------------------------


@dataclass(frozen=True)
class Progress:
    """A moment the execution moved, and what moved."""

    at: datetime
    what: str

    @staticmethod
    def last(moments: list[Progress], now: datetime) -> Progress:
        """The latest of `moments` up to `now` (on a tie, the one read last: a
        condition's start over an action's end); the first when none is."""
        latest = max((i for i, p in enumerate(moments) if p.at <= now), key=lambda i: (moments[i].at, i), default=0)
        return moments[latest]


@dataclass(frozen=True)
class Position:
    """Where GetPipelineState shows an execution waiting."""

    # "condition": at the stage's entry condition; "bake": in its on-success
    # condition; "line": behind `ahead`.
    kind: str
    stage: str
    since: datetime | None = None  # when the condition's evaluation began
    ahead: str | None = None


@dataclass(frozen=True)
class Wait:
    """The known wait the execution is in: excluded until `until`, its
    expected end (None: excluded entirely while it lasts, the QUEUED line)."""

    kind: str
    stage: str | None
    start: datetime
    until: datetime | None
    why_counted: str | None = None
    ahead: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "wait": self.kind,
            "stage": self.stage,
            "from": iso(self.start),
            "expectedEnd": iso(self.until) if self.until else None,
            **({"ahead": self.ahead} if self.ahead else {}),
            **({"countedBecause": self.why_counted} if self.why_counted else {}),
        }


@dataclass(frozen=True)
class Stretch:
    """An execution's current stretch without progress."""

    progress: Progress  # the last progress: where the stretch began
    wait: Wait | None  # the known wait it is in, if any
    now: datetime

    @property
    def counts_from(self) -> datetime | None:
        """From when the stretch counts (None: not at all)."""
        if self.wait is None:
            return self.progress.at
        if self.wait.until is None:
            return None
        return max(self.progress.at, self.wait.until)

    @property
    def overdue(self) -> bool:
        """In a known wait that outlasted its expected end (or counts at once)."""
        return self.wait is not None and self.wait.until is not None and self.now > self.wait.until

    def age_seconds(self) -> int:
        start = self.counts_from
        return 0 if start is None else max(0, int((self.now - start).total_seconds()))

    def describe(self) -> dict[str, Any]:
        start = self.counts_from
        if self.wait is None:
            because = "no known wait: the last progress"
        elif start is None:
            because = f"{self.wait.kind}: excluded while it lasts"
        elif start == self.progress.at:
            because = "the last progress, after the known wait's expected end"
        else:
            because = f"the expected end of the {self.wait.kind} wait"
        return {
            "since": iso(self.progress.at),
            "progress": self.progress.what,
            "wait": self.wait.describe() if self.wait else None,
            "countsFrom": iso(start) if start else None,
            "countsFromBecause": because,
        }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _category(action: Mapping[str, Any]) -> str | None:
    return ((action.get("input") or {}).get("actionTypeId") or {}).get("category")


def _name(action: Mapping[str, Any]) -> str:
    return f"{action.get('stageName') or '?'}.{action.get('actionName') or '?'}"


def _running(action: Mapping[str, Any]) -> bool:
    return action.get("status") == IN_PROGRESS and isinstance(action.get("startTime"), datetime)


def action_progress(started: datetime, actions: Iterable[Mapping[str, Any]]) -> list[Progress]:
    """The execution's start, each action's start, and each ended action's end."""
    found = [Progress(started, "the execution started")]
    for action in actions:
        start, end = action.get("startTime"), action.get("lastUpdateTime")
        if not isinstance(start, datetime):
            continue
        found.append(Progress(start, f"{_name(action)} started"))
        if action.get("status") != IN_PROGRESS and isinstance(end, datetime):
            found.append(Progress(max(start, end), f"{_name(action)} ended ({action.get('status')})"))
    return found


def _in_progress(condition_state: Mapping[str, Any]) -> bool:
    return (condition_state.get("latestExecution") or {}).get("status") == IN_PROGRESS


def _condition_began(condition_state: Mapping[str, Any]) -> datetime | None:
    """When the in-progress condition's evaluation began (its last status change)."""
    changes = [
        latest.get("lastStatusChange")
        for condition in condition_state.get("conditionStates") or ()
        if (latest := condition.get("latestExecution") or {}).get("status") == IN_PROGRESS
    ]
    changes = [c for c in changes if isinstance(c, datetime)]
    return min(changes) if changes else None


def positions(state: Mapping[str, Any]) -> dict[str, Position]:
    """From GetPipelineState: which executions wait at an entry condition,
    which bake, and which wait in line to enter a stage that another
    execution holds.

    Assumed (not documented): the execution at an in-progress entry
    condition is the stage's inbound execution, or, when there is none, its
    in-progress latest execution; the stage's other inbound executions wait
    in line behind it (or behind the in-progress latest execution). An
    in-progress on-success condition is the bake of the stage's in-progress
    latest execution (unless that one is the execution at the entry)."""
    found: dict[str, Position] = {}
    for stage in state.get("stageStates") or ():
        name = stage.get("stageName")
        latest = stage.get("latestExecution") or {}
        inbound, seen = [], set()
        for execution in [stage.get("inboundExecution"), *(stage.get("inboundExecutions") or ())]:
            execution_id = (execution or {}).get("pipelineExecutionId")
            if execution_id and execution_id not in seen:
                seen.add(execution_id)
                inbound.append(execution_id)
        entry = stage.get("beforeEntryConditionState") or {}
        in_stage = latest.get("pipelineExecutionId") if latest.get("status") == IN_PROGRESS else None
        holder = in_stage
        if _in_progress(entry):
            waiting = inbound[0] if inbound else in_stage
            if waiting:
                found[waiting] = Position("condition", name, since=_condition_began(entry))
                holder = waiting
        success = stage.get("onSuccessConditionState") or {}
        if in_stage and in_stage not in found and _in_progress(success):
            found[in_stage] = Position("bake", name, since=_condition_began(success))
        for execution_id in inbound:
            if holder and execution_id != holder and execution_id not in found:
                found[execution_id] = Position("line", name, ahead=holder)
    return found


def condition_progress(state: Mapping[str, Any]) -> dict[str, list[Progress]]:
    """From GetPipelineState: the ended on-success (bake) and on-failure
    conditions of each stage's latest execution. An ended entry condition is
    not read: whose it was is not certain, and the stage's first action
    starts when it ends (ListActionExecutions has that)."""
    found: dict[str, list[Progress]] = {}
    for stage in state.get("stageStates") or ():
        execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId")
        if not execution_id:
            continue
        for key, label in (("onSuccessConditionState", "on-success"), ("onFailureConditionState", "on-failure")):
            for condition in (stage.get(key) or {}).get("conditionStates") or ():
                latest = condition.get("latestExecution") or {}
                at, status = latest.get("lastStatusChange"), latest.get("status")
                if status != IN_PROGRESS and isinstance(at, datetime):
                    what = f"{stage.get('stageName')}: its {label} condition ended ({status})"
                    found.setdefault(execution_id, []).append(Progress(at, what))
    return found


def _gate_kind(stage: str | None) -> str | None:
    return WINDOW if stage == WINDOW_STAGE else INCIDENT_GATE if stage in INCIDENT_GATES else None


def current_wait(
    actions: list[Mapping[str, Any]],
    position: Position | None,
    behind_older: bool,
    last: Progress,
    rules_: Rules,
) -> Wait | None:
    """The known wait the execution is in now, if any. `position`: where
    GetPipelineState shows it waiting; `behind_older`: an older execution is
    in progress; `last`: its last progress."""
    running = [a for a in actions if _running(a)]
    if any(_category(a) != "Approval" for a in running):
        return None  # an action runs: no known wait
    if running:  # a pending approval (the earliest, if several)
        pending = min(running, key=lambda a: a["startTime"])
        until, _ = rules_.expected_end(APPROVAL, pending["startTime"])
        return Wait(APPROVAL, pending.get("stageName"), pending["startTime"], until)
    if position is not None and position.kind == "line":
        return Wait(IN_LINE, position.stage, last.at, None, ahead=position.ahead)
    if position is not None and position.kind == "condition":
        began = position.since or last.at
        kind = _gate_kind(position.stage)
        if kind is None:
            return Wait("entry-condition", position.stage, began, began, "not a known gate")
        until, why = rules_.expected_end(kind, began)
        return Wait(kind, position.stage, began, until, why)
    if position is not None and position.kind == "bake":
        began = position.since or last.at
        until, _ = rules_.expected_end(BAKE, began)
        return Wait(BAKE, position.stage, began, until)
    if not actions and behind_older:
        return Wait(IN_LINE, None, last.at, None)
    return None


def stretch(
    started: datetime,
    actions: list[Mapping[str, Any]],
    position: Position | None,
    conditions: Iterable[Progress],
    behind_older: bool,
    rules_: Rules,
    now: datetime,
) -> Stretch:
    """The execution's current stretch without progress."""
    moments = [*action_progress(started, actions), *conditions]
    if position is not None and position.since is not None:
        began = "entry condition" if position.kind == "condition" else "on-success condition (bake)"
        moments.append(Progress(position.since, f"{position.stage}: its {began} began"))
    last = Progress.last(moments, now)
    return Stretch(last, current_wait(actions, position, behind_older, last, rules_), now)


def behind_older(execution: Mapping[str, Any], running: Iterable[Mapping[str, Any]]) -> bool:
    """Whether another of the `running` executions started before `execution`."""
    execution_id, started = execution["pipelineExecutionId"], execution["startTime"]
    return any(other["startTime"] < started for other in running if other["pipelineExecutionId"] != execution_id)
