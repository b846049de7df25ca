"""monitoring-{env}: notifications, alarms, the rollback and deployment-recorder
functions, their EventBridge rules, and the dashboard."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_resource_policy import CloudwatchLogResourcePolicy
from cdktf_cdktf_provider_aws.codestarnotifications_notification_rule import (
    CodestarnotificationsNotificationRule,
    CodestarnotificationsNotificationRuleTarget,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from environments import EnvironmentConfig
from functions.health_probe.logic import ROUNDS_METRIC as PROBE_ROUNDS_METRIC
from functions.health_probe.logic import STATUS_METRIC as PROBE_STATUS_METRIC
from functions.shared import stages
from modules import iam
from modules.alarms import AlarmFactory, Metric
from modules.base_stack import BaseStack
from modules.core import CoreOutputs
from modules.function import FunctionSpec, PythonFunction
from modules.iam import Statement, account_root, policy_document
from modules.literal import literal, literal_json
from modules.pipeline import INCIDENT_WAIT_MINUTES, PipelineOutputs
from modules.topic import NotificationTopic, TopicSpec
from topology import naming
from topology.naming import METRICS_NAMESPACE

# The recorder's outcome metrics, read from the recorder itself. Its modules
# import `shared.*` as the Lambda zips lay them out (functions/ is the zips'
# root), so functions/ goes on the import path, as ops/__init__.py does.
_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.append(_FUNCTIONS)
from functions.deployment_recorder.logic import OUTCOME_METRICS  # noqa: E402 - needs functions/ on the path

# How often the age of running executions is published (the duration alarm's period).
AGE_SCHEDULE_MINUTES = 5
# "If the approval action is not approved or rejected within seven days ...
# the action fails" (CodePipeline user guide, manual approvals).
APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60
# The health probe's round: one status per target per minute, the health alarms' period.
PROBE_PERIOD_SECONDS = 60
# How long one health request may take (Route 53 allows 4 s to connect and 2 s more).
PROBE_TIMEOUT_SECONDS = 6
TOPICS = ("deployments", "approvals", "rollbacks")
NOTIFICATION_EVENTS = {
    "deployments": [
        "codepipeline-pipeline-pipeline-execution-started",
        "codepipeline-pipeline-pipeline-execution-succeeded",
        "codepipeline-pipeline-pipeline-execution-failed",
    ],
    "approvals": ["codepipeline-pipeline-manual-approval-needed"],
}
PIPELINE_EVENTS = ["CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change"]


def rate_expression(minutes: int) -> str:
    """EventBridge wants `rate(1 minute)` but `rate(5 minutes)`."""
    if minutes < 1:
        raise ValueError(f"a schedule rate must be at least 1 minute, got {minutes}")
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


# The alarm factory's comparison operators, by the sign a table row uses.
COMPARISONS = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
}


@dataclass(frozen=True)
class AlarmRule:
    suffix: str
    description: str
    comparison: str  # a key of COMPARISONS
    threshold: float
    topic: str  # the topic its actions notify
    period_seconds: int | None = None  # None: the environment's polling interval


@dataclass(frozen=True)
class PipelineMetric:
    name: str
    statistic: str
    panel: str  # the dashboard graph it is drawn in
    alarm: AlarmRule | None = None
    # An AWS service's metric names its own namespace and dimensions; the
    # project's metrics (the default) are KiroPipeline's, by Environment.
    namespace: str = METRICS_NAMESPACE
    dimensions: tuple[tuple[str, str], ...] | None = None


# The window of the published DORA metrics (`python -m ops dora --days` reads any).
DORA_WINDOW_DAYS = 30
# The DORA figures, published hourly by the dora-metrics function over the
# last DORA_WINDOW_DAYS (functions/shared/dora.py); graphed, not alarmed.
DORA_METRICS = (
    PipelineMetric("DeploymentFrequency", "Maximum", "DORA: deployment frequency (per day)"),
    PipelineMetric("LeadTimeForChanges", "Maximum", "DORA: lead time and recovery time (median, seconds)"),
    PipelineMetric("FailedDeploymentRecoveryTime", "Maximum", "DORA: lead time and recovery time (median, seconds)"),
    PipelineMetric("ChangeFailureRate", "Maximum", "DORA: change failure and rework rates (%)"),
    PipelineMetric("DeploymentReworkRate", "Maximum", "DORA: change failure and rework rates (%)"),
)


class MonitoringStack(BaseStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs, pipeline: PipelineOutputs):
        super().__init__(scope, "monitoring", config)
        self.core, self.pipeline = core, pipeline
        self.topic_units = {purpose: self._topic(purpose) for purpose in TOPICS}
        self.topics = {purpose: unit.topic for purpose, unit in self.topic_units.items()}
        self._notification_rules()
        self.dead_letters = SqsQueue(
            self,
            "functions_dlq",
            name=self.names.functions_dlq,
            kms_master_key_id=core.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=14 * 24 * 3600,
        )
        # Every dead-letter queue of the stack, by name: each has its alarm.
        self.dead_letter_queues = {self.names.functions_dlq: self.dead_letters}
        self.alarms = AlarmFactory(self, self.names, config.polling_interval_minutes * 60)
        self.health_alarms = self._health_alarms()
        self._pipeline_alarms()
        self.health_probe = self._health_probe_function()
        self.rollback = self._rollback_function()
        self.recorder = self._recorder_function()
        self.execution_age = self._execution_age_function()
        self.dora_metrics = self._dora_metrics_function()
        self.incident_recorder = self._incident_recorder_function()
        self.slack = self._slack_function()
        self._dashboard()

        TerraformOutput(self, "topic_arns", value={purpose: t.arn for purpose, t in self.topics.items()})
        TerraformOutput(self, "rollback_function_name", value=self.rollback.function_name)
        TerraformOutput(self, "deployment_recorder_function_name", value=self.recorder.function_name)
        TerraformOutput(self, "dashboard_name", value=self.names.dashboard)
        TerraformOutput(self, "alarm_names", value=sorted(self.alarms.name(s) for s in self.alarms.alarms))

    # --- SNS -------------------------------------------------------------
    def _topic(self, purpose: str) -> NotificationTopic:
        name = self.names.topic(purpose)
        arn = self.arn("sns", name)
        return NotificationTopic(
            self,
            TopicSpec(
                purpose=purpose,
                name=name,
                arn=arn,
                kms_key_arn=self.core.kms_key_arn,
                account_root=account_root(self.partition, self.config.account_id),
                publishers=self._topic_publishers(purpose, arn),
                email=self.config.notification_email,
            ),
        )

    def _topic_publishers(self, purpose: str, arn: str) -> list[Statement]:
        """Who publishes besides the account: this environment's alarms, and
        this pipeline's notifications."""
        config, names = self.config, self.names
        publishers = []
        if purpose in ("deployments", "rollbacks"):
            publishers.append(
                Statement(
                    sid="AllowThisEnvironmentsAlarms",
                    actions=["sns:Publish"],
                    resources=[arn],
                    service_principals=["cloudwatch.amazonaws.com"],
                    conditions={
                        ("StringEquals", "aws:SourceAccount"): [config.account_id],
                        ("ArnLike", "aws:SourceArn"): [self.arn("cloudwatch", f"alarm:{names.pipeline}-*")],
                    },
                )
            )
        if purpose in NOTIFICATION_EVENTS:
            publishers.append(
                Statement(
                    sid="AllowThisPipelinesNotifications",
                    actions=["sns:Publish"],
                    resources=[arn],
                    service_principals=["codestar-notifications.amazonaws.com"],
                    conditions={("StringEquals", "aws:SourceAccount"): [config.account_id]},
                )
            )
        return publishers

    def _notification_rules(self) -> None:
        for purpose, events in NOTIFICATION_EVENTS.items():
            CodestarnotificationsNotificationRule(
                self,
                f"{purpose}_notifications",
                name=self.names.notification_rule(purpose),
                resource=self.pipeline.pipeline_arn,
                detail_type="FULL",
                event_type_ids=events,
                target=[CodestarnotificationsNotificationRuleTarget(address=self.topics[purpose].arn, type="SNS")],
                # CodeStar Notifications checks, when it creates the rule, that
                # the topic policy lets it publish; without this edge the rule
                # can race the policy and fail (aws-cdk issue 29484).
                depends_on=[self.topic_units[purpose].policy],
            )

    # --- alarms ----------------------------------------------------------
    def _metric(self, row: PipelineMetric) -> Metric:
        return Metric(row.namespace, row.name, self._dimensions(row), row.statistic)

    def _dimensions(self, row: PipelineMetric) -> dict[str, str]:
        return dict(row.dimensions) if row.dimensions is not None else {"Environment": self.config.name}

    def _outcome_metrics(self) -> tuple[PipelineMetric, ...]:
        """One count per execution outcome, as the recorder publishes them
        (OUTCOME_METRICS). Deployments that succeeded or failed share a
        graph, and only the failures alarm (runbook: Incident 1); the
        outcomes that deployed nothing (a build failure, a rejection, an
        approval time-out, a gate, a cancellation) are the graph beside it."""
        deployed, failed = OUTCOME_METRICS[stages.DEPLOYED], OUTCOME_METRICS[stages.DEPLOY_FAILED]
        rows = []
        for metric in OUTCOME_METRICS.values():
            if metric == failed:
                alarm = AlarmRule(
                    "failures", "A pipeline execution failed (runbook: Incident 1).", ">=", 1, "deployments"
                )
                rows.append(PipelineMetric(metric, "Sum", "Pipeline executions", alarm))
            elif metric == deployed:
                rows.append(PipelineMetric(metric, "Sum", "Pipeline executions"))
            else:
                rows.append(PipelineMetric(metric, "Sum", "Pipeline executions that deployed nothing"))
        return tuple(rows)

    def _dead_letter_metrics(self) -> tuple[PipelineMetric, ...]:
        """One alarm per dead-letter queue, named after its queue: a function
        that gave up on an event (after its retries) put it there, and
        nothing else reads it. SQS publishes the queue's depth by itself:
        "Get the approximate number of messages available for retrieval from
        the queue. ApproximateNumberOfMessagesVisible"
        (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-resources-required-process-messages.html),
        and its metrics are emitted only while the queue is active (the note
        of sqs-available-cloudwatch-metrics.html), so an idle, empty queue's
        missing data is no breach (notBreaching, the factory's default)."""
        rows = []
        for queue in self.dead_letter_queues:
            suffix = queue.removeprefix(f"{self.names.pipeline}-")
            assert self.names.alarm(suffix) == queue, f"{queue} is not named by the naming helper"
            rows.append(
                PipelineMetric(
                    "ApproximateNumberOfMessagesVisible",
                    "Maximum",
                    "Dead-letter queue: events the functions gave up on",
                    AlarmRule(
                        suffix,
                        f"A function gave up on an event: it waits in the dead-letter queue {queue}. "
                        "Read it, fix the cause, then redrive or delete it (docs/operations.md).",
                        ">",
                        0,
                        "rollbacks",
                        period_seconds=300,
                    ),
                    namespace="AWS/SQS",
                    dimensions=(("QueueName", queue),),
                )
            )
        return tuple(rows)

    def _pipeline_metrics(self) -> tuple[PipelineMetric, ...]:
        """One table for the pipeline's metrics: what each dashboard graph
        shows, and which alarm watches which metric (as cdk-monitoring-
        constructs does). The graphs follow the table's order."""
        config = self.config
        return (
            *self._outcome_metrics(),
            PipelineMetric("DeploymentDuration", "Maximum", "Deployment duration and running age (seconds)"),
            PipelineMetric(
                "ExecutionAge",
                "Maximum",
                "Deployment duration and running age (seconds)",
                AlarmRule(
                    "duration",
                    f"An execution has made no progress for more than {self.stuck_minutes} minutes, not counting "
                    "known waits (approval, change window, incident gate, bake, queue) until their expected end "
                    "(runbook: Incident 3).",
                    ">",
                    self.stuck_minutes * 60,
                    "deployments",
                    # Published every AGE_SCHEDULE_MINUTES while anything runs,
                    # so it alarms during a hang, not after the execution ends.
                    period_seconds=AGE_SCHEDULE_MINUTES * 60,
                ),
            ),
            PipelineMetric(
                "RollbackCount",
                "Sum",
                "Rollbacks",
                AlarmRule(
                    "rollbacks",
                    "A stage was rolled back: by its own rollback, the rollback function or a person "
                    "(runbook: Incident 2).",
                    ">=",
                    1,
                    "rollbacks",
                ),
            ),
            PipelineMetric(
                "TestCoverage",
                "Minimum",
                "Test coverage (%)",
                AlarmRule(
                    "test-coverage",
                    f"Unit-test coverage fell below {config.coverage_threshold_percent}% (runbook: Incident 4).",
                    "<",
                    config.coverage_threshold_percent,
                    "deployments",
                ),
            ),
            *self._dead_letter_metrics(),
            *DORA_METRICS,
        )

    def _pipeline_alarms(self) -> None:
        for row in self._pipeline_metrics():
            if row.alarm:
                self.alarms.alarm(
                    row.alarm.suffix,
                    description=row.alarm.description,
                    metric=self._metric(row),
                    comparison=COMPARISONS[row.alarm.comparison],
                    threshold=row.alarm.threshold,
                    period_seconds=row.alarm.period_seconds,
                    actions=[self.topics[row.alarm.topic].arn],
                )

    def _health_alarms(self) -> dict[str, str]:
        """One alarm per deploy target on the health probe's status metric, in
        this region; the pipeline's bake conditions and the rollback function
        watch these by name."""
        alarms = {}
        for target, stage in naming.DEPLOY_STAGES.items():
            url = self.config.deploy_target(target).health_check_url
            self.alarms.alarm(
                naming.health_alarm_suffix(target),
                description=f"{target} fails its health check ({url}) twice in a row; rolls back {stage}.",
                metric=Metric(
                    METRICS_NAMESPACE,
                    PROBE_STATUS_METRIC,
                    {"Environment": self.config.name, "Target": target},
                    "Minimum",
                ),
                comparison="LessThanThreshold",
                threshold=1,
                period_seconds=PROBE_PERIOD_SECONDS,
                evaluation_periods=2,
                # No data is not a failure here: it must never start a rollback
                # of a healthy release. The probe-silent alarm covers silence.
                treat_missing_data="notBreaching",
                actions=[self.topics["rollbacks"].arn],
            )
            alarms[self.names.health_alarm(target)] = stage
        return alarms

    # --- functions -------------------------------------------------------
    def _function(self, function: str, **spec) -> PythonFunction:
        """A function unit (modules/function.py) with this stack's key and dead-letter queue."""
        return PythonFunction(
            self, FunctionSpec(function, **spec), key_arn=self.core.kms_key_arn, dead_letters_arn=self.dead_letters.arn
        )

    def _health_probe_function(self) -> PythonFunction:
        """Checks every target's health URL each minute from this region and
        publishes the status the health alarms watch (any region; Route 53's
        health-check metrics exist only in us-east-1)."""
        names, config = self.names, self.config
        targets = {target: config.deploy_target(target).health_check_url for target in naming.DEPLOY_STAGES}
        function = self._function(
            "health_probe",
            purpose="health-probe",
            log_group_id="health_probe_log_group",
            # Two attempts of PROBE_TIMEOUT_SECONDS in parallel, then the
            # publish with its retries.
            timeout=60,
            environment={
                "TARGETS": literal_json(targets),
                "ENVIRONMENT": config.name,
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                "TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
            },
            role_statements=[],
        )
        self._rule(
            function,
            "health_probe",
            "health_probe_schedule",
            names.health_probe_schedule,
            "Checks each deploy target's health URL for the health alarms",
            schedule=rate_expression(PROBE_PERIOD_SECONDS // 60),
        )
        # A round is worth nothing a minute later: no retries of a failed or
        # throttled round (the next one is due), nothing kept for hours.
        function.asynchronous(
            "health_probe_invoke_config", maximum_retry_attempts=0, maximum_event_age_in_seconds=PROBE_PERIOD_SECONDS
        )
        # Silence fails closed: three minutes without a round (errors,
        # throttles, timeouts, a disabled schedule) is ALARM, and the bake
        # conditions watch it, so no release is promoted blind. The rollback
        # function does not: silence never rolls back a release by itself.
        self.alarms.alarm(
            naming.HEALTH_PROBE_SILENT,
            description="The health probe has not reported for 3 minutes: the health alarms are blind, and "
            "bakes roll back until it reports again (check its log group).",
            metric=Metric(METRICS_NAMESPACE, PROBE_ROUNDS_METRIC, {"Environment": config.name}, "Sum"),
            comparison="LessThanThreshold",
            threshold=1,
            period_seconds=PROBE_PERIOD_SECONDS,
            evaluation_periods=3,
            treat_missing_data="breaching",
            actions=[self.topics["deployments"].arn],
        )
        return function

    def _rollback_function(self) -> PythonFunction:
        core, names, config = self.core, self.names, self.config
        function = self._function(
            "rollback",
            purpose="rollback",
            log_group_name=core.rollback_log_group_name,
            timeout=900,
            # The recorder counts rollbacks from the rollback executions.
            publishes_metrics=False,
            environment={
                "TABLE_NAME": core.deployments_table_name,
                "TABLE_INDEX": names.deployments_index,
                "PIPELINE_ARN": self.pipeline.pipeline_arn,
                "TOPIC_ARN": self.topics["rollbacks"].arn,
                "ENVIRONMENT": config.name,
                "RECORD_TTL_DAYS": str(config.deployment_record_ttl_days),
                "ROLLBACK_ALARMS": literal_json(self.health_alarms),
                # Targets older than this have lost their artifacts: refused.
                "ARTIFACT_EXPIRATION_DAYS": str(config.artifact_lifecycle.expiration_days),
            },
            role_statements=[
                Statement(
                    sid="RecordRollbacks",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    resources=[core.deployments_table_arn],
                ),
                iam.read_deployment_history(core.deployments_table_arn, names.deployments_index),
                Statement(
                    sid="RollBackStages",
                    actions=["codepipeline:GetPipelineState", "codepipeline:RollbackStage"],
                    resources=[self.pipeline.pipeline_arn, f"{self.pipeline.pipeline_arn}/*"],
                ),
                Statement(sid="AnnounceRollbacks", actions=["sns:Publish"], resources=[self.topics["rollbacks"].arn]),
            ],
        )
        self._rule(
            function,
            "alarm_rollback",
            "alarm_rollback_rule",
            names.alarm_rollback_rule,
            "Health alarms of this environment entering ALARM start a stage rollback",
            pattern=self._health_alarm_changes(["ALARM"]),
        )
        return function

    def _recorder_function(self) -> PythonFunction:
        core, names, config = self.core, self.names, self.config
        function = self._function(
            "deployment_recorder",
            purpose="deployment-recorder",
            log_group_id="recorder_log_group",
            timeout=60,
            environment={
                "TABLE_NAME": core.deployments_table_name,
                "PIPELINE_NAME": self.pipeline.pipeline_name,
                "ENVIRONMENT": config.name,
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                "RECORD_TTL_DAYS": str(config.deployment_record_ttl_days),
            },
            role_statements=[
                Statement(
                    sid="RecordDeployments",
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    resources=[core.deployments_table_arn],
                ),
                Statement(
                    sid="LookUpCommits",
                    # The commit (GetPipelineExecution) and its author time
                    # (the Source action's output variables) for lead time.
                    actions=["codepipeline:GetPipelineExecution", "codepipeline:ListActionExecutions"],
                    resources=[self.pipeline.pipeline_arn],
                ),
            ],
        )
        rule = self._rule(
            function,
            "pipeline_events",
            "pipeline_events_rule",
            names.pipeline_events_rule,
            "This pipeline's execution and stage state changes",
            pattern={
                "source": ["aws.codepipeline"],
                "detail-type": PIPELINE_EVENTS,
                "detail": {"pipeline": [names.pipeline]},
            },
        )
        self._events_to_pipeline_log(rule)
        return function

    def _events_to_pipeline_log(self, rule: CloudwatchEventRule) -> None:
        """The pipeline's events also land in its log group, for `aws logs tail`."""
        core, names = self.core, self.names
        # The same events land in /aws/codepipeline/kiro-pipeline-{env}, so the
        # runbook's `aws logs tail` shows the pipeline's history.
        CloudwatchEventTarget(
            self,
            "pipeline_events_log_target",
            rule=rule.name,
            arn=core.pipeline_log_group_arn,
            target_id="pipeline_log",
        )
        CloudwatchLogResourcePolicy(
            self,
            "pipeline_events_log_policy",
            policy_name=names.pipeline_events_rule,
            policy_document=policy_document(
                self,
                "pipeline_events_log_policy_document",
                # Two statements, as in AWS's own EventBridge-to-Logs samples:
                # CreateLogStream carries no aws:SourceArn, so a SourceArn
                # condition on it would deny the stream and drop every event.
                [
                    Statement(
                        sid="AllowEventBridgeToCreateStreams",
                        actions=["logs:CreateLogStream"],
                        resources=[self.arn("logs", f"log-group:{names.pipeline_log_group}:*")],
                        service_principals=["events.amazonaws.com", "delivery.logs.amazonaws.com"],
                    ),
                    Statement(
                        sid="AllowThisRuleToWrite",
                        actions=["logs:PutLogEvents"],
                        resources=[self.arn("logs", f"log-group:{names.pipeline_log_group}:*")],
                        service_principals=["events.amazonaws.com", "delivery.logs.amazonaws.com"],
                        conditions={("ArnEquals", "aws:SourceArn"): [rule.arn]},
                    ),
                ],
            ).json,
        )

    @property
    def stuck_minutes(self) -> int:
        """The duration alarm's threshold: the configured one, but below the
        CodeBuild time-out by two of the age function's rounds, so the alarm
        fires while a hung build hangs, before CodeBuild ends it."""
        ceiling = self.config.build.timeout_minutes - 2 * AGE_SCHEDULE_MINUTES
        return max(AGE_SCHEDULE_MINUTES, min(self.config.deployment_duration_threshold_minutes, ceiling))

    def _execution_age_function(self) -> PythonFunction:
        names, config = self.names, self.config
        function = self._function(
            "execution_age",
            package_name="deployment_recorder",
            entry="age",
            purpose="execution-age",
            log_group_id="execution_age_log_group",
            timeout=60,
            environment={
                "PIPELINE_NAME": self.pipeline.pipeline_name,
                "ENVIRONMENT": config.name,
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                # The known waits and when each is expected to end: the window
                # (the pipeline's own cron and time zone), the incident gate's
                # WaitTime, the approval's time-out, the bake.
                **(
                    {
                        "WINDOW_CRON": literal(config.change_window.cron),
                        "WINDOW_TIME_ZONE": literal(config.change_window.time_zone),
                    }
                    if config.change_window.enabled
                    else {}
                ),
                "INCIDENT_WAIT_MINUTES": str(INCIDENT_WAIT_MINUTES),
                "APPROVAL_TIMEOUT_MINUTES": str(APPROVAL_TIMEOUT_MINUTES),
                "BAKE_MINUTES": str(config.health_check_duration_minutes),
            },
            role_statements=[
                Statement(
                    sid="ReadRunningExecutions",
                    # GetPipelineState: which condition holds an execution, since when.
                    actions=[
                        "codepipeline:GetPipelineState",
                        "codepipeline:ListActionExecutions",
                        "codepipeline:ListPipelineExecutions",
                    ],
                    resources=[self.pipeline.pipeline_arn],
                ),
            ],
        )
        self._rule(
            function,
            "execution_age",
            "execution_age_schedule",
            names.execution_age_schedule,
            "Publishes the age of the oldest running execution for the duration alarm",
            schedule=rate_expression(AGE_SCHEDULE_MINUTES),
        )
        return function

    def _rule(
        self,
        function: PythonFunction,
        target_id: str,
        rule_id: str,
        name: str,
        description: str,
        *,
        schedule: str | None = None,
        pattern: dict | None = None,
    ) -> CloudwatchEventRule:
        """An EventBridge rule, on a schedule or an event pattern, that invokes `function`."""
        rule = CloudwatchEventRule(
            self,
            rule_id,
            name=name,
            description=description,
            schedule_expression=schedule,
            event_pattern=literal_json(pattern) if pattern else None,
        )
        function.invoked_by_rule(rule, target_id)
        return rule

    def _health_alarm_changes(self, states: list[str]) -> dict:
        """The event pattern of this environment's health alarms entering `states`."""
        return {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": sorted(self.health_alarms), "state": {"value": states}},
        }

    def _dora_metrics_function(self) -> PythonFunction:
        """Publishes the DORA metrics hourly, from the deployment records, for
        the dashboard (the same computation as `python -m ops dora`)."""
        core, names, config = self.core, self.names, self.config
        function = self._function(
            "dora_metrics",
            package_name="deployment_recorder",
            entry="dora_schedule",
            purpose="dora-metrics",
            log_group_id="dora_metrics_log_group",
            timeout=120,
            environment={
                "TABLE_NAME": core.deployments_table_name,
                "TABLE_INDEX": names.deployments_index,
                "ENVIRONMENT": config.name,
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                "WINDOW_DAYS": str(DORA_WINDOW_DAYS),
            },
            role_statements=[
                iam.read_deployment_history(core.deployments_table_arn, names.deployments_index),
            ],
        )
        self._rule(
            function,
            "dora_metrics",
            "dora_metrics_schedule",
            names.dora_metrics_schedule,
            "Publishes the DORA metrics of the last days from the deployment records",
            schedule="rate(1 hour)",
        )
        return function

    def _incident_recorder_function(self) -> PythonFunction:
        """Records each health alarm's ALARM -> OK (or INSUFFICIENT_DATA)
        window as an incident, for the DORA metrics (change failures and
        their recovery)."""
        core, names, config = self.core, self.names, self.config
        function = self._function(
            "incident_recorder",
            package_name="deployment_recorder",
            entry="incidents",
            purpose="incident-recorder",
            log_group_id="incident_recorder_log_group",
            timeout=30,
            publishes_metrics=False,
            environment={
                "TABLE_NAME": core.deployments_table_name,
                "ENVIRONMENT": config.name,
                "ALARM_TARGETS": literal_json({names.health_alarm(target): target for target in naming.DEPLOY_STAGES}),
                "RECORD_TTL_DAYS": str(config.deployment_record_ttl_days),
            },
            role_statements=[
                Statement(
                    sid="RecordIncidents", actions=["dynamodb:UpdateItem"], resources=[core.deployments_table_arn]
                )
            ],
        )
        self._rule(
            function,
            "incident_recorder",
            "incident_rule",
            names.incident_rule,
            "Health alarms of this environment entering ALARM, OK or INSUFFICIENT_DATA: the incident ledger",
            # Leaving ALARM for INSUFFICIENT_DATA ends an incident too (its end
            # unknown); without it the incident stays open until it expires.
            # CloudWatch "sends events to Amazon EventBridge whenever a
            # CloudWatch alarm is created, updated, deleted, or changes alarm
            # state" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/
            # monitoring/cloudwatch-and-eventbridge.html), so each of the three
            # states reaches the rule as its own event.
            pattern=self._health_alarm_changes(["ALARM", "OK", "INSUFFICIENT_DATA"]),
        )
        return function

    def _slack_function(self) -> PythonFunction:
        """Posts every topic's notifications to Slack, with the webhook that
        `ops setup-secrets` stores, read at run time (never in state)."""
        core, names, config = self.core, self.names, self.config
        secret = names.resource_secret("slack-webhook")
        function = self._function(
            "slack_notifier",
            purpose="slack-notifier",
            log_group_id="slack_notifier_log_group",
            timeout=30,
            publishes_metrics=False,
            environment={"SECRET_ID": secret, "TABLE_NAME": core.deployments_table_name, "ENVIRONMENT": config.name},
            role_statements=[
                Statement(
                    sid="ReadSlackWebhook",
                    actions=["secretsmanager:GetSecretValue"],
                    # Secrets Manager appends six random characters to a secret's ARN.
                    resources=[self.arn("secretsmanager", f"secret:{secret}-??????")],
                ),
                Statement(
                    sid="PostEachMessageOnce",
                    actions=["dynamodb:DeleteItem", "dynamodb:PutItem"],
                    resources=[core.deployments_table_arn],
                ),
            ],
        )
        for purpose, topic in self.topics.items():
            function.subscribed_to(topic, f"{purpose}_topic_slack", f"AllowThe{purpose.capitalize()}Topic")
        return function

    # --- dashboard -------------------------------------------------------
    def _dashboard(self) -> None:
        alarm_arns = [self.arn("cloudwatch", f"alarm:{self.alarms.name(s)}") for s in sorted(self.alarms.alarms)]
        panels: dict[str, list[PipelineMetric]] = {}
        for row in self._pipeline_metrics():
            panels.setdefault(row.panel, []).append(row)
        below = 6 * -(-len(panels) // 2)  # the graphs' rows, two a row
        widgets = [
            # Two graphs a row, in the table's order.
            *(
                self._metric_widget(title, metrics, 6 * (i // 2), 12 * (i % 2))
                for i, (title, metrics) in enumerate(panels.items())
            ),
            self._health_widget(below),
            {
                "type": "alarm",
                "x": 0,
                "y": below + 6,
                "width": 24,
                "height": 4,
                "properties": {"title": "Alarm status", "alarms": alarm_arns},
            },
        ]
        CloudwatchDashboard(
            self, "dashboard", dashboard_name=self.names.dashboard, dashboard_body=literal_json({"widgets": widgets})
        )

    def _metric_widget(self, title: str, rows: list[PipelineMetric], y: int, x: int) -> dict:
        """A half-width graph of the table's rows, each with its namespace and dimensions."""
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": self.config.region,
                "view": "timeSeries",
                "period": self.alarms.period_seconds,
                "metrics": [
                    [
                        row.namespace,
                        row.name,
                        *(part for dimension in self._dimensions(row).items() for part in dimension),
                        {"stat": row.statistic},
                    ]
                    for row in rows
                ],
            },
        }

    def _health_widget(self, y: int) -> dict:
        """Each target's health status, as the health alarms see it."""
        env = self.config.name
        return {
            "type": "metric",
            "x": 0,
            "y": y,
            "width": 24,
            "height": 6,
            "properties": {
                "title": "Target health (1 = healthy), from the health probe",
                "region": self.config.region,
                "view": "timeSeries",
                "period": PROBE_PERIOD_SECONDS,
                "metrics": [
                    [METRICS_NAMESPACE, PROBE_STATUS_METRIC, "Environment", env, "Target", target, {"stat": "Minimum"}]
                    for target in naming.DEPLOY_STAGES
                ],
            },
        }
