"""monitoring-{env}: composed from its tables. The notification topics
(topology/topics.py), the metrics and alarms (modules/metrics.py), the
Lambda functions and their triggers (topology/functions.py, made into units
by modules/lambdas.py), the functions' dead-letter queue, and the dashboard
(rendered by modules/dashboard.py)."""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.codestarnotifications_notification_rule import (
    CodestarnotificationsNotificationRule,
    CodestarnotificationsNotificationRuleTarget,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from environments import EnvironmentConfig
from modules import dashboard, lambdas, metrics
from modules.alarms import AlarmFactory, Metric
from modules.base_stack import BaseStack
from modules.core import CoreOutputs
from modules.freeze import change_calendar
from modules.iam import Statement, account_root, from_service
from modules.literal import literal_json
from modules.pipeline import PipelineOutputs
from modules.topic import NotificationTopic, TopicSpec
from topology.functions import FUNCTIONS
from topology.topics import TOPICS, Topic


class MonitoringStack(BaseStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs, pipeline: PipelineOutputs):
        super().__init__(scope, "monitoring", config)
        self.core, self.pipeline = core, pipeline
        self.table = metrics.table(config)
        self.topic_units = {topic.purpose: self._topic(topic) for topic in TOPICS}
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
        self.alarms = AlarmFactory(self, self.names, config.polling_interval_minutes * 60)
        self._alarms()
        if config.respect_freezes:
            # No depends_on from the gate to the calendar: Terraform may create
            # the gate first, whose first run then fails (InvalidDocument) and is
            # retried by Lambda (asynchronous invocation) a minute or two later,
            # by when the calendar exists; an edge would also keep the gate out
            # of the deploy rehearsal, which cannot create the calendar.
            self.freeze_calendar = change_calendar(self)
            TerraformOutput(self, "freeze_calendar_name", value=self.freeze_calendar.name)
        wiring = lambdas.Wiring(self, core, pipeline, self.topics, self.dead_letters.arn)
        self.functions = lambdas.build(wiring, FUNCTIONS)
        self.rollback, self.recorder = self.functions["rollback"], self.functions["deployment_recorder"]
        CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.names.dashboard,
            dashboard_body=literal_json(dashboard.body(self.table, config)),
        )

        TerraformOutput(self, "topic_arns", value={purpose: t.arn for purpose, t in self.topics.items()})
        TerraformOutput(self, "rollback_function_name", value=self.rollback.function_name)
        TerraformOutput(self, "deployment_recorder_function_name", value=self.recorder.function_name)
        TerraformOutput(self, "dashboard_name", value=self.names.dashboard)
        TerraformOutput(self, "alarm_names", value=sorted(self.alarms.name(s) for s in self.alarms.alarms))

    # --- SNS -------------------------------------------------------------
    def _topic(self, topic: Topic) -> NotificationTopic:
        name = self.names.topic(topic.purpose)
        arn = self.arn("sns", name)
        return NotificationTopic(
            self,
            TopicSpec(
                purpose=topic.purpose,
                name=name,
                arn=arn,
                kms_key_arn=self.core.kms_key_arn,
                account_root=account_root(self.partition, self.config.account_id),
                publishers=self._topic_publishers(topic, arn),
                email=self.config.notification_email,
            ),
        )

    def _topic_publishers(self, topic: Topic, arn: str) -> list[Statement]:
        """Who publishes besides the account: this environment's alarms (to
        the topics the alarm rows notify), and this pipeline's notifications."""
        account = self.config.account_id
        publishers = []
        if topic.purpose in metrics.alarm_topics(self.table):
            alarms = self.arn("cloudwatch", f"alarm:{self.names.pipeline}-*")
            publishers.append(
                from_service(
                    "AllowThisEnvironmentsAlarms",
                    ["sns:Publish"],
                    [arn],
                    service="cloudwatch.amazonaws.com",
                    account_id=account,
                    source_arn=alarms,
                )
            )
        if topic.notification_events:
            publishers.append(
                from_service(
                    "AllowThisPipelinesNotifications",
                    ["sns:Publish"],
                    [arn],
                    service="codestar-notifications.amazonaws.com",
                    account_id=account,
                )
            )
        return publishers

    def _notification_rules(self) -> None:
        for topic in TOPICS:
            if not topic.notification_events:
                continue
            CodestarnotificationsNotificationRule(
                self,
                f"{topic.purpose}_notifications",
                name=self.names.notification_rule(topic.purpose),
                resource=self.pipeline.pipeline_arn,
                detail_type="FULL",
                event_type_ids=list(topic.notification_events),
                target=[
                    CodestarnotificationsNotificationRuleTarget(address=self.topics[topic.purpose].arn, type="SNS")
                ],
                # CodeStar Notifications checks, when it creates the rule, that
                # the topic policy lets it publish; without this edge the rule
                # can race the policy and fail (aws-cdk issue 29484).
                depends_on=[self.topic_units[topic.purpose].policy],
            )

    # --- alarms ----------------------------------------------------------
    def _alarms(self) -> None:
        """An alarm for every row of the metrics table that has one."""
        for row, alarm in metrics.alarms(self.table):
            self.alarms.alarm(
                alarm.suffix,
                description=alarm.description,
                metric=Metric(row.namespace, row.name, row.dimensions_in(self.config.name), row.statistic),
                comparison=metrics.COMPARISONS[alarm.comparison],
                threshold=alarm.threshold,
                period_seconds=alarm.period_seconds,
                evaluation_periods=alarm.evaluation_periods,
                treat_missing_data=alarm.treat_missing_data,
                actions=[self.topics[alarm.topic].arn],
            )
