"""Executions of one pipeline on a simulated minute clock.

The simulation reads a pipeline declaration, runs executions through its
stages in a scripted `World`, asks `rules` for every decision, records a
`Timeline`, sends events to subscribers and answers API calls (`.client`).
Each minute: the world's scheduled items and alarm changes up to `now` take
effect, then the executions settle (every change that can happen at `now`
happens), then the events are delivered -- a subscriber may call the client,
whose effect settles at once.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import events as ev
from .client import ModelClient, ModelError
from .pipeline import ActionDecl, ConditionDecl, PipelineDecl, StageDecl, load_pipeline
from .rules import (
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    Mode,
    Readings,
    actions_to_rerun,
    alarm_bake_status,
    alarm_blocks,
    alarm_entry_status,
    alarm_event_due,
    approval_expired,
    approval_status,
    approval_timeout_status,
    artifacts_available,
    auto_retry_allowed,
    auto_rollback_target,
    condition_outcome,
    entry_condition_first,
    entry_failure_effect,
    failure_result_engages,
    next_to_enter,
    override,
    reported_version,
    retry_checks_entry,
    rollback_checks,
    rollback_revision,
    rule_checked_again,
    stage_locked,
    stage_started_at,
    stop_mode,
    target_changes,
    transition_holds,
    transition_lets_through,
    transition_resumes,
    update_effect,
    window_allows,
    window_rule_status,
)
from .world import Answer, Outcome, World

MINUTE = timedelta(minutes=1)
ACTIVE = (IN_PROGRESS, "Stopping")
ACTION_EVENT_STATE = {SUCCEEDED: "SUCCEEDED", FAILED: "FAILED", "Abandoned": "ABANDONED"}


def _minute(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be aware datetimes")
    moment = moment.astimezone(UTC)
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


@dataclass(eq=False)
class RuleRun:
    decl: Any
    id: str
    status: str = IN_PROGRESS
    first_checked: datetime | None = None
    changed: datetime | None = None


@dataclass(eq=False)
class ConditionRun:
    kind: str  # BEFORE_ENTRY | ON_SUCCESS
    decl: ConditionDecl
    started: datetime
    rules: dict[str, RuleRun]
    status: str = IN_PROGRESS
    changed: datetime | None = None


@dataclass(eq=False)
class ActionRun:
    id: str
    decl: ActionDecl
    execution: Execution
    stage: str
    attempt: int
    start: datetime
    version: int
    status: str = IN_PROGRESS
    end: datetime | None = None
    due: datetime | None = None
    outcome: Outcome | None = None
    answer: Answer | None = None
    token: str | None = None
    summary: str = ""
    updated_by: str = "codepipeline.amazonaws.com"

    @property
    def revision(self) -> str:
        return self.execution.revision


@dataclass(eq=False)
class StageRun:
    decl: StageDecl
    execution: Execution
    started: datetime
    status: str = IN_PROGRESS
    phase: str = "actions"  # entry | actions | success
    entry: ConditionRun | None = None
    success: ConditionRun | None = None
    actions: dict[str, ActionRun] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    auto_retries: int = 0
    manual_retries: int = 0
    retry_trigger: str | None = None
    late_entry: bool = False
    announced: bool = False
    ended: datetime | None = None


@dataclass(eq=False)
class Execution:
    id: str
    number: int
    revision: str
    version: int
    pipeline: PipelineDecl
    start: datetime
    stages: list[str]
    trigger_type: str
    trigger_detail: str = ""
    type: str = "STANDARD"
    rollback_target: str | None = None
    status: str = IN_PROGRESS
    summary: str = ""
    last_update: datetime | None = None
    position: int = 0
    run: StageRun | None = None
    runs: dict[str, StageRun] = field(default_factory=dict)
    attempt: int = 1
    stop: str | None = None
    stop_reason: str = ""
    source_done: bool = False
    artifacts_ok: bool = True
    source_action: str = "Source"
    # Left waiting for good at a re-enabled transition (transition rules).
    stranded: bool = False


@dataclass(eq=False)
class Transition:
    """A stage's inbound transition (enabled by default)."""

    enabled: bool = True
    changed_at: datetime | None = None
    changed_by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Deployment:
    time: datetime
    stage: str
    revision: str
    execution_id: str


class Timeline:
    """What ran when: action runs, stage runs, and what each deploy stage's
    target runs over time."""

    def __init__(self):
        self.actions: list[ActionRun] = []
        self.stage_runs: list[StageRun] = []
        self.deployments: list[Deployment] = []

    def running_on(self, stage: str, at: datetime) -> str | None:
        """The commit running on `stage`'s target at `at` (None: nothing deployed yet)."""
        current = None
        for d in self.deployments:
            if d.stage == stage and d.time <= at:
                current = d.revision
        return current

    def deployed_at(self, revision: str, stage: str) -> datetime | None:
        return next((d.time for d in self.deployments if d.stage == stage and d.revision == revision), None)

    def reached(self, revision: str, stage: str) -> datetime | None:
        """When a run of `stage` carrying `revision` first succeeded."""
        times = [
            r.ended
            for r in self.stage_runs
            if r.decl.name == stage and r.execution.revision == revision and r.status == SUCCEEDED
        ]
        return min(times) if times else None

    def entered(self, revision: str, stage: str) -> datetime | None:
        times = [r.started for r in self.stage_runs if r.decl.name == stage and r.execution.revision == revision]
        return min(times) if times else None

    def action_runs(self, action: str | None = None, stage: str | None = None) -> list[ActionRun]:
        return [
            a for a in self.actions if (action is None or a.decl.name == action) and (stage is None or a.stage == stage)
        ]


class Simulation:
    """One pipeline, its executions, on a clock that moves a minute at a time.

    `pipeline`: the synthesized resource dict (or a PipelineDecl). `deploys`:
    stage -> deploy action names whose success changes what the stage's target
    runs (default: the Build actions of each stage whose on_failure is ROLLBACK).
    `artifact_lifecycle_days`: the artifact bucket's expiry (None: never).
    """

    def __init__(
        self,
        pipeline: dict | PipelineDecl,
        world: World | None = None,
        *,
        start: datetime,
        readings: Readings | None = None,
        mutations: Iterable[str] = (),
        deploys: dict[str, Iterable[str]] | None = None,
        artifact_lifecycle_days: int | None = None,
        account: str = "123456789012",
        region: str = "us-east-1",
    ):
        # MODEL_MUTATIONS (comma-separated) switches mutations on in every
        # simulation of a process: how tests/test_model_mutations.py runs the
        # model's own unit tests against a mutation.
        extra = {m for m in os.environ.get("MODEL_MUTATIONS", "").split(",") if m}
        self.mode = Mode(readings or Readings(), frozenset(mutations) | extra)
        self.world = world or World()
        self.now = _minute(start)
        self.pipeline = pipeline if isinstance(pipeline, PipelineDecl) else load_pipeline(pipeline, self.mode)
        self.version = 1
        self.created = self.updated = self.now
        self.account, self.region = account, region
        self.artifact_lifecycle_days = artifact_lifecycle_days
        self._deploys = {k: set(v) for k, v in deploys.items()} if deploys is not None else None
        self.executions: list[Execution] = []
        self.transitions: dict[str, Transition] = {}
        self.timeline = Timeline()
        self.subscribers: list[Callable[[dict], Any]] = []
        self.events: list[dict] = []
        self._outbox: deque[dict] = deque()
        self._serial = itertools.count(1)
        self._numbers = itertools.count(1)
        self._alarms_seen_until = self.now
        self._commits = itertools.count(1)
        self.client = ModelClient(self)
        self._settle()

    # --- scripting and running ------------------------------------------------------

    def subscribe(self, handler: Callable[[dict], Any]) -> Callable[[dict], Any]:
        """`handler(event)` is called with every event, in order, after it happens."""
        self.subscribers.append(handler)
        return handler

    def session(self, others: dict[str, Any] | None = None) -> ModelSession:
        """A stand-in for boto3.Session: `.client("codepipeline")` is this model's
        client, other services come from `others`."""
        return ModelSession(self, others or {})

    def advance(self, to: datetime | None = None, **delta: float) -> Simulation:
        """Move the clock to `to` (or by `minutes=`, `hours=`, `days=`)."""
        target = _minute(to) if to is not None else self.now + timedelta(**delta)
        while self.now < target:
            self.now = self._next_moment(target)
            self._tick()
        return self

    def run_until(self, done: Callable[[Simulation], bool], limit: timedelta = timedelta(days=30)) -> Simulation:
        stop = self.now + limit
        while not done(self):
            if self.now >= stop:
                raise TimeoutError(f"not done by {stop.isoformat()}")
            self.now += MINUTE
            self._tick()
        return self

    def run_until_idle(self, limit: timedelta = timedelta(days=30)) -> Simulation:
        return self.run_until(lambda sim: not sim.active() and not sim.world.scheduled, limit)

    def active(self) -> list[Execution]:
        """Executions that may change by themselves as time passes (not those
        waiting at a disabled transition, or left there for good)."""
        return [e for e in self.executions if e.status in ACTIVE and not self._parked(e)]

    def _parked(self, e: Execution) -> bool:
        if e.run is not None or e.position >= len(e.stages):
            return False
        return e.stranded or not self.transition(e.stages[e.position]).enabled

    def execution(self, execution_id: str) -> Execution:
        found = next((e for e in self.executions if e.id == execution_id), None)
        if found is None:
            raise ModelError("PipelineExecutionNotFoundException", f"no execution {execution_id}")
        return found

    def deploy_actions(self, stage: str) -> set[str]:
        if self._deploys is not None:
            return self._deploys.get(stage, set())
        decl = self.pipeline.stage(stage)
        if decl is None or not decl.on_failure or decl.on_failure.result != "ROLLBACK":
            return set()
        return {a.name for a in decl.actions if a.category == "Build"}

    def _next_moment(self, target: datetime) -> datetime:
        """The next minute, or -- when nothing runs -- the next minute something is scripted."""
        if self.active():
            return self.now + MINUTE
        upcoming = [target] + [t for t, _, _ in self.world.scheduled]
        upcoming += [t for a in self.world.alarms.values() for t, _ in a.changes if t > self.now]
        return max(self.now + MINUTE, min(_minute(t) for t in upcoming))

    def _tick(self) -> None:
        self._alarm_events()
        for do in self.world.due(self.now):
            do(self)
        self._settle()

    def _alarm_events(self) -> None:
        for alarm in self.world.alarms.values():
            previous, previous_time = alarm.initial, self.created
            for moment, state in alarm.changes:
                if self._alarms_seen_until < moment <= self.now and alarm_event_due(self.mode, previous, state):
                    self._queue(
                        ev.alarm_event(
                            name=alarm.name,
                            state=state,
                            previous=previous,
                            time=moment,
                            previous_time=previous_time,
                            account=self.account,
                            region=self.region,
                        )
                    )
                if moment <= self.now:
                    previous, previous_time = state, moment
        self._alarms_seen_until = self.now

    # --- executions ---------------------------------------------------------------------

    def _uuid(self, kind: int) -> str:
        return f"{kind:08x}-0000-4000-8000-{next(self._serial):012x}"

    def start_execution(
        self, commit: str | None = None, *, trigger_type: str = "StartPipelineExecution", trigger_detail: str = ""
    ) -> Execution:
        """A new standard execution carrying `commit` (StartPipelineExecution or a push)."""
        source = next((a.name for s in self.pipeline.stages for a in s.actions if a.category == "Source"), "Source")
        e = Execution(
            id=self._uuid(1),
            number=next(self._numbers),
            revision=commit or f"commit-{next(self._commits)}",
            version=self.version,
            pipeline=self.pipeline,
            start=self.now,
            stages=[s.name for s in self.pipeline.stages],
            trigger_type=trigger_type,
            trigger_detail=trigger_detail or f"arn:aws:sts::{self.account}:assumed-role/model/simulation",
            source_action=source,
            last_update=self.now,
        )
        self.executions.append(e)
        self._emit_pipeline(e, "STARTED")
        self._settle()
        return e

    def settle(self) -> None:
        """Let every change that can happen at `now` happen, then deliver the events."""
        self._settle()

    def _settle(self) -> None:
        for _ in range(10_000):
            changed = self._admit()
            for e in list(self.executions):
                if e.status in ACTIVE:
                    changed = self._step(e) or changed
            if not changed:
                break
        else:
            raise RuntimeError("the model does not settle")
        self._deliver()

    def occupied(self, stage: str) -> bool:
        return any(e.run is not None and e.run.decl.name == stage and e.run.status in ACTIVE for e in self.executions)

    def _admit(self) -> bool:
        """Executions waiting before a free stage enter it (or are superseded)."""
        waiting: dict[str, list[Execution]] = defaultdict(list)
        for e in self.executions:
            if e.status == IN_PROGRESS and e.run is None and e.position < len(e.stages):
                waiting[e.stages[e.position]].append(e)
        changed = False
        for stage, queue in waiting.items():
            queue = [e for e in queue if not e.stranded]
            if not queue or transition_holds(self.mode, self.transition(stage).enabled):
                continue
            locked = stage_locked(self.mode, self.pipeline.execution_mode)
            if locked and self.occupied(stage):
                continue
            enter, superseded = next_to_enter(
                self.mode, self.pipeline.execution_mode if locked else "PARALLEL", sorted(queue, key=lambda e: e.number)
            )
            for e in superseded:
                self._finish(e, "Superseded", "SUPERSEDED")
            for e in enter:
                self._enter(e, stage)
            changed = changed or bool(enter or superseded)
        return changed

    def transition(self, stage: str) -> Transition:
        return self.transitions.setdefault(stage, Transition())

    def set_transition(self, stage: str, enabled: bool, by: str, reason: str = "") -> None:
        """Disable or enable `stage`'s inbound transition. Re-enabling decides,
        once, which executions that waited at it may go on."""
        t = self.transition(stage)
        if enabled and not t.enabled:
            waiting = sorted(
                (
                    e
                    for e in self.executions
                    if e.status == IN_PROGRESS and e.run is None and e.stages[e.position : e.position + 1] == [stage]
                ),
                key=lambda e: e.number,
            )
            _, stay = transition_lets_through(self.mode, waiting)
            if not transition_resumes(self.mode, self.now - t.changed_at):
                stay = waiting
            for e in stay:
                e.stranded = True
        if enabled != t.enabled:
            t.enabled, t.changed_at = enabled, self.now
        t.changed_by, t.reason = by, ("" if enabled else reason)
        self._settle()

    def _checks(self, e: Execution, kind: str) -> bool:
        return e.type == "STANDARD" or rollback_checks(self.mode, kind)

    def _new_condition(self, kind: str, decl: ConditionDecl) -> ConditionRun:
        return ConditionRun(kind, decl, self.now, {r.name: RuleRun(r, self._uuid(4)) for r in decl.rules})

    def _enter(self, e: Execution, stage: str) -> None:
        decl = e.pipeline.stage(stage)
        run = StageRun(decl, e, self.now)
        e.run, e.runs[stage], e.last_update = run, run, self.now
        self.timeline.stage_runs.append(run)
        if decl.before_entry and self._checks(e, "before_entry"):
            if entry_condition_first(self.mode):
                run.phase, run.entry = "entry", self._new_condition("BEFORE_ENTRY", decl.before_entry)
            else:
                run.late_entry = True
        if stage_started_at(self.mode) == "entry-condition":
            self._announce(run)

    def _announce(self, run: StageRun) -> None:
        if not run.announced:
            run.announced = True
            self._emit_stage(run, "STARTED")

    def _step(self, e: Execution) -> bool:
        if e.run is None:
            if e.position >= len(e.stages):
                self._finish(e, SUCCEEDED, "SUCCEEDED")
                return True
            return False
        run = e.run
        if run.status not in ACTIVE:
            return False
        if run.phase == "entry":
            return self._step_entry(run)
        if run.phase == "actions":
            return self._step_actions(run)
        return self._step_success(run)

    # --- conditions ------------------------------------------------------------------

    def _rule_status(self, r: RuleRun, kind: str) -> str:
        config = r.decl.configuration
        if r.first_checked is None or r.status == SUCCEEDED:  # the first check, or a check again
            r.first_checked = self.now
        if r.decl.provider == "CloudWatchAlarm":
            states = [s.strip() for s in config.get("AlarmStates", "ALARM").split(",") if s.strip()]
            blocked = alarm_blocks(self.mode, self.world.alarm(config["AlarmName"]).state(self.now), states)
            wait = timedelta(minutes=float(config.get("WaitTime") or 0))
            status_of = alarm_entry_status if kind == "BEFORE_ENTRY" else alarm_bake_status
            return status_of(self.mode, r.first_checked, blocked, wait, self.now)
        if r.decl.provider == "DeploymentWindow":
            return window_rule_status(
                self.mode, window_allows(self.mode, config["Cron"], config.get("TimeZone"), self.now)
            )
        return self.world.rule_results[r.decl.name]

    def _evaluate(self, condition: ConditionRun) -> bool:
        """Check the condition's rules at `now`; True if anything changed."""
        if condition.status != IN_PROGRESS:
            return False
        changed = False
        for r in condition.rules.values():
            if not rule_checked_again(self.mode, r.status):
                continue
            status = self._rule_status(r, condition.kind)
            if status != r.status:
                r.status, r.changed, changed = status, self.now, True
        outcome = condition_outcome(self.mode, [r.status for r in condition.rules.values()])
        if outcome != IN_PROGRESS:
            condition.status, condition.changed, changed = outcome, self.now, True
            for r in condition.rules.values():
                if r.status == IN_PROGRESS:
                    r.status, r.changed = "Abandoned", self.now
        return changed

    def _condition_now(self, decl: ConditionDecl) -> str:
        """A condition checked once, at `now`, without waiting (on-failure rules)."""
        statuses = []
        for r in decl.rules:
            config = r.configuration
            if r.provider == "CloudWatchAlarm":
                states = [s.strip() for s in config.get("AlarmStates", "ALARM").split(",") if s.strip()]
                blocked = alarm_blocks(self.mode, self.world.alarm(config["AlarmName"]).state(self.now), states)
                statuses.append(FAILED if blocked else SUCCEEDED)
            elif r.provider == "DeploymentWindow":
                open_now = window_allows(self.mode, config["Cron"], config.get("TimeZone"), self.now)
                statuses.append(SUCCEEDED if open_now else FAILED)
            else:
                statuses.append(self.world.rule_results[r.name])
        return condition_outcome(self.mode, statuses)

    def _step_entry(self, run: StageRun) -> bool:
        changed = self._evaluate(run.entry)
        status = run.entry.status
        if status == IN_PROGRESS:
            return changed
        if status in (SUCCEEDED, "Overridden"):
            if run.late_entry:
                self._after_actions(run)
            else:
                run.phase = "actions"
            return True
        effect, engage = entry_failure_effect(self.mode, run.entry.decl.result)
        if effect == "Skipped":
            e = run.execution
            run.status, run.ended = "Skipped", self.now
            e.run, e.position = None, e.position + 1
            return True
        self._stage_failed(run, "The entry condition failed", engage=engage)
        return True

    def _step_success(self, run: StageRun) -> bool:
        changed = self._evaluate(run.success)
        status = run.success.status
        if status == IN_PROGRESS:
            return changed
        if status in (SUCCEEDED, "Overridden"):
            self._stage_succeeded(run)
        else:
            result = run.success.decl.result
            self._stage_failed(run, "The on-success condition failed", engage=False, result=result)
        return True

    # --- actions ---------------------------------------------------------------------

    def _step_actions(self, run: StageRun) -> bool:
        e = run.execution
        changed = False
        for a in list(run.actions.values()):
            if a.status == IN_PROGRESS:
                changed = self._progress(a) or changed
        for order in run.decl.run_orders():
            group = [x for x in run.decl.actions if x.run_order == order]
            runs = [run.actions.get(x.name) for x in group]
            if any(r is not None and r.status == IN_PROGRESS for r in runs):
                return changed
            missing = [x for x, r in zip(group, runs, strict=True) if r is None]
            if missing and not e.stop:
                for x in missing:
                    self._start_action(run, x)
                return True
            if missing or any(r.status != SUCCEEDED for r in runs):
                if e.stop:
                    self._stage_stopped(run)
                else:
                    failed = next((r for r in runs if r is not None and r.status != SUCCEEDED), None)
                    self._stage_failed(run, failed.summary if failed else "An action failed")
                return True
        self._after_actions(run)
        return True

    def _after_actions(self, run: StageRun) -> None:
        if run.late_entry and run.entry is None:
            run.phase, run.entry = "entry", self._new_condition("BEFORE_ENTRY", run.decl.before_entry)
        elif run.decl.on_success and self._checks(run.execution, "on_success"):
            run.phase, run.success = "success", self._new_condition("ON_SUCCESS", run.decl.on_success)
        else:
            self._stage_succeeded(run)

    def _start_action(self, run: StageRun, decl: ActionDecl) -> None:
        e = run.execution
        run.attempts[decl.name] = run.attempts.get(decl.name, 0) + 1
        a = ActionRun(self._uuid(2), decl, e, run.decl.name, run.attempts[decl.name], self.now, e.version)
        if e.type == "ROLLBACK" and not e.artifacts_ok:
            a.outcome, a.due = Outcome("Failed", timedelta(0), summary="The target's artifacts have expired"), self.now
        elif decl.category == "Approval":
            a.token, a.answer = self._uuid(3), self.world.approval(decl.name).next()
            a.due = self.now + a.answer.after if a.answer.status else None
        else:
            a.outcome = self.world.action(decl.name).next()
            a.due = self.now + a.outcome.duration
        run.actions[decl.name] = a
        self.timeline.actions.append(a)
        self._announce(run)
        self._emit_action(a, "STARTED")
        if decl.name in self.deploy_actions(run.decl.name) and target_changes(self.mode, "start", IN_PROGRESS, False):
            self.timeline.deployments.append(Deployment(self.now, run.decl.name, e.revision, e.id))
        self._progress(a)

    def _progress(self, a: ActionRun) -> bool:
        if a.status != IN_PROGRESS:
            return False
        if a.decl.category == "Approval":
            if a.answer and a.answer.status and self.now >= a.due:
                self._complete(a, approval_status(self.mode, a.answer.status), a.answer.summary)
                return True
            if approval_expired(self.mode, a.start, self.now):
                self._complete(a, approval_timeout_status(self.mode), "The approval expired")
                return True
            return False
        if self.now >= a.due:
            self._complete(a, a.outcome.status, a.outcome.summary, deployed=a.outcome.deployed)
            return True
        return False

    def _complete(self, a: ActionRun, status: str, summary: str = "", deployed: bool = False) -> None:
        a.status, a.end, a.summary = status, self.now, summary
        self._emit_action(a, ACTION_EVENT_STATE[status])
        if a.decl.category == "Source" and status == SUCCEEDED:
            a.execution.source_done = True
        if a.decl.name in self.deploy_actions(a.stage) and target_changes(self.mode, "end", status, deployed):
            self.timeline.deployments.append(Deployment(self.now, a.stage, a.execution.revision, a.execution.id))

    # --- stage and execution outcomes --------------------------------------------------------

    def _stage_succeeded(self, run: StageRun) -> None:
        e = run.execution
        run.status, run.ended = SUCCEEDED, self.now
        self._announce(run)
        self._emit_stage(run, "SUCCEEDED")
        e.run, e.position, e.last_update = None, e.position + 1, self.now

    def _stage_failed(self, run: StageRun, summary: str, *, engage: bool = True, result: str | None = None) -> None:
        e, failure = run.execution, run.decl.on_failure
        if engage and result is None and failure and failure.result == "RETRY":
            if auto_retry_allowed(self.mode, run.auto_retries):
                self._retry(run, failure.retry_mode or "FAILED_ACTIONS", "AutomatedStageRetry")
                return
        run.status, run.ended = FAILED, self.now
        self._emit_stage(run, "FAILED")
        e.summary = summary
        self._finish(e, FAILED, "FAILED", keep_run=True)
        rolls_back = result == "ROLLBACK" or (
            engage
            and failure is not None
            and failure.result == "ROLLBACK"
            and failure_result_engages(self.mode, self._condition_now(failure.condition) if failure.condition else None)
        )
        if rolls_back and self.pipeline.execution_mode != "PARALLEL":
            target = auto_rollback_target(self.mode, self.successes(run.decl.name, exclude=e), e.type)
            if target is not None:
                self.start_rollback(run.decl.name, target, automated=True, failed=e)

    def _stage_stopped(self, run: StageRun) -> None:
        run.status, run.ended = "Stopped", self.now
        self._emit_stage(run, "STOPPED")
        self._finish(run.execution, "Stopped", "STOPPED", keep_run=True)

    def _finish(self, e: Execution, status: str, state: str, keep_run: bool = False) -> None:
        e.status, e.last_update = status, self.now
        if not keep_run:
            e.run = None
        self._emit_pipeline(e, state)

    def successes(self, stage: str, exclude: Execution | None = None) -> list[Execution]:
        """Standard executions of the current structure version that succeeded in `stage`, oldest first."""
        found = [
            x
            for x in self.executions
            if x is not exclude
            and x.type == "STANDARD"
            and x.version == self.version
            and x.runs.get(stage) is not None
            and x.runs[stage].status == SUCCEEDED
        ]
        return sorted(found, key=lambda x: x.runs[stage].ended)

    def start_rollback(self, stage: str, target: Execution, *, automated: bool, failed: Execution | None = None):
        newest = self.executions[-1].revision if self.executions else target.revision
        rollback = Execution(
            id=self._uuid(1),
            number=next(self._numbers),
            revision=rollback_revision(self.mode, target.revision, newest),
            version=self.version,
            pipeline=self.pipeline,
            start=self.now,
            stages=[stage],
            trigger_type="AutomatedRollback" if automated else "ManualRollback",
            trigger_detail=failed.id if failed else f"arn:aws:sts::{self.account}:assumed-role/model/simulation",
            type="ROLLBACK",
            rollback_target=target.id,
            source_done=True,
            artifacts_ok=artifacts_available(self.mode, target.start, self.now, self.artifact_lifecycle_days),
            last_update=self.now,
        )
        self.executions.append(rollback)
        self._emit_pipeline(rollback, "STARTED")
        self._enter(rollback, stage)
        return rollback

    def _retry(self, run: StageRun, retry_mode: str, trigger: str) -> None:
        e = run.execution
        for name in actions_to_rerun(self.mode, retry_mode, {n: a.status for n, a in run.actions.items()}):
            run.actions.pop(name, None)
        if trigger == "AutomatedStageRetry":
            run.auto_retries += 1
        else:
            run.manual_retries += 1
        run.retry_trigger, e.attempt = trigger, e.attempt + 1
        was_failed = e.status not in ACTIVE
        run.status, run.ended, run.phase = IN_PROGRESS, None, "actions"
        e.status, e.run, e.stop, e.last_update = IN_PROGRESS, run, None, self.now
        if run.decl.before_entry and self._checks(e, "before_entry") and retry_checks_entry(self.mode):
            run.phase, run.entry = "entry", self._new_condition("BEFORE_ENTRY", run.decl.before_entry)
        if was_failed:
            self._emit_pipeline(e, "RESUMED")
        self._emit_stage(run, "RESUMED")

    # --- calls that change state (the client checks them first) ------------------------------

    def retry(self, run: StageRun, retry_mode: str) -> None:
        self._retry(run, retry_mode, "ManualStageRetry")
        self._settle()

    def stop(self, e: Execution, abandon: bool, reason: str = "") -> None:
        e.stop_reason = reason
        run = e.run if e.run is not None and e.run.status in ACTIVE else None
        if stop_mode(self.mode, abandon) == "abandon" or run is None or run.phase != "actions":
            for a in run.actions.values() if run else ():
                if a.status == IN_PROGRESS:
                    self._complete(a, "Abandoned", "Abandoned by StopPipelineExecution")
            if run is not None:
                self._stage_stopped(run)
            else:
                self._finish(e, "Stopped", "STOPPED")
        else:
            e.stop, e.status, run.status = "wait", "Stopping", "Stopping"
            self._emit_pipeline(e, "STOPPING")
            self._emit_stage(run, "STOPPING")
        self._settle()

    def override(self, run: StageRun, condition_type: str) -> None:
        """Check with rules.override, then end the condition as Overridden."""
        condition = run.entry if condition_type == "BEFORE_ENTRY" else run.success
        latest = all(
            x.runs.get(run.decl.name) is None or x.runs[run.decl.name].started <= run.started for x in self.executions
        )
        error, status = override(
            self.mode, declared=condition is not None, status=condition.status if condition else None, latest=latest
        )
        if error:
            raise ModelError(*error)
        if status != "Overridden":
            return
        reopened = condition.status == FAILED
        condition.status, condition.changed = "Overridden", self.now
        for r in condition.rules.values():
            if r.status == IN_PROGRESS:
                r.status, r.changed = "Abandoned", self.now
        if reopened:  # the reading that allows overriding a failed condition
            e = run.execution
            run.status, run.ended, e.status, e.run = IN_PROGRESS, None, IN_PROGRESS, run
            self._emit_pipeline(e, "RESUMED")
            self._emit_stage(run, "RESUMED")
        self._settle()

    def answer_approval(self, a: ActionRun, status: str, summary: str) -> None:
        a.answer, a.due = Answer(status, timedelta(0), summary), self.now
        a.updated_by = f"arn:aws:sts::{self.account}:assumed-role/model/approver"
        self._settle()

    def update_pipeline(self, resource: dict | PipelineDecl) -> None:
        """A new pipeline structure (UpdatePipeline, or terraform apply)."""
        new = resource if isinstance(resource, PipelineDecl) else load_pipeline(resource, self.mode)
        self.version, in_flight = update_effect(self.mode, self.version)
        self.pipeline, self.updated = new, self.now
        if in_flight == "cancel":
            for e in [e for e in self.executions if e.status in ACTIVE]:
                self._cancel(e)
        self._settle()

    def _cancel(self, e: Execution) -> None:
        run = e.run if e.run is not None and e.run.status in ACTIVE else None
        if run is not None:
            for a in run.actions.values():
                if a.status == IN_PROGRESS:
                    a.status, a.end, a.summary = "Abandoned", self.now, "Canceled by a pipeline update"
                    self._emit_action(a, "CANCELED")
            run.status, run.ended = "Cancelled", self.now
            self._emit_stage(run, "CANCELED")
        self._finish(e, "Cancelled", "CANCELED", keep_run=True)

    # --- events --------------------------------------------------------------------

    def reported_version(self, e: Execution) -> int:
        return reported_version(self.mode, e.version, self.version)

    def _common(self, e: Execution) -> dict:
        return {
            "pipeline": e.pipeline.name,
            "execution_id": e.id,
            "version": self.reported_version(e),
            "time": self.now,
            "account": self.account,
            "region": self.region,
            "attempt": e.attempt,
        }

    def _emit_pipeline(self, e: Execution, state: str) -> None:
        self._queue(
            ev.pipeline_event(
                **self._common(e),
                state=state,
                start_time=e.start,
                trigger_type=e.trigger_type,
                trigger_detail=e.trigger_detail,
            )
        )

    def _emit_stage(self, run: StageRun, state: str) -> None:
        self._queue(
            ev.stage_event(**self._common(run.execution), stage=run.decl.name, state=state, start_time=run.started)
        )

    def _emit_action(self, a: ActionRun, state: str) -> None:
        self._queue(
            ev.action_event(
                **self._common(a.execution),
                action_execution_id=a.id,
                stage=a.stage,
                action=a.decl.name,
                state=state,
                start_time=a.start,
                type_id=a.decl.type_id(),
                summary=a.summary,
            )
        )

    def _queue(self, event: dict) -> None:
        self._outbox.append(event)

    def _deliver(self) -> None:
        while self._outbox:
            event = self._outbox.popleft()
            self.events.append(event)
            for handler in list(self.subscribers):
                handler(event)


class ModelSession:
    """`session.client("codepipeline")` is the model's client; other services
    are taken from `others` (a KeyError names a service the test did not give)."""

    def __init__(self, simulation: Simulation, others: dict[str, Any]):
        self._simulation, self._others = simulation, others

    def client(self, service_name: str, *args, **kwargs):
        if service_name == "codepipeline":
            return self._simulation.client
        return self._others[service_name]
