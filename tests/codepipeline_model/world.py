"""The scripted world a simulation runs in: alarm states over time, the
outcome and duration of each action run, the answers to approvals, commits
pushed, and anything else to do at a given time (API calls, pipeline updates).

Times are aware datetimes; the simulation works in whole minutes.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be aware datetimes")
    return moment.astimezone(UTC)


class Alarm:
    """One CloudWatch alarm's state over time."""

    def __init__(self, name: str, initial: str = "OK"):
        self.name = name
        self.changes: list[tuple[datetime, str]] = []
        self.initial = initial

    def set(self, state: str, at: datetime) -> Alarm:
        if state not in ALARM_STATES:
            raise ValueError(f"alarm state {state!r} is not one of {ALARM_STATES}")
        self.changes.append((_utc(at), state))
        self.changes.sort(key=lambda change: change[0])
        return self

    def state(self, at: datetime) -> str:
        current = self.initial
        for moment, state in self.changes:
            if moment > at:
                break
            current = state
        return current


@dataclass(frozen=True)
class Outcome:
    """One run of an action: its result after `duration`; `hang` runs until the
    CodeBuild `timeout` and then fails; `deployed` says a failed deploy still
    changed what runs on the target."""

    status: str = "Succeeded"
    duration: timedelta = timedelta(minutes=1)
    deployed: bool = False
    summary: str = ""


class ActionScript:
    """The outcomes of an action's runs, in order (each run takes the next;
    once they are used up every run succeeds after the default duration)."""

    def __init__(self, world: World, name: str):
        self.world, self.name = world, name
        self.outcomes: deque[Outcome] = deque()

    def succeed(self, after: timedelta = timedelta(minutes=1)) -> ActionScript:
        self.outcomes.append(Outcome("Succeeded", after))
        return self

    def fail(self, after: timedelta = timedelta(minutes=1), *, deployed: bool = False) -> ActionScript:
        self.outcomes.append(Outcome("Failed", after, deployed, "Build terminated with state: FAILED"))
        return self

    def hang(self, timeout: timedelta) -> ActionScript:
        """The build never finishes; CodeBuild stops it at its timeout."""
        self.outcomes.append(Outcome("Failed", timeout, False, "Build timed out"))
        return self

    def next(self) -> Outcome:
        return self.outcomes.popleft() if self.outcomes else Outcome(duration=self.world.default_duration)


@dataclass(frozen=True)
class Answer:
    status: str | None  # Approved, Rejected, or None: no answer (the approval times out)
    after: timedelta = timedelta(0)
    summary: str = ""


class ApprovalScript:
    """The answers to an approval action's runs, in order; a run with no
    answer scripted waits (for PutApprovalResult, or until it times out)."""

    def __init__(self, name: str):
        self.name = name
        self.answers: deque[Answer] = deque()

    def approve(self, after: timedelta = timedelta(minutes=1), summary: str = "approved") -> ApprovalScript:
        self.answers.append(Answer("Approved", after, summary))
        return self

    def reject(self, after: timedelta = timedelta(minutes=1), summary: str = "rejected") -> ApprovalScript:
        self.answers.append(Answer("Rejected", after, summary))
        return self

    def no_answer(self) -> ApprovalScript:
        self.answers.append(Answer(None))
        return self

    def next(self) -> Answer:
        return self.answers.popleft() if self.answers else Answer(None)


class World:
    """Everything outside CodePipeline that a scenario scripts."""

    def __init__(self, default_duration: timedelta = timedelta(minutes=1)):
        self.default_duration = default_duration
        self.alarms: dict[str, Alarm] = {}
        self.actions: dict[str, ActionScript] = {}
        self.approvals: dict[str, ApprovalScript] = {}
        self.rule_results: dict[str, str] = defaultdict(lambda: "Succeeded")  # other rule providers (LambdaInvoke)
        self.scheduled: list[tuple[datetime, int, Callable]] = []
        self._order = 0

    def alarm(self, name: str, initial: str | None = None) -> Alarm:
        alarm = self.alarms.setdefault(name, Alarm(name))
        if initial is not None:
            alarm.initial = initial
        return alarm

    def action(self, name: str) -> ActionScript:
        return self.actions.setdefault(name, ActionScript(self, name))

    def approval(self, name: str) -> ApprovalScript:
        return self.approvals.setdefault(name, ApprovalScript(name))

    def at(self, moment: datetime, do: Callable) -> World:
        """Call `do(simulation)` when the clock reaches `moment`."""
        self._order += 1
        self.scheduled.append((_utc(moment), self._order, do))
        self.scheduled.sort(key=lambda item: (item[0], item[1]))
        return self

    def push(self, commit: str, at: datetime) -> World:
        """A commit pushed to the source branch: a webhook starts an execution."""
        return self.at(at, lambda sim: sim.start_execution(commit, trigger_type="WebhookV2"))

    def update_pipeline(self, resource: dict, at: datetime) -> World:
        return self.at(at, lambda sim: sim.update_pipeline(resource))

    def due(self, until: datetime) -> list[Callable]:
        ready = [item for item in self.scheduled if item[0] <= until]
        self.scheduled = [item for item in self.scheduled if item[0] > until]
        return [do for _, _, do in ready]
