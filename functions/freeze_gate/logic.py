"""What the freeze gate decides, from what it read: pure, no AWS.

A freeze is a span when the environment's change calendar (an SSM Change
Calendar of type DEFAULT_OPEN) is CLOSED: "During events, the state of a
DEFAULT_OPEN calendar is CLOSED" (Systems Manager user guide, "AWS Systems
Manager Change Calendar",
https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-change-calendar.html).
No CodePipeline rule reads a calendar, so the gate holds a release with the
inbound transition of the first production gate stage: "any subsequent
revisions do not continue past the disabled transition", and on re-enabling
"the pipeline starts running the latest revision through the stages after the
formerly disabled transition" (CodePipeline user guide, "Working with stage
transitions", https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html).
The change window and the incident gate are the entry conditions of the
stages after it, evaluated when a release enters them, after the freeze.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from functions.shared.contract.stages import GATE_STAGES

# The gate runs every minute; a freeze about to start within this lead is
# held now, so a release reaching the transition in the last minute before
# the freeze starts does not slip past it (the schedule's period plus margin).
LEAD = timedelta(minutes=2)
# Every reason this gate writes starts so: a transition disabled with another
# reason is someone else's hold, which the gate never re-enables. The
# "(freeze gate)" is there so that a person's own "Change freeze ..." is not
# taken for the gate's.
REASON_PREFIX = "Change freeze (freeze gate)"
# DisableStageTransition's reason: "Length Constraints: Minimum length of 1.
# Maximum length of 300. Pattern: [a-zA-Z0-9!@ \(\)\.\*\?\-]+" (API reference,
# https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_DisableStageTransition.html).
TRANSITION_REASON = re.compile(r"[a-zA-Z0-9!@ \(\)\.\*\?\-]{1,300}")


class Move(StrEnum):
    HOLD = "HOLD"  # disable the transition
    RELEASE = "RELEASE"  # enable it
    STAY = "STAY"  # nothing to change


@dataclass(frozen=True)
class Calendar:
    """GetCalendarState's answer: OPEN or CLOSED, and when that next changes
    (None: the calendar says no later change)."""

    state: str
    next_transition: datetime | None


@dataclass(frozen=True)
class Freeze:
    """The freeze in force (or starting within LEAD) and when it ends (None: not known)."""

    starts: datetime
    until: datetime | None


@dataclass(frozen=True)
class Decision:
    move: Move
    reason: str = ""
    why: str = ""


def freeze_now(now: datetime, calendar: Calendar) -> Freeze | None:
    """The freeze to enforce now: the calendar is CLOSED, or closes within LEAD."""
    if calendar.state == "CLOSED":
        return Freeze(now, calendar.next_transition)
    if calendar.next_transition is not None and calendar.next_transition - now <= LEAD:
        return Freeze(calendar.next_transition, None)
    return None


def transition_reason(until: datetime | None) -> str:
    """The transition's disabled reason: shown in the console, within the API's pattern."""
    end = f"until {until.astimezone(UTC):%Y-%m-%d %H.%M} UTC" if until else "in force"
    reason = f"{REASON_PREFIX} {end} (python -m ops freeze list)"
    if not TRANSITION_REASON.fullmatch(reason):  # pragma: no cover - a programming error
        raise ValueError(f"transition reason {reason!r} is outside DisableStageTransition's pattern")
    return reason


def ours(reason: str) -> bool:
    return reason.startswith(REASON_PREFIX)


_REASON_UNTIL = re.compile(r"until (\d{4}-\d{2}-\d{2}) (\d{2})\.(\d{2}) UTC")


def reason_until(reason: str) -> datetime | None:
    """The freeze end a reason of ours names (transition_reason's words);
    None for one "in force" with no known end, or a reason not ours."""
    found = _REASON_UNTIL.search(reason) if ours(reason) else None
    if found is None:
        return None
    day, hour, minute = found.groups()
    return datetime.fromisoformat(f"{day}T{hour}:{minute}:00+00:00")


def decide(freeze: Freeze | None, *, enabled: bool, reason: str, lifted: bool) -> Decision:
    """Hold during a freeze that was not lifted; release only a hold of ours."""
    if freeze is not None and not lifted:
        if enabled:
            return Decision(Move.HOLD, transition_reason(freeze.until), "a freeze is in force")
        return Decision(Move.STAY, why="already held" if ours(reason) else "held by someone else")
    if enabled:
        return Decision(Move.STAY, why="the freeze was lifted" if freeze else "no freeze")
    if not ours(reason):
        # Another hold (an engineer's, with its own reason) is left alone.
        return Decision(Move.STAY, why=f"held by someone else: {reason}")
    return Decision(Move.RELEASE, why="the freeze was lifted" if freeze else "the freeze ended")


def lift_key(prefix: str, until: datetime | None) -> str | None:
    """The ledger key of a lift of the freeze ending at `until` (a freeze with
    no known end cannot be lifted by key)."""
    return f"{prefix}{iso(until)}" if until else None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def past_the_freeze_point(states: list[dict], freeze_stage: str) -> list[str]:
    """Executions in the freeze stage or a later gate, not yet deploying: a
    disabled transition "does not" stop "revisions that were already running
    in the stages that come after" it (transitions guide)."""
    names = [s.get("stageName") for s in states]
    if freeze_stage not in names:
        return []
    after = names[names.index(freeze_stage) :]
    # Gate stages only: an execution in ProductionDeploy is deploying, past stopping by a freeze.
    gates = [n for n in after if n in GATE_STAGES]
    found = []
    for state in states:
        latest = state.get("latestExecution") or {}
        if state.get("stageName") in gates and latest.get("status") == "InProgress":
            found.append(latest["pipelineExecutionId"])
    return sorted(set(found))
