"""The functions table (topology/functions.py) made into function units
(modules/function.py), with their triggers: the settings each function
reads (the contract's, functions/shared/contract/settings.py BY_PACKAGE), a
row's statement resources and shared statement builders get their values
here, from the environment and the other stacks' outputs. A new function
whose settings and resources are among these is a row in the table, its
package and its settings' line in the contract, and nothing here changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_resource_policy import CloudwatchLogResourcePolicy
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

from environments import EnvironmentConfig
from functions.shared.contract import settings as setting
from functions.shared.contract.stages import freeze_stage
from modules import iam
from modules.base_stack import BaseStack
from modules.core import CoreOutputs
from modules.function import FunctionSpec, PythonFunction
from modules.iam import Statement, policy_document
from modules.literal import literal, literal_json
from modules.pipeline import INCIDENT_WAIT_MINUTES, PipelineOutputs
from topology.functions import (
    APPROVAL_TIMEOUT_MINUTES,
    DORA_WINDOW_DAYS,
    PROBE_TIMEOUT_SECONDS,
    EventPattern,
    EveryTopic,
    Function,
    Grant,
    Schedule,
    wanted,
)
from topology.naming import DEPLOY_STAGES, METRICS_NAMESPACE, ResourceNames

# The Slack webhook's secret, which `ops setup-secrets` stores.
SLACK_WEBHOOK = "slack-webhook"


@dataclass(frozen=True)
class Wiring:
    """What a function of the monitoring stack may be given."""

    stack: BaseStack
    core: CoreOutputs
    pipeline: PipelineOutputs
    topics: Mapping[str, SnsTopic]
    dead_letters_arn: str

    @property
    def config(self) -> EnvironmentConfig:
        return self.stack.config

    @property
    def names(self) -> ResourceNames:
        return self.stack.names


def health_alarms(names: ResourceNames) -> dict[str, str]:
    """Each health alarm's name and the stage it rolls back."""
    return {names.health_alarm(target): stage for target, stage in DEPLOY_STAGES.items()}


def _window(w: Wiring, field: str) -> str | None:
    """A field of the change window, or None when the pipeline has none."""
    window = w.config.change_window
    return literal(getattr(window, field)) if window.enabled else None


# Each setting a function may read (the contract's names), by its value here; None leaves it out.
SETTINGS: dict[str, Callable[[Wiring], str | None]] = {
    setting.TABLE_NAME: lambda w: w.core.deployments_table_name,
    setting.TABLE_INDEX: lambda w: w.names.deployments_index,
    setting.PIPELINE_NAME: lambda w: w.pipeline.pipeline_name,
    setting.PIPELINE_ARN: lambda w: w.pipeline.pipeline_arn,
    # Where the rollback function announces its rollbacks.
    setting.TOPIC_ARN: lambda w: w.topics["rollbacks"].arn,
    setting.ENVIRONMENT: lambda w: w.config.name,
    setting.METRICS_NAMESPACE: lambda w: METRICS_NAMESPACE,
    setting.RECORD_TTL_DAYS: lambda w: str(w.config.deployment_record_ttl_days),
    setting.ROLLBACK_ALARMS: lambda w: literal_json(health_alarms(w.names)),
    setting.ARTIFACT_EXPIRATION_DAYS: lambda w: str(w.config.artifact_lifecycle.expiration_days),
    setting.TARGETS: lambda w: literal_json({t: w.config.deploy_target(t).health_check_url for t in DEPLOY_STAGES}),
    setting.TIMEOUT_SECONDS: lambda w: str(PROBE_TIMEOUT_SECONDS),
    # The change window's, left out when the pipeline has none.
    setting.WINDOW_CRON: lambda w: _window(w, "cron"),
    setting.WINDOW_TIME_ZONE: lambda w: _window(w, "time_zone"),
    setting.INCIDENT_WAIT_MINUTES: lambda w: str(INCIDENT_WAIT_MINUTES),
    setting.APPROVAL_TIMEOUT_MINUTES: lambda w: str(APPROVAL_TIMEOUT_MINUTES),
    setting.BAKE_MINUTES: lambda w: str(w.config.health_check_duration_minutes),
    setting.WINDOW_DAYS: lambda w: str(DORA_WINDOW_DAYS),
    setting.ALARM_TARGETS: lambda w: literal_json({w.names.health_alarm(t): t for t in DEPLOY_STAGES}),
    setting.SECRET_ID: lambda w: w.names.resource_secret(SLACK_WEBHOOK),
    setting.CALENDAR_NAME: lambda w: w.names.freeze_calendar,
    setting.FREEZE_STAGE: lambda w: freeze_stage(window=w.config.change_window.enabled),
    setting.DEPLOYMENTS_TOPIC_ARN: lambda w: w.topics["deployments"].arn,
}

# Each resource a row's Grant may name.
RESOURCES: dict[str, Callable[[Wiring], str]] = {
    "deployments_table": lambda w: w.core.deployments_table_arn,
    "pipeline": lambda w: w.pipeline.pipeline_arn,
    "pipeline_stages": lambda w: f"{w.pipeline.pipeline_arn}/*",
    "rollbacks_topic": lambda w: w.topics["rollbacks"].arn,
    "deployments_topic": lambda w: w.topics["deployments"].arn,
    # GetCalendarState's resource is the calendar's document ("document" in the
    # Service Authorization Reference for Systems Manager).
    "freeze_calendar": lambda w: w.stack.arn("ssm", f"document/{w.names.freeze_calendar}"),
    # "To allow the user to disable and enable transitions for a single stage
    # in a pipeline, you must specify the stage", as
    # arn:aws:codepipeline:us-west-2:111222333444:MyFirstPipeline/Staging
    # (CodePipeline user guide, identity-based policy examples).
    "freeze_stage": lambda w: f"{w.pipeline.pipeline_arn}/{freeze_stage(window=w.config.change_window.enabled)}",
    # "Secrets Manager automatically adds a hyphen and six random characters
    # after the secret name at the end of the ARN" (CreateSecret, Name,
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html).
    "slack_webhook": lambda w: w.stack.arn("secretsmanager", f"secret:{w.names.resource_secret(SLACK_WEBHOOK)}-??????"),
}

# Statements shared with other stacks (modules/iam.py), by the name a row uses.
BUILDERS: dict[str, Callable[[Wiring], Statement]] = {
    "read_deployment_history": lambda w: iam.read_deployment_history(
        w.core.deployments_table_arn, w.names.deployments_index
    ),
}

# Log groups the core stack makes (they outlive this stack), by purpose.
CORE_LOG_GROUPS: dict[str, Callable[[CoreOutputs], str]] = {"rollback": lambda core: core.rollback_log_group_name}


def _lookup(table: Mapping, key: str, row: Function, what: str):
    if key not in table:
        raise ValueError(
            f"topology/functions.py: function {row.function!r} names {what} {key!r}, which modules/lambdas.py "
            f"does not know: use one of {', '.join(sorted(table))}, or add it there"
        )
    return table[key]


def environment(row: Function, w: Wiring) -> dict[str, str]:
    """The function's settings (the contract's, for its package), each with
    its value; an optional one without a value is left out."""
    if row.package not in setting.BY_PACKAGE:
        raise ValueError(
            f"topology/functions.py: function {row.function!r} runs package {row.package!r}, which "
            "functions/shared/contract/settings.py does not know: add its settings to BY_PACKAGE"
        )
    # Every name is checked before any value is read.
    names = setting.BY_PACKAGE[row.package]
    unknown = [name for name in names if name not in SETTINGS]
    if unknown:
        raise ValueError(
            f"functions/shared/contract/settings.py: package {row.package!r} reads the setting {unknown[0]!r}, "
            f"which modules/lambdas.py gives no value: add it to SETTINGS there"
        )
    resolvers = {name: SETTINGS[name] for name in names}
    values = {name: resolve(w) for name, resolve in resolvers.items()}
    return {name: value for name, value in values.items() if value is not None}


def statements(row: Function, w: Wiring) -> list[Statement]:
    found = []
    for entry in row.statements:
        if isinstance(entry, Grant):
            resources = [_lookup(RESOURCES, key, row, "the resource")(w) for key in entry.resources]
            found.append(Statement(sid=entry.sid, actions=list(entry.actions), resources=resources))
        else:
            found.append(_lookup(BUILDERS, entry, row, "the statement builder")(w))
    return found


def spec(row: Function, w: Wiring) -> FunctionSpec:
    return FunctionSpec(
        row.function,
        purpose=row.purpose,
        timeout=row.timeout,
        environment=environment(row, w),
        role_statements=statements(row, w),
        publishes_metrics=row.publishes_metrics,
        package_name=row.package,
        log_group_name=_lookup(CORE_LOG_GROUPS, row.purpose, row, "a core log group for")(w.core)
        if row.log_group_in_core
        else None,
        log_group_id=row.log_group_id,
    )


def build(w: Wiring, rows: tuple[Function, ...]) -> dict[str, PythonFunction]:
    """A unit per row, with its trigger, by construct ID."""
    units = {}
    for row in (row for row in rows if wanted(w.config, row)):
        unit = PythonFunction(w.stack, spec(row, w), key_arn=w.core.kms_key_arn, dead_letters_arn=w.dead_letters_arn)
        trigger = row.trigger
        if isinstance(trigger, EveryTopic):
            for purpose, topic in w.topics.items():
                construct_id = f"{purpose}_topic_{trigger.subscription}"
                unit.subscribed_to(topic, construct_id, f"AllowThe{purpose.capitalize()}Topic")
        else:
            rule = _rule(w, unit, trigger)
            if isinstance(trigger, EventPattern) and trigger.to_pipeline_log:
                _events_to_pipeline_log(w, rule)
        if row.asynchronous:
            unit.asynchronous(
                row.asynchronous.construct_id,
                maximum_retry_attempts=row.asynchronous.maximum_retry_attempts,
                maximum_event_age_in_seconds=row.asynchronous.maximum_event_age_in_seconds,
            )
        units[row.function] = unit
    return units


def _rule(w: Wiring, unit: PythonFunction, trigger: Schedule | EventPattern) -> CloudwatchEventRule:
    """An EventBridge rule, on a schedule or an event pattern, that invokes the unit."""
    rule = CloudwatchEventRule(
        w.stack,
        trigger.rule,
        name=trigger.name(w.names),
        description=trigger.description,
        schedule_expression=trigger.expression if isinstance(trigger, Schedule) else None,
        event_pattern=literal_json(trigger.pattern(w.names)) if isinstance(trigger, EventPattern) else None,
    )
    unit.invoked_by_rule(rule, trigger.target)
    return rule


def _events_to_pipeline_log(w: Wiring, rule: CloudwatchEventRule) -> None:
    """The rule's events also land in /aws/codepipeline/kiro-pipeline-{env},
    so the runbook's `ops logs` shows the pipeline's history."""
    stack, names = w.stack, w.names
    CloudwatchEventTarget(
        stack, "pipeline_events_log_target", rule=rule.name, arn=w.core.pipeline_log_group_arn, target_id="pipeline_log"
    )
    log_group = stack.arn("logs", f"log-group:{names.pipeline_log_group}:*")
    CloudwatchLogResourcePolicy(
        stack,
        "pipeline_events_log_policy",
        policy_name=names.pipeline_events_rule,
        policy_document=policy_document(
            stack,
            "pipeline_events_log_policy_document",
            # Two statements, as in AWS's own EventBridge-to-Logs samples:
            # CreateLogStream carries no aws:SourceArn, so a SourceArn
            # condition on it would deny the stream and drop every event.
            [
                Statement(
                    sid="AllowEventBridgeToCreateStreams",
                    actions=["logs:CreateLogStream"],
                    resources=[log_group],
                    service_principals=["events.amazonaws.com", "delivery.logs.amazonaws.com"],
                ),
                Statement(
                    sid="AllowThisRuleToWrite",
                    actions=["logs:PutLogEvents"],
                    resources=[log_group],
                    service_principals=["events.amazonaws.com", "delivery.logs.amazonaws.com"],
                    conditions={("ArnEquals", "aws:SourceArn"): [rule.arn]},
                ),
            ],
        ).json,
    )
