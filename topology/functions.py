"""The Lambda functions of `monitoring-{env}`: one row per function, as
projects.py is for the CodeBuild projects. A row says what the function is
for, the package it runs (functions/<package>/handler.py), what invokes it
(a schedule, an event pattern, the notification topics), the IAM statements
of its role and the concurrency it reserves when the environment opts in
(`reserve_function_concurrency`). The settings it reads are its package's,
in the contract (functions/shared/contract/settings.py BY_PACKAGE), their one
home. modules/lambdas.py turns each row into a function unit
(modules/function.py); adding a function is a row here, its package under
functions/ and its settings' line in the contract.

A row names its statements' resources; their values, and the settings'
(other stacks' outputs, known at deploy time), are resolved in one place,
modules/lambdas.py (SETTINGS, RESOURCES, BUILDERS).

Why reservations are opt-in: "When a function has reserved concurrency, no
other function can use that concurrency", and "You can reserve up to the
Unreserved account concurrency value that is shown, minus 100 for functions
that don't have reserved concurrency" (Lambda developer guide, "Configuring
reserved concurrency for a function",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
"New AWS accounts have reduced concurrency and memory quotas" (Lambda quotas,
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), as
low as 10: there, any reservation makes CreateFunction fail. Without one, the
functions share the account's unreserved pool; the rollback function's claim
(a conditional write) keeps one rollback per alarm without a reservation of 1.

Pure data: no cdktf, no boto3, nothing of this repository outside topology/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from topology.naming import DEPLOY_STAGES, ResourceNames

# How often the age of running executions is published (the duration alarm's period).
AGE_SCHEDULE_MINUTES = 5
# The health probe's round: one status per target per minute, the health alarms' period.
PROBE_PERIOD_SECONDS = 60
# How long one health request may take (Route 53 allows 4 s to connect and 2 s more).
PROBE_TIMEOUT_SECONDS = 6
# "If the approval action is not approved or rejected within seven days ...
# the action fails" (CodePipeline user guide, manual approvals).
APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60
# The window of the published DORA metrics (`python -m ops dora --days` reads any).
DORA_WINDOW_DAYS = 30
PIPELINE_EVENTS = ("CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change")


def rate_expression(minutes: int) -> str:
    """EventBridge wants `rate(1 minute)` but `rate(5 minutes)`."""
    if minutes < 1:
        raise ValueError(f"a schedule rate must be at least 1 minute, got {minutes}")
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


def pipeline_state_changes(names: ResourceNames) -> dict:
    """This pipeline's execution and stage state changes."""
    return {
        "source": ["aws.codepipeline"],
        "detail-type": list(PIPELINE_EVENTS),
        "detail": {"pipeline": [names.pipeline]},
    }


def health_alarm_changes(*states: str) -> Callable[[ResourceNames], dict]:
    """The event pattern of this environment's health alarms entering `states`."""

    def pattern(names: ResourceNames) -> dict:
        alarms = sorted(names.health_alarm(target) for target in DEPLOY_STAGES)
        return {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": alarms, "state": {"value": list(states)}},
        }

    return pattern


@dataclass(frozen=True, kw_only=True)
class Grant:
    """A statement of the function's role: `actions` on resources the stack
    knows by these keys (modules/lambdas.py RESOURCES)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """An EventBridge rule on a schedule. `target` names the rule's target
    (its target ID, and the construct IDs `<target>_target`, `<target>_permission`)."""

    rule: str  # the rule's construct ID
    target: str
    name: Callable[[ResourceNames], str]
    description: str
    expression: str


@dataclass(frozen=True, kw_only=True)
class EventPattern:
    """An EventBridge rule on an event pattern, named and identified as Schedule."""

    rule: str
    target: str
    name: Callable[[ResourceNames], str]
    description: str
    pattern: Callable[[ResourceNames], dict]
    # The same events also land in the pipeline's log group (for `ops logs`).
    to_pipeline_log: bool = False


@dataclass(frozen=True, kw_only=True)
class EveryTopic:
    """Subscribed to every notification topic (topology/topics.py): the
    construct IDs are `<purpose>_topic_<subscription>`, the permissions'
    statement IDs `AllowThe<Purpose>Topic`."""

    subscription: str


@dataclass(frozen=True, kw_only=True)
class Asynchronous:
    """How Lambda treats a failed or throttled asynchronous invocation."""

    construct_id: str
    maximum_retry_attempts: int
    maximum_event_age_in_seconds: int


@dataclass(frozen=True, kw_only=True)
class Function:
    # The construct ID (`aws_lambda_function.<function>`, `<function>_role`...).
    function: str
    # Its name is `kiro-pipeline-{env}-{purpose}`, its log group /aws/lambda/ and that name.
    purpose: str
    does: str
    # Its package under functions/: one per function, its own zip, whose
    # handler.py's `handler` is the entry point (tests/test_architecture.py).
    # Lambda's handler name "is derived from: The name of the file in which the
    # Lambda handler function is located. The name of the Python handler
    # function", and "the Lambda runtime passes two arguments to the function
    # handler" (event, context) (Lambda developer guide, "Lambda function
    # handler in Python", https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html).
    # That a file in folders of the zip is named by Python's import name,
    # `functions.<package>.handler`, is assumed (the guide shows a file at the
    # zip's root); tests/test_packaging.py imports each handler from its zip so.
    package: str
    timeout: int
    trigger: Schedule | EventPattern | EveryTopic
    # The environment variables it reads are its package's settings in the
    # contract (functions/shared/contract/settings.py BY_PACKAGE, their one
    # home); their values: modules/lambdas.py SETTINGS.
    # Its own statements, besides those every function has (logs, key, dead
    # letters, traces): a Grant, or the name of a shared builder (modules/lambdas.py BUILDERS).
    statements: tuple[Grant | str, ...] = ()
    # Whether it may PutMetricData in the project's namespace.
    publishes_metrics: bool = True
    # Its log group's construct ID (default `<function>_log_group`), or None
    # with log_group_in_core: the core stack made it (it outlives this stack).
    log_group_id: str | None = None
    log_group_in_core: bool = False
    asynchronous: Asynchronous | None = None
    reserved_concurrency: int
    # A boolean field of the environment's configuration that must be on for
    # the function to exist (None: always). The field's name is the link, as
    # projects.Command's: tests/test_topology.py holds it to a field.
    only_if: str | None = None


FUNCTIONS = (
    Function(
        function="health_probe",
        purpose="health-probe",
        does="Checks every target's health URL each minute from this region and publishes the status the "
        "health alarms watch (any region; Route 53's health-check metrics exist only in us-east-1).",
        package="health_probe",
        # Two attempts of PROBE_TIMEOUT_SECONDS in parallel, then the publish with its retries.
        timeout=60,
        trigger=Schedule(
            rule="health_probe_schedule",
            target="health_probe",
            name=lambda names: names.health_probe_schedule,
            description="Checks each deploy target's health URL for the health alarms",
            expression=rate_expression(PROBE_PERIOD_SECONDS // 60),
        ),
        # A round is worth nothing a minute later: no retries of a failed or
        # throttled round (the next one is due), nothing kept for hours.
        asynchronous=Asynchronous(
            construct_id="health_probe_invoke_config",
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=PROBE_PERIOD_SECONDS,
        ),
        # One round at a time: a late round only repeats the same truth.
        reserved_concurrency=1,
    ),
    Function(
        function="rollback",
        purpose="rollback",
        does="Rolls back the stage whose health alarm entered ALARM, once per alarm.",
        package="rollback",
        timeout=900,
        trigger=EventPattern(
            rule="alarm_rollback_rule",
            target="alarm_rollback",
            name=lambda names: names.alarm_rollback_rule,
            description="Health alarms of this environment entering ALARM start a stage rollback",
            pattern=health_alarm_changes("ALARM"),
        ),
        statements=(
            Grant(
                sid="RecordRollbacks",
                actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                resources=("deployments_table",),
            ),
            "read_deployment_history",
            Grant(
                sid="RollBackStages",
                actions=("codepipeline:GetPipelineState", "codepipeline:RollbackStage"),
                resources=("pipeline", "pipeline_stages"),
            ),
            Grant(sid="AnnounceRollbacks", actions=("sns:Publish",), resources=("rollbacks_topic",)),
        ),
        # The recorder counts rollbacks from the rollback executions.
        publishes_metrics=False,
        log_group_in_core=True,
        # One rollback at a time per environment.
        reserved_concurrency=1,
    ),
    Function(
        function="deployment_recorder",
        purpose="deployment-recorder",
        does="Records every pipeline execution and stage change, and publishes the outcome metrics.",
        package="deployment_recorder",
        timeout=60,
        trigger=EventPattern(
            rule="pipeline_events_rule",
            target="pipeline_events",
            name=lambda names: names.pipeline_events_rule,
            description="This pipeline's execution and stage state changes",
            pattern=pipeline_state_changes,
            to_pipeline_log=True,
        ),
        statements=(
            Grant(
                sid="RecordDeployments",
                actions=("dynamodb:GetItem", "dynamodb:UpdateItem"),
                resources=("deployments_table",),
            ),
            # The commit (GetPipelineExecution) and its author time (the
            # Source action's output variables) for lead time.
            Grant(
                sid="LookUpCommits",
                actions=("codepipeline:GetPipelineExecution", "codepipeline:ListActionExecutions"),
                resources=("pipeline",),
            ),
        ),
        log_group_id="recorder_log_group",
        # Pipeline events arrive in bursts (a stage's actions change together).
        reserved_concurrency=5,
    ),
    Function(
        function="execution_age",
        purpose="execution-age",
        does="Publishes the age of the oldest running execution, known waits excepted, for the duration alarm.",
        package="execution_age",
        timeout=60,
        trigger=Schedule(
            rule="execution_age_schedule",
            target="execution_age",
            name=lambda names: names.execution_age_schedule,
            description="Publishes the age of the oldest running execution for the duration alarm",
            expression=rate_expression(AGE_SCHEDULE_MINUTES),
        ),
        statements=(
            # GetPipelineState: which condition holds an execution, since when.
            Grant(
                sid="ReadRunningExecutions",
                actions=(
                    "codepipeline:GetPipelineState",
                    "codepipeline:ListActionExecutions",
                    "codepipeline:ListPipelineExecutions",
                ),
                resources=("pipeline",),
            ),
        ),
        # A five-minute schedule.
        reserved_concurrency=1,
    ),
    Function(
        function="dora_metrics",
        purpose="dora-metrics",
        does="Publishes the DORA metrics hourly, from the deployment records, for the dashboard "
        "(the same computation as `python -m ops dora`).",
        package="dora_metrics",
        timeout=120,
        trigger=Schedule(
            rule="dora_metrics_schedule",
            target="dora_metrics",
            name=lambda names: names.dora_metrics_schedule,
            description="Publishes the DORA metrics of the last days from the deployment records",
            expression="rate(1 hour)",
        ),
        statements=("read_deployment_history",),
        # An hourly schedule.
        reserved_concurrency=1,
    ),
    Function(
        function="incident_recorder",
        purpose="incident-recorder",
        does="Records each health alarm's ALARM -> OK (or INSUFFICIENT_DATA) window as an incident, for the "
        "DORA metrics (change failures and their recovery).",
        package="incident_recorder",
        timeout=30,
        trigger=EventPattern(
            rule="incident_rule",
            target="incident_recorder",
            name=lambda names: names.incident_rule,
            description="Health alarms of this environment entering ALARM, OK or INSUFFICIENT_DATA: the incident "
            "ledger",
            # Leaving ALARM for INSUFFICIENT_DATA ends an incident too (its end
            # unknown); without it the incident stays open until it expires.
            # CloudWatch "sends events to Amazon EventBridge whenever a
            # CloudWatch alarm is created, updated, deleted, or changes alarm
            # state" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/
            # monitoring/cloudwatch-and-eventbridge.html), so each of the three
            # states reaches the rule as its own event.
            pattern=health_alarm_changes("ALARM", "OK", "INSUFFICIENT_DATA"),
        ),
        statements=(Grant(sid="RecordIncidents", actions=("dynamodb:UpdateItem",), resources=("deployments_table",)),),
        publishes_metrics=False,
        # Three health alarms may change state together.
        reserved_concurrency=2,
    ),
    Function(
        function="slack_notifier",
        purpose="slack-notifier",
        does="Posts every topic's notifications to Slack, with the webhook that `ops setup-secrets` stores, "
        "read at run time (never in state).",
        package="slack_notifier",
        timeout=30,
        trigger=EveryTopic(subscription="slack"),
        statements=(
            Grant(sid="ReadSlackWebhook", actions=("secretsmanager:GetSecretValue",), resources=("slack_webhook",)),
            Grant(
                sid="PostEachMessageOnce",
                actions=("dynamodb:DeleteItem", "dynamodb:PutItem"),
                resources=("deployments_table",),
            ),
        ),
        publishes_metrics=False,
        # Three topics may publish together.
        reserved_concurrency=2,
    ),
    Function(
        function="freeze_gate",
        purpose="freeze-gate",
        does="Holds production releases while the change calendar is CLOSED (a one-off freeze), by the inbound "
        "transition of the first production gate stage; lets them through when it opens or the freeze is lifted.",
        package="freeze_gate",
        timeout=60,
        # Every minute, reading the calendar's state each time: a lost or late
        # calendar event cannot leave a freeze unenforced, and the gate holds a
        # freeze that starts within the next two minutes (freeze_gate/logic.py LEAD).
        trigger=Schedule(
            rule="freeze_gate_schedule",
            target="freeze_gate",
            name=lambda names: names.freeze_gate_schedule,
            description="Holds production releases during the change calendar's freezes",
            expression=rate_expression(1),
        ),
        statements=(
            Grant(sid="ReadTheChangeCalendar", actions=("ssm:GetCalendarState",), resources=("freeze_calendar",)),
            Grant(sid="ReadThePipelineState", actions=("codepipeline:GetPipelineState",), resources=("pipeline",)),
            Grant(
                sid="HoldAndReleaseTheFreezeStage",
                actions=("codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition"),
                resources=("freeze_stage",),
            ),
            Grant(
                sid="RecordFreezesAndReadLifts",
                actions=("dynamodb:GetItem", "dynamodb:PutItem"),
                resources=("deployments_table",),
            ),
            Grant(sid="AnnounceFreezes", actions=("sns:Publish",), resources=("deployments_topic",)),
        ),
        publishes_metrics=False,
        # A one-minute schedule.
        reserved_concurrency=1,
        only_if="respect_freezes",
    ),
)

# A function's purpose and the concurrency it reserves when the environment
# opts in (ops/preflight.py compares their sum with the account's limit).
RESERVED_CONCURRENCY: dict[str, int] = {row.purpose: row.reserved_concurrency for row in FUNCTIONS}


class OptsIn(Protocol):
    """What this module reads of an environment's configuration."""

    reserve_function_concurrency: bool
    respect_freezes: bool


def wanted(config: OptsIn, row: Function) -> bool:
    """Whether the environment has this function (its `only_if` field is on)."""
    return row.only_if is None or bool(getattr(config, row.only_if))


def reserved_concurrency(config: OptsIn, purpose: str) -> int | None:
    """What the function `purpose` reserves in this environment: None (no
    reservation, the attribute left out) unless the environment opts in."""
    if purpose not in RESERVED_CONCURRENCY:
        raise KeyError(f"no function {purpose!r} in topology/functions.py: add its row (purpose and concurrency)")
    return RESERVED_CONCURRENCY[purpose] if config.reserve_function_concurrency else None


def reserved_total(config: OptsIn) -> int:
    """The concurrency one environment's functions reserve in its account:
    0 unless it opts in (what preflight compares with the account's limit)."""
    if not config.reserve_function_concurrency:
        return 0
    return sum(row.reserved_concurrency for row in FUNCTIONS if wanted(config, row))
