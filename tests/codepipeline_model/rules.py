"""CodePipeline V2's behaviour, one rule per function.

Each rule is registered with its label -- documented (a sentence of AWS's
documentation says so), inferred (follows from documented sentences, but no
sentence says it outright) or assumed (the documentation is silent) -- the page
it comes from and the sentence quoted. Where the documentation is silent or
contradicts itself the rule reads a switch of `Readings`, one value per
plausible reading, so a scenario can run under each (`Readings.combinations`).

Every rule lists mutations: a named wrong behaviour the model can be switched
into (`Mode(mutations={"rule-name:mutation"})`), so a scenario suite can show
it notices each.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from .cron import window

DOCUMENTED, INFERRED, ASSUMED = "documented", "inferred", "assumed"
IN_PROGRESS, SUCCEEDED, FAILED = "InProgress", "Succeeded", "Failed"

# --- pages --------------------------------------------------------------------
USER_GUIDE = "https://docs.aws.amazon.com/codepipeline/latest/userguide/"
API = "https://docs.aws.amazon.com/codepipeline/latest/APIReference/"
STAGE_CONDITIONS = USER_GUIDE + "stage-conditions.html"
HOW_CONDITIONS_WORK = USER_GUIDE + "concepts-how-it-works-conditions.html"
CLOUDWATCH_RULE_CN = "https://docs.amazonaws.cn/en_us/codepipeline/latest/userguide/rule-reference-CloudWatchAlarm.html"
CLOUDWATCH_RULE = USER_GUIDE + "rule-reference-CloudWatchAlarm.html"
WINDOW_RULE = USER_GUIDE + "rule-reference-DeploymentWindow.html"
WHATS_NEW = "https://aws.amazon.com/about-aws/whats-new/2024/08/aws-codepipeline-stage-level-conditions-implement-pipeline-gates"
HOW_EXECUTIONS_WORK = USER_GUIDE + "concepts-how-it-works.html"
STOP_PAGE = USER_GUIDE + "pipelines-stop.html"
APPROVALS = USER_GUIDE + "approvals-approve-or-reject.html"
EVENTS_PAGE = USER_GUIDE + "detect-state-changes-cloudwatch-events.html"
ROLLBACK_PAGE = USER_GUIDE + "stage-rollback.html"
AUTO_ROLLBACK_PAGE = USER_GUIDE + "stage-rollback-auto.html"
CLOUDWATCH_EVENTS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html"
TRANSITIONS_PAGE = USER_GUIDE + "transitions.html"

# --- switches: one per plausible reading; the first value is the default ---------
SWITCHES: dict[str, tuple] = {
    "on_success_fail_result_allowed": (True, False),
    "window_outside": ("wait", "fail"),
    "bake_reading": ("watch-whole-wait", "like-entry"),
    "approval_timeout_reported_as": ("Failed", "Abandoned"),
    "rollback_evaluates_entry_condition": (False, True),
    "rollback_evaluates_on_success": (False, True),
    "retry_reevaluates_entry_condition": (False, True),
    "entry_failure_engages_on_failure": (False, True),
    "in_flight_on_update": ("cancel", "continue"),
    "override_allowed_when": ("in-progress", "in-progress-or-failed"),
    "outdated_target_error": ("PipelineExecutionOutdatedException", "UnableToRollbackStageException"),
    "stage_started_event_at": ("entry-condition", "first-action"),
    "cron_month_numbers": ("1-12", "0-11"),
    "reenable_lets_through": ("queue", "latest"),
}


@dataclass(frozen=True)
class Readings:
    """One reading of every point the documentation leaves open."""

    on_success_fail_result_allowed: bool = True
    window_outside: str = "wait"
    bake_reading: str = "watch-whole-wait"
    approval_timeout_reported_as: str = "Failed"
    rollback_evaluates_entry_condition: bool = False
    rollback_evaluates_on_success: bool = False
    retry_reevaluates_entry_condition: bool = False
    entry_failure_engages_on_failure: bool = False
    in_flight_on_update: str = "cancel"
    override_allowed_when: str = "in-progress"
    outdated_target_error: str = "PipelineExecutionOutdatedException"
    stage_started_event_at: str = "entry-condition"
    cron_month_numbers: str = "1-12"
    reenable_lets_through: str = "queue"

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) not in SWITCHES[f.name]:
                raise ValueError(f"{f.name} must be one of {SWITCHES[f.name]}")

    def short(self) -> str:
        """The readings that differ from the defaults, for test ids."""
        changed = [f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name) != f.default]
        return ",".join(changed) or "defaults"

    @classmethod
    def combinations(cls, *switches: str, base: Readings | None = None) -> list[Readings]:
        """Every combination of the named switches' readings, the rest as `base`
        (default readings): what a scenario that depends on them runs under."""
        base = base or cls()
        unknown = set(switches) - set(SWITCHES)
        if unknown:
            raise KeyError(f"no such switch: {sorted(unknown)}")
        return [
            replace(base, **dict(zip(switches, values, strict=True)))
            for values in itertools.product(*(SWITCHES[s] for s in switches))
        ]


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    url: str
    quote: str
    function: Callable
    mutations: dict[str, str]
    switches: tuple[str, ...]


REGISTRY: dict[str, Rule] = {}


def rule(name: str, label: str, url: str, quote: str, *, mutations: dict[str, str], switches: Iterable[str] = ()):
    """Register the decorated function as the rule `name`."""
    if label not in (DOCUMENTED, INFERRED, ASSUMED):
        raise ValueError(label)

    def register(function: Callable) -> Callable:
        REGISTRY[name] = Rule(name, label, url, quote, function, dict(mutations), tuple(switches))
        function.rule_name = name
        return function

    return register


def mutations() -> dict[str, str]:
    """Every mutation as `rule-name:mutation` -> what the model then does wrong."""
    return {f"{r.name}:{m}": text for r in REGISTRY.values() for m, text in r.mutations.items()}


@dataclass(frozen=True)
class Mode:
    """The readings a simulation runs under, and the mutations switched on."""

    readings: Readings = Readings()
    mutations: frozenset[str] = frozenset()

    def __post_init__(self):
        unknown = set(self.mutations) - set(mutations())
        if unknown:
            raise KeyError(f"no such mutation: {sorted(unknown)}")

    def mutated(self, function: Callable, mutation: str) -> bool:
        return f"{function.rule_name}:{mutation}" in self.mutations


# --- conditions ------------------------------------------------------------------


@rule(
    "entry-before-actions",
    DOCUMENTED,
    STAGE_CONDITIONS,
    "Entry - The conditions for making checks that, if met, allow entry to a stage.",
    mutations={"after-actions": "the entry condition is evaluated after the stage's actions ran"},
)
def entry_condition_first(mode: Mode) -> bool:
    """An entry condition is checked before any action of the stage runs: it
    decides entry to the stage."""
    return not mode.mutated(entry_condition_first, "after-actions")


@rule(
    "condition-all-rules",
    DOCUMENTED,
    STAGE_CONDITIONS,
    "If all rules in a condition succeed, then the condition is met. [...] Therefore, if one rule fails in the "
    "condition, then the condition fails.",
    mutations={"any-rule": "the condition is met as soon as any one rule succeeds"},
)
def condition_outcome(mode: Mode, statuses: Iterable[str]) -> str:
    """A condition of several rules (a window and an alarm together): every
    rule must succeed; one failure fails it; otherwise it is still running."""
    statuses = list(statuses)
    if FAILED in statuses:
        return FAILED
    if mode.mutated(condition_outcome, "any-rule") and SUCCEEDED in statuses:
        return SUCCEEDED
    return SUCCEEDED if all(s == SUCCEEDED for s in statuses) else IN_PROGRESS


@rule(
    "condition-results",
    INFERRED,
    HOW_CONDITIONS_WORK,
    "Result options for On Success conditions are either rollback or fail. (The stage-conditions page, "
    + STAGE_CONDITIONS
    + ", says: On Success - The conditions for making checks for the stage when it succeeds. Rules are engaged "
    "with the following result options: Rollback; and: Entry - [...] Rules are engaged with the following result "
    "options: Fail or Skip; On Failure - [...] Rules are engaged with the following result option: Rollback)",
    mutations={"anything-goes": "any result of the API's enum is accepted for any condition kind"},
    switches=("on_success_fail_result_allowed",),
)
def allowed_results(mode: Mode, kind: str) -> set[str]:
    """The results each kind of condition may engage. On success, FAIL is in
    one page and not in the other (and the API enum lists ROLLBACK|FAIL|RETRY|SKIP
    everywhere): a switch. RETRY on failure comes from FailureConditions'
    retryConfiguration (API reference)."""
    if mode.mutated(allowed_results, "anything-goes"):
        return {"ROLLBACK", "FAIL", "RETRY", "SKIP"}
    on_success = {"ROLLBACK", "FAIL"} if mode.readings.on_success_fail_result_allowed else {"ROLLBACK"}
    return {"before_entry": {"FAIL", "SKIP"}, "on_failure": {"ROLLBACK", "RETRY"}, "on_success": on_success}[kind]


@rule(
    "condition-counts",
    DOCUMENTED,
    API + "API_BeforeEntryConditions.html",
    "Array Members: Fixed number of 1 item. (Condition.rules, " + API + "API_Condition.html: Array Members: "
    "Minimum number of 1 item. Maximum number of 5 items.)",
    mutations={"unbounded": "any number of conditions and rules is accepted"},
)
def count_problem(mode: Mode, conditions: int, rules: Iterable[int]) -> str | None:
    """A stage has exactly one condition of each kind it declares (entry,
    success, failure), each of 1 to 5 rules; the problem, or None."""
    if mode.mutated(count_problem, "unbounded"):
        return None
    if conditions != 1:
        return f"{conditions} conditions: exactly 1 is allowed"
    bad = [n for n in rules if not 1 <= n <= 5]
    return f"a condition of {bad[0]} rules: 1 to 5 are allowed" if bad else None


@rule(
    "entry-result-effect",
    INFERRED,
    STAGE_CONDITIONS,
    "You can specify a condition for a stage, such as checking for a specific variable in the pipeline run, and "
    "then engage a result for the condition, such as skipping the stage or failing the stage.",
    mutations={"skip-fails": "a SKIP result fails the stage instead of skipping it"},
    switches=("entry_failure_engages_on_failure",),
)
def entry_failure_effect(mode: Mode, result: str) -> tuple[str, bool]:
    """A failed entry condition skips (SKIP) or fails (FAIL) the stage; whether
    a stage failed at entry engages its on-failure result (RETRY, ROLLBACK) is
    not said: a switch. Returns (stage status, engage on-failure)."""
    if result == "SKIP" and not mode.mutated(entry_failure_effect, "skip-fails"):
        return "Skipped", False
    return FAILED, mode.readings.entry_failure_engages_on_failure


@rule(
    "failure-condition",
    INFERRED,
    HOW_CONDITIONS_WORK,
    "For each condition that specifies a rule, the rule is run. If the condition fails, the result is engaged. "
    "The stage performs the specified result only when the condition fails.",
    mutations={"ignored": "an on-failure condition's rules are ignored: the result always engages"},
)
def failure_result_engages(mode: Mode, condition_outcome_now: str | None) -> bool:
    """On failure with rules: the result (ROLLBACK) engages only if the
    condition fails; without rules it always engages. (The rules are checked
    once, at the failure: assumed.)"""
    if condition_outcome_now is None or mode.mutated(failure_result_engages, "ignored"):
        return True
    return condition_outcome_now == FAILED


# --- rules: DeploymentWindow and CloudWatchAlarm ----------------------------------------


@rule(
    "deployment-window-cron",
    DOCUMENTED,
    WINDOW_RULE,
    "The expression that defines the days and times when the deployment will be allowed. Cron expressions are "
    "comprised of 6 required fields and one optional field separated by white space.",
    mutations={
        "ignore-time-zone": "the cron is read in UTC whatever the TimeZone",
        "monday-is-one": "day-of-week 1 is Monday (the page: 1-7 or SUN-SAT)",
    },
    switches=("cron_month_numbers",),
)
def window_allows(mode: Mode, cron: str, time_zone: str | None, moment: datetime) -> bool:
    """Whether `moment` is inside the window: a window is the set of local
    minutes the cron matches in TimeZone. The China-region copy of the page
    gives months as 0-11, the global one as 1-12: a switch."""
    zone = "UTC" if mode.mutated(window_allows, "ignore-time-zone") else time_zone
    return window(
        cron,
        zone,
        month_base=0 if mode.readings.cron_month_numbers == "0-11" else 1,
        monday_is_one=mode.mutated(window_allows, "monday-is-one"),
    ).allows(moment)


@rule(
    "deployment-window-waits",
    INFERRED,
    CLOUDWATCH_RULE_CN,
    "In cases where the DeploymentWindow rule and the CloudWatchAlarm rule are contained together in an entry "
    "condition, it is possible that the CloudWatchAlarm alarm might succeed before the deployment window for the "
    "DeploymentWindow rule opens.",
    mutations={"always-open": "the DeploymentWindow rule succeeds outside the window"},
    switches=("window_outside",),
)
def window_rule_status(mode: Mode, open_now: bool) -> str:
    """Outside the window the rule waits, in progress, for the window to open
    (what the sentence implies: the alarm can succeed *before* the window
    opens); the other reading fails it at once."""
    if open_now or mode.mutated(window_rule_status, "always-open"):
        return SUCCEEDED
    return IN_PROGRESS if mode.readings.window_outside == "wait" else FAILED


@rule(
    "alarm-states",
    INFERRED,
    CLOUDWATCH_RULE,
    "The desired CloudWatch alarm states for the rule to monitor. Valid values are ALARM, OK, and INSUFFICIENT_DATA.",
    mutations={"insufficient-data-blocks": "INSUFFICIENT_DATA blocks as if it were listed in AlarmStates"},
)
def alarm_blocks(mode: Mode, state: str, alarm_states: Iterable[str]) -> bool:
    """The rule fails (or waits) while the alarm is in one of AlarmStates; any
    other state -- INSUFFICIENT_DATA when only ALARM is listed -- passes."""
    states = set(alarm_states)
    if mode.mutated(alarm_blocks, "insufficient-data-blocks"):
        states.add("INSUFFICIENT_DATA")
    return state in states


def _wait_for_clear(first_checked: datetime, blocked: bool, wait: timedelta, now: datetime) -> str:
    if not blocked:
        return SUCCEEDED
    return FAILED if now - first_checked >= wait else IN_PROGRESS


@rule(
    "alarm-entry-wait",
    DOCUMENTED,
    CLOUDWATCH_RULE_CN,
    "For the Entry condition, this is the amount of time CodePipeline will wait if the alarm is in ALARM state "
    "when it is first evaluated. If the alarm is in OK state when the rule is first checked, the rule will "
    "immediately succeed.",
    mutations={
        "no-wait": "an alarm in ALARM at the first check fails the rule at once",
        "ignore-alarm": "the alarm rule always succeeds",
    },
)
def alarm_entry_status(mode: Mode, first_checked: datetime, blocked: bool, wait: timedelta, now: datetime) -> str:
    """Entry: clear at the first check succeeds at once; otherwise wait up to
    WaitTime minutes for the alarm to clear, then fail."""
    if mode.mutated(alarm_entry_status, "ignore-alarm"):
        return SUCCEEDED
    if mode.mutated(alarm_entry_status, "no-wait"):
        wait = timedelta(0)
    return _wait_for_clear(first_checked, blocked, wait, now)


@rule(
    "alarm-bake",
    INFERRED,
    WHATS_NEW,
    "For example, you can configure a condition to be evaluated when all the actions in a stage have "
    "successfully completed, and roll back the changes if a CloudWatch alarm goes into ALARM state within 60 "
    "minutes. (Rule reference: The wait time in minutes to allow for a state change before running the rule "
    "result.)",
    mutations={"ignore-alarm": "the on-success alarm rule always succeeds"},
    switches=("bake_reading",),
)
def alarm_bake_status(mode: Mode, started: datetime, blocked: bool, wait: timedelta, now: datetime) -> str:
    """On success: the alarm is watched for WaitTime minutes and the rule fails
    the moment it is in AlarmStates (the What's New example); the other
    reading treats it like the entry rule (wait for it to clear)."""
    if mode.mutated(alarm_bake_status, "ignore-alarm"):
        return SUCCEEDED
    if mode.readings.bake_reading == "like-entry":
        return _wait_for_clear(started, blocked, wait, now)
    if blocked:
        return FAILED
    return SUCCEEDED if now - started >= wait else IN_PROGRESS


@rule(
    "alarm-not-rechecked",
    DOCUMENTED,
    CLOUDWATCH_RULE_CN,
    "After the deployment window opens, CodePipeline does not check the CloudWatchAlarm alarm again. This can "
    "result in an alarm state when the pipeline execution enters the stage.",
    mutations={"recheck": "a rule that succeeded is checked again while the other rules are pending"},
)
def rule_checked_again(mode: Mode, status: str) -> bool:
    """A rule that has succeeded stays succeeded while the condition's other
    rules (the window) are still pending: it is not checked again."""
    return status == IN_PROGRESS or (status == SUCCEEDED and mode.mutated(rule_checked_again, "recheck"))


# --- executions, stages, approvals ----------------------------------------------------


@rule(
    "execution-order",
    DOCUMENTED,
    HOW_EXECUTIONS_WORK,
    "QUEUED mode: Executions are processed one by one in the order that they are queued. [...] SUPERSEDED mode: "
    "A more recent execution can overtake an older one.",
    mutations={"newest-first": "in QUEUED mode the newest waiting execution enters first"},
)
def next_to_enter(mode: Mode, execution_mode: str, waiting: list) -> tuple[list, list]:
    """Of the executions waiting (oldest first) for a free stage, which enter
    and which are superseded. PARALLEL: all enter."""
    if execution_mode == "PARALLEL":
        return list(waiting), []
    if execution_mode == "SUPERSEDED":
        return waiting[-1:], waiting[:-1]
    return (waiting[-1:] if mode.mutated(next_to_enter, "newest-first") else waiting[:1]), []


@rule(
    "stage-lock",
    DOCUMENTED,
    STOP_PAGE,
    "When a pipeline execution starts to run through a pipeline, it enters one stage at a time and locks the "
    "stage while all action executions in the stage are running.",
    mutations={"no-lock": "a stage holds any number of executions at once"},
)
def stage_locked(mode: Mode, execution_mode: str) -> bool:
    """A stage holds one execution at a time (not in PARALLEL mode, where
    executions run independently). Assumed: the lock covers the stage's entry
    and on-success conditions too, so an execution waiting on a window or a
    bake holds the stage."""
    return execution_mode != "PARALLEL" and not mode.mutated(stage_locked, "no-lock")


@rule(
    "approval-result",
    DOCUMENTED,
    APPROVALS,
    "If an approver rejects the action, or if no approval response is received within seven days of the "
    'pipeline stopping for the approval action, the pipeline status becomes "Failed."',
    mutations={"reject-succeeds": "a rejected approval lets the stage go on"},
)
def approval_status(mode: Mode, answer: str) -> str:
    """Approved: the action succeeds. Rejected: the action fails, so the stage
    and the execution fail."""
    if answer == "Approved" or mode.mutated(approval_status, "reject-succeeds"):
        return SUCCEEDED
    return FAILED


@rule(
    "approval-timeout",
    DOCUMENTED,
    APPROVALS,
    "If an approver rejects the action, or if no approval response is received within seven days of the "
    'pipeline stopping for the approval action, the pipeline status becomes "Failed."',
    mutations={"six-days": "an approval times out after six days", "never": "an approval never times out"},
)
def approval_expired(mode: Mode, started: datetime, now: datetime) -> bool:
    """An approval left unanswered for seven days ends the wait."""
    if mode.mutated(approval_expired, "never"):
        return False
    return now - started >= timedelta(days=6 if mode.mutated(approval_expired, "six-days") else 7)


@rule(
    "approval-timeout-report",
    ASSUMED,
    EVENTS_PAGE,
    "For Approval actions, the FAILED state means the action was either rejected by the reviewer or failed due "
    "to an incorrect action configuration. (The archived page's action states; a time-out is not named.)",
    mutations={"succeeds": "a timed-out approval is reported as succeeded"},
    switches=("approval_timeout_reported_as",),
)
def approval_timeout_status(mode: Mode) -> str:
    """How a timed-out approval action is reported (its execution status and
    event state) is not documented; the stage fails either way."""
    if mode.mutated(approval_timeout_status, "succeeds"):
        return SUCCEEDED
    return mode.readings.approval_timeout_reported_as


@rule(
    "stop-execution",
    DOCUMENTED,
    HOW_EXECUTIONS_WORK,
    "Stop and wait: All in-progress action executions are allowed to complete, and subsequent actions are not "
    "started. [...] Stop and abandon: All in-progress action executions are abandoned and do not complete, and "
    "subsequent actions are not started.",
    mutations={"abandon-waits": "stop-and-abandon waits for the in-progress actions"},
)
def stop_mode(mode: Mode, abandon: bool) -> str:
    """'abandon' ends in-progress actions now; 'wait' lets them finish."""
    return "abandon" if abandon and not mode.mutated(stop_mode, "abandon-waits") else "wait"


@rule(
    "stage-started-event",
    ASSUMED,
    EVENTS_PAGE,
    "The stage is currently running. (The archived page's STARTED stage state; when a stage with an entry "
    "condition counts as started is not said.)",
    mutations={"never": "no stage STARTED event is sent"},
    switches=("stage_started_event_at",),
)
def stage_started_at(mode: Mode) -> str | None:
    """When the stage STARTED event is sent: when the entry condition starts,
    or when the first action starts."""
    if mode.mutated(stage_started_at, "never"):
        return None
    return mode.readings.stage_started_event_at


@rule(
    "deploy-target",
    ASSUMED,
    HOW_EXECUTIONS_WORK,
    "CodePipeline tracks each pipeline execution that starts when a pipeline is started manually or a change is "
    "made to the source code. (What runs on the target is not CodePipeline's to say.)",
    mutations={"on-start": "the target runs the new commit as soon as the deploy action starts"},
)
def target_changes(mode: Mode, moment: str, status: str, deployed: bool) -> bool:
    """The target runs an execution's commit once its deploy action succeeds
    (or fails having deployed, when the world says so)."""
    if mode.mutated(target_changes, "on-start"):
        return moment == "start"
    return moment == "end" and (status == SUCCEEDED or deployed)


# --- retry -----------------------------------------------------------------------


@rule(
    "automatic-retry",
    DOCUMENTED,
    API + "API_RetryStageMetadata.html",
    "One attempt is allowed for automatic stage retry on failure.",
    mutations={"retry-twice": "a failed stage is retried automatically twice", "never": "no automatic retry"},
)
def auto_retry_allowed(mode: Mode, attempts_so_far: int) -> bool:
    """RETRY on failure retries the stage once. Assumed: the automatic retry
    sends a stage RESUMED event and no FAILED for the first failure."""
    if mode.mutated(auto_retry_allowed, "never"):
        return False
    return attempts_so_far < (2 if mode.mutated(auto_retry_allowed, "retry-twice") else 1)


@rule(
    "retry-mode",
    DOCUMENTED,
    API + "API_RetryConfiguration.html",
    "The method that you want to configure for automatic stage retry on stage failure. You can specify to retry "
    "only failed action in the stage or all actions in the stage.",
    mutations={"all-actions-always": "FAILED_ACTIONS reruns every action"},
)
def actions_to_rerun(mode: Mode, retry_mode: str, statuses: dict[str, str]) -> set[str]:
    """FAILED_ACTIONS reruns the failed (and abandoned) actions, ALL_ACTIONS
    every action from the first."""
    if retry_mode == "ALL_ACTIONS" or mode.mutated(actions_to_rerun, "all-actions-always"):
        return set(statuses)
    return {name for name, status in statuses.items() if status in (FAILED, "Abandoned")}


@rule(
    "manual-retry",
    DOCUMENTED,
    API + "API_RetryStageExecution.html",
    "Before a stage can be retried, it must either have all actions failed or some actions failed and some succeeded.",
    mutations={"retry-anything": "any stage run can be retried"},
)
def retry_refusal(mode: Mode, *, status: str, has_failed_actions: bool, latest: bool, same_version: bool):
    """The error RetryStageExecution raises, or None. NotLatest... and the
    structure change come from the exceptions' meanings in botocore's model."""
    if mode.mutated(retry_refusal, "retry-anything"):
        return None
    if not latest:
        return "NotLatestPipelineExecutionException", "The stage has failed in a later run of the pipeline"
    if status not in (FAILED, "Stopped") or not has_failed_actions or not same_version:
        return "StageNotRetryableException", "Unable to retry: no failed actions, or the structure changed"
    return None


@rule(
    "retry-entry-condition",
    ASSUMED,
    API + "API_RetryStageExecution.html",
    "You can retry a stage that has failed without having to run a pipeline again from the beginning. (Whether "
    "the entry condition is checked again is not said.)",
    mutations={"never-on-reading": "a retry never checks the entry condition, whatever the reading"},
    switches=("retry_reevaluates_entry_condition",),
)
def retry_checks_entry(mode: Mode) -> bool:
    """Whether a retried stage (manual or automatic) evaluates its entry
    condition again before rerunning actions."""
    return mode.readings.retry_reevaluates_entry_condition and not mode.mutated(retry_checks_entry, "never-on-reading")


# --- rollback --------------------------------------------------------------------


@rule(
    "rollback-preconditions",
    DOCUMENTED,
    ROLLBACK_PAGE,
    "You can roll back a stage to an execution that was successful in that stage. [...] You cannot roll back a "
    "source stage. The pipeline can only roll back to a previous execution if the previous execution was started "
    "in the current pipeline structure version. You cannot roll back to a target execution ID that is a rollback "
    "execution type. (Execution modes page: For pipelines in PARALLEL mode, stage rollback is not available.)",
    mutations={
        "ignore-structure-version": "a target from an older structure version is accepted",
        "allow-rollback-target": "a rollback execution is accepted as target",
        "allow-source-stage": "a source stage can be rolled back",
    },
)
def rollback_refusal(
    mode: Mode,
    *,
    source_stage: bool,
    execution_mode: str,
    target_type: str,
    target_succeeded: bool,
    target_version: int,
    current_version: int,
    stage_running: bool,
) -> tuple[str, str] | None:
    """Why RollbackStage refuses, as (error code, message), or None. The codes
    for the cases other than an outdated target follow UnableToRollbackStage-
    Exception's meaning in botocore's model ("the stage is currently running,
    or an incorrect target pipeline execution ID was provided")."""
    unable = "UnableToRollbackStageException"
    if execution_mode == "PARALLEL":
        return unable, "stage rollback is not available in PARALLEL mode"
    if source_stage and not mode.mutated(rollback_refusal, "allow-source-stage"):
        return unable, "a source stage cannot be rolled back"
    if stage_running:
        return unable, "the stage is currently running"
    if target_type == "ROLLBACK" and not mode.mutated(rollback_refusal, "allow-rollback-target"):
        return unable, "the target is a rollback execution"
    if target_version != current_version and not mode.mutated(rollback_refusal, "ignore-structure-version"):
        return "outdated", "the target was started in another pipeline structure version"
    if not target_succeeded:
        return unable, "the target did not succeed in the stage"
    return None


@rule(
    "rollback-outdated-error",
    INFERRED,
    API + "API_RollbackStage.html",
    "PipelineExecutionOutdatedException: The specified pipeline execution is outdated and cannot be used as a "
    "target pipeline execution for rollback. UnableToRollbackStageException: Unable to roll back the stage. The "
    "cause might be if the pipeline version has changed since the target pipeline execution was deployed, the "
    "stage is currently running, or an incorrect target pipeline execution ID was provided.",
    mutations={"validation": "an outdated target raises ValidationException"},
    switches=("outdated_target_error",),
)
def outdated_target_error(mode: Mode) -> str:
    """Both exceptions' meanings cover a target from an older structure
    version: which one RollbackStage raises is a switch."""
    if mode.mutated(outdated_target_error, "validation"):
        return "ValidationException"
    return mode.readings.outdated_target_error


@rule(
    "rollback-reuses-target",
    DOCUMENTED,
    ROLLBACK_PAGE,
    "CodePipeline will use the variables and artifacts from the execution to which it is rolling back. (Same "
    "page: The target pipeline execution chosen for rollback is used to retrieve source revisions and variables.)",
    mutations={"latest-revision": "a rollback deploys the newest commit instead of the target's"},
)
def rollback_revision(mode: Mode, target_revision: str, newest_revision: str) -> str:
    """A rollback execution carries its target's source revision."""
    return newest_revision if mode.mutated(rollback_revision, "latest-revision") else target_revision


@rule(
    "artifact-expiry",
    ASSUMED,
    ROLLBACK_PAGE,
    "CodePipeline will use the variables and artifacts from the execution to which it is rolling back. (What "
    "happens when the artifact store's lifecycle has deleted them is not said.)",
    mutations={"never-expire": "artifacts never expire"},
)
def artifacts_available(mode: Mode, target_started: datetime, now: datetime, lifecycle_days: int | None) -> bool:
    """A rollback whose target's artifacts are older than the artifact
    bucket's lifecycle (days) cannot fetch them: its actions fail."""
    if lifecycle_days is None or mode.mutated(artifacts_available, "never-expire"):
        return True
    return now - target_started < timedelta(days=lifecycle_days)


@rule(
    "rollback-conditions",
    ASSUMED,
    ROLLBACK_PAGE,
    "The rolled back operation will result in a new execution. (Whether that execution evaluates the stage's "
    "entry and on-success conditions is not said.)",
    mutations={"never-on-reading": "a rollback never evaluates conditions, whatever the readings"},
    switches=("rollback_evaluates_entry_condition", "rollback_evaluates_on_success"),
)
def rollback_checks(mode: Mode, kind: str) -> bool:
    """Whether a rollback execution evaluates the rolled-back stage's entry
    (`before_entry`) or bake (`on_success`) condition."""
    if mode.mutated(rollback_checks, "never-on-reading"):
        return False
    if kind == "before_entry":
        return mode.readings.rollback_evaluates_entry_condition
    return mode.readings.rollback_evaluates_on_success


@rule(
    "on-failure-rollback",
    DOCUMENTED,
    AUTO_ROLLBACK_PAGE,
    "When the stage fails, the stage is rolled back to the most recent successful execution. [...] your pipeline "
    "stage will auto-rollback only after there is a successful pipeline execution in the pipeline stage.",
    mutations={"oldest-success": "rolls back to the oldest successful execution", "never": "no automatic rollback"},
)
def auto_rollback_target(mode: Mode, candidates: list, failed_type: str = "STANDARD"):
    """The target of an automatic rollback: of the standard executions that
    succeeded in the stage in the current structure version (oldest first),
    the most recent; None when there is none. Assumed: a failed rollback
    execution is not itself rolled back (else two expired targets would
    roll back each other forever)."""
    if not candidates or failed_type == "ROLLBACK" or mode.mutated(auto_rollback_target, "never"):
        return None
    return candidates[0] if mode.mutated(auto_rollback_target, "oldest-success") else candidates[-1]


# --- overrides -------------------------------------------------------------------


@rule(
    "override-stage-condition",
    INFERRED,
    WHATS_NEW,
    "Customers can also override a condition that blocks a pipeline execution if it fails a condition "
    "evaluation to allow the pipeline execution to enter or exit a stage. (Stage conditions page: You can "
    "override rule conditions at pipeline runtime.)",
    mutations={"ignored": "an accepted override changes nothing"},
    switches=("override_allowed_when",),
)
def override(mode: Mode, *, declared: bool, status: str | None, latest: bool) -> tuple[tuple[str, str] | None, str]:
    """OverrideStageCondition (BEFORE_ENTRY or ON_SUCCESS) ends the condition
    as Overridden -- its rules still running are abandoned -- and lets the
    execution enter (or leave) the stage. Allowed while the condition is in
    progress; whether also after it failed is a switch. Returns (error, the
    condition's new status)."""
    if not latest:
        return ("NotLatestPipelineExecutionException", "a later execution has run the stage"), status or ""
    allowed = {IN_PROGRESS} | ({FAILED} if mode.readings.override_allowed_when == "in-progress-or-failed" else set())
    if not declared or status not in allowed:
        return ("ConditionNotOverridableException", "the condition is not in a state that can be overridden"), (
            status or ""
        )
    return None, (status if mode.mutated(override, "ignored") else "Overridden")


# --- structure version -----------------------------------------------------------


@rule(
    "structure-version",
    DOCUMENTED,
    EVENTS_PAGE,
    "The version entry under pipeline detail shows the pipeline structure version number. (GetPipelineExecution's "
    "pipelineVersion: The version number of the pipeline with the specified pipeline execution.)",
    mutations={"current-version": "events and APIs give the pipeline's current version, not the execution's"},
)
def reported_version(mode: Mode, execution_version: int, current_version: int) -> int:
    """An execution reports the structure version it started in."""
    return current_version if mode.mutated(reported_version, "current-version") else execution_version


@rule(
    "update-in-flight",
    INFERRED,
    EVENTS_PAGE,
    "CANCELED: The pipeline execution was canceled because the pipeline structure was updated. (Archived page; "
    "PipelineExecution.status in the API reference: Cancelled: The pipeline's definition was updated before the "
    "pipeline execution could be completed.)",
    mutations={"version-not-incremented": "an update keeps the structure version"},
    switches=("in_flight_on_update",),
)
def update_effect(mode: Mode, version: int) -> tuple[int, str]:
    """An update makes a new structure version; executions in flight are
    canceled (one reading) or go on in the structure they started in."""
    new = version if mode.mutated(update_effect, "version-not-incremented") else version + 1
    return new, mode.readings.in_flight_on_update


@rule(
    "succeeded-in-stage-filter",
    DOCUMENTED,
    API + "API_ListPipelineExecutions.html",
    "When applying the filter for pipeline executions that have succeeded in the stage, the operation returns all "
    "executions in the current pipeline version beginning on February 1, 2024.",
    mutations={"all-versions": "the filter returns executions of every structure version"},
)
def listed_as_succeeded(mode: Mode, execution_version: int, current_version: int) -> bool:
    """ListPipelineExecutions' succeededInStage filter lists only executions of
    the current structure version (so a rollback target picked from it is one
    RollbackStage accepts)."""
    return execution_version == current_version or mode.mutated(listed_as_succeeded, "all-versions")


@rule(
    "alarm-event",
    DOCUMENTED,
    CLOUDWATCH_EVENTS,
    "CloudWatch sends events to Amazon EventBridge whenever a CloudWatch alarm is created, updated, deleted, or "
    "changes alarm state.",
    mutations={"every-set": "an event is sent even when the state did not change"},
)
def alarm_event_due(mode: Mode, previous: str, new: str) -> bool:
    """An alarm state change event is sent when the state changes."""
    return previous != new or mode.mutated(alarm_event_due, "every-set")


# --- stage transitions -------------------------------------------------------------


@rule(
    "transition-holds",
    DOCUMENTED,
    TRANSITIONS_PAGE,
    "Any revisions that were already running in the stages that come after the disabled transition continue "
    "through the pipeline, but any subsequent revisions do not continue past the disabled transition.",
    mutations={"ignored": "a disabled inbound transition lets executions into the stage"},
)
def transition_holds(mode: Mode, enabled: bool) -> bool:
    """An execution waits before a stage whose inbound transition is disabled;
    one already in the stage (or past it) goes on."""
    return not enabled and not mode.mutated(transition_holds, "ignored")


# The documented limit after which a re-enabled transition lets nothing through.
TRANSITION_RESUME_LIMIT = timedelta(days=30)


@rule(
    "transition-resumes",
    DOCUMENTED,
    TRANSITIONS_PAGE,
    "When you re-enable a disabled transition, the latest revision runs through the remaining stages of the "
    "pipeline unless more than 30 days have passed. Pipeline execution won't resume for a transition that has "
    "been disabled more than 30 days unless a new change is detected or you manually rerun the pipeline.",
    mutations={"always": "a transition disabled for more than 30 days still lets the waiting execution through"},
)
def transition_resumes(mode: Mode, disabled_for: timedelta) -> bool:
    """Whether re-enabling lets the executions waiting at the transition go on."""
    return disabled_for <= TRANSITION_RESUME_LIMIT or mode.mutated(transition_resumes, "always")


@rule(
    "transition-which-resume",
    ASSUMED,
    TRANSITIONS_PAGE,
    "If any revisions have been run through the earlier stages after the transition was disabled, in a few "
    "moments, the pipeline starts running the latest revision through the stages after the formerly disabled "
    "transition. (Written for the one execution mode of V1 pipelines; silent on QUEUED mode.)",
    mutations={"oldest-only": "only the oldest waiting execution goes on"},
    switches=("reenable_lets_through",),
)
def transition_lets_through(mode: Mode, waiting: list) -> tuple[list, list]:
    """Of the executions waiting (oldest first) at a re-enabled transition,
    which go on (by the execution mode's order) and which are left waiting for
    good: all of them in turn (a queue), or the latest only."""
    if mode.mutated(transition_lets_through, "oldest-only"):
        return waiting[:1], waiting[1:]
    if mode.readings.reenable_lets_through == "latest":
        return waiting[-1:], waiting[:-1]
    return list(waiting), []
