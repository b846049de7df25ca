"""monitoring-{env}: every name and property issue #4 lists, per environment."""

from __future__ import annotations

import json

import pytest

from functions import package
from tests.support.synth import condition, statement_by_sid
from topology import naming
from topology.functions import FUNCTIONS, wanted


def remote(stack: str, output: str) -> str:
    """How a stack reads another stack's output through terraform_remote_state."""
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{stack}.outputs.cross-stack-output-{output}}}"


def remote_key(env: str) -> str:
    return remote(f"core-{env}", "aws_kms_keykeyarn")


def pipeline_arn(env: str) -> str:
    """Pipeline values reach monitoring as names (PipelineOutputs), known at plan time."""
    return f"arn:aws:codepipeline:us-east-1:123456789012:kiro-pipeline-{env}"


@pytest.fixture
def monitoring(stacks, env_config):
    return stacks[naming.stack_id("monitoring", env_config.name)]


def by_name(resources: dict, attribute: str) -> dict:
    return {r[attribute]: r for r in resources.values()}


class TestTopics:
    def test_three_encrypted_topics(self, monitoring, env_config):
        topics = by_name(monitoring.resources("aws_sns_topic"), "name")
        assert set(topics) == {env_config.names.topic(p) for p in ("deployments", "approvals", "rollbacks")}
        for topic in topics.values():
            assert topic["kms_master_key_id"] == remote_key(env_config.name)

    def test_email_subscriptions_from_config(self, monitoring, env_config):
        subscriptions = [
            s for s in monitoring.resources("aws_sns_topic_subscription").values() if s["protocol"] == "email"
        ]
        assert sorted(s["topic_arn"] for s in subscriptions) == sorted(
            f"${{aws_sns_topic.{p}_topic.arn}}" for p in ("deployments", "approvals", "rollbacks")
        )
        assert {(s["protocol"], s["endpoint"]) for s in subscriptions} == {("email", env_config.notification_email)}

    @pytest.mark.parametrize(
        "purpose, publishers",
        [
            ("deployments", {"cloudwatch.amazonaws.com", "codestar-notifications.amazonaws.com"}),
            ("approvals", {"codestar-notifications.amazonaws.com"}),
            ("rollbacks", {"cloudwatch.amazonaws.com"}),
        ],
    )
    def test_only_the_publishers_of_each_topic_may_publish(self, monitoring, env_config, purpose, publishers):
        policy = monitoring.resource("aws_sns_topic_policy", f"{purpose}_topic_policy")
        statements = monitoring.policy_statements(policy["policy"])
        services = {
            identifier
            for s in statements
            if s["effect"] == "Allow"
            for p in s.get("principals", [])
            if p["type"] == "Service"
            for identifier in p["identifiers"]
        }
        assert services == publishers
        topic_arn = f"arn:aws:sns:{env_config.region}:{env_config.account_id}:{env_config.names.topic(purpose)}"
        for statement in statements:
            assert statement["resources"] == [topic_arn]
            if statement["effect"] == "Allow" and statement.get("principals", [{}])[0].get("type") == "Service":
                assert condition(statement, "StringEquals", "aws:SourceAccount") == [env_config.account_id]
        if "cloudwatch.amazonaws.com" in publishers:
            alarms = statement_by_sid(statements, "AllowThisEnvironmentsAlarms")
            assert condition(alarms, "ArnLike", "aws:SourceArn") == [
                f"arn:aws:cloudwatch:{env_config.region}:{env_config.account_id}:alarm:{env_config.names.pipeline}-*"
            ]
        deny = statement_by_sid(statements, "DenyInsecureTransport")
        assert condition(deny, "Bool", "aws:SecureTransport") == ["false"]


def test_notification_rules(monitoring, env_config):
    rules = by_name(monitoring.resources("aws_codestarnotifications_notification_rule"), "name")
    deployments = rules[env_config.names.notification_rule("deployments")]
    approvals = rules[env_config.names.notification_rule("approvals")]
    assert sorted(deployments["event_type_ids"]) == [
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-pipeline-execution-started",
        "codepipeline-pipeline-pipeline-execution-succeeded",
    ]
    assert deployments["target"] == [{"address": "${aws_sns_topic.deployments_topic.arn}", "type": "SNS"}]
    assert approvals["event_type_ids"] == ["codepipeline-pipeline-manual-approval-needed"]
    assert approvals["target"] == [{"address": "${aws_sns_topic.approvals_topic.arn}", "type": "SNS"}]
    for rule in (deployments, approvals):
        assert rule["resource"] == pipeline_arn(env_config.name)


class TestAlarms:
    def alarms(self, monitoring):
        return by_name(monitoring.resources("aws_cloudwatch_metric_alarm"), "alarm_name")

    def test_names_come_from_the_naming_helper(self, monitoring, env_config):
        names = env_config.names
        expected = {
            names.pipeline + "-" + s for s in ("failures", "rollbacks", "duration", "test-coverage", "functions-dlq")
        }
        expected |= {names.health_alarm(t) for t in naming.DEPLOY_STAGES}
        expected.add(names.health_probe_silent_alarm)
        assert set(self.alarms(monitoring)) == expected

    def test_every_dead_letter_queue_alarms_on_the_rollbacks_topic(self, monitoring, env_config):
        """A function that gave up on an event (after its retries) leaves it in
        the dead-letter queue: the first message pages, within five minutes."""
        queues = {q["name"] for q in monitoring.resources("aws_sqs_queue").values()}
        assert queues == {f"kiro-pipeline-{env_config.name}-functions-dlq"}
        watching = {
            a["dimensions"]["QueueName"]: a
            for a in monitoring.resources("aws_cloudwatch_metric_alarm").values()
            if a["namespace"] == "AWS/SQS"
        }
        assert set(watching) == queues
        alarm = watching[f"kiro-pipeline-{env_config.name}-functions-dlq"]
        assert alarm["alarm_name"] == f"kiro-pipeline-{env_config.name}-functions-dlq"
        assert (alarm["metric_name"], alarm["statistic"]) == ("ApproximateNumberOfMessagesVisible", "Maximum")
        assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)
        assert (alarm["period"], alarm["evaluation_periods"], alarm["treat_missing_data"]) == (300, 1, "notBreaching")
        assert alarm["alarm_actions"] == alarm["ok_actions"] == ["${aws_sns_topic.rollbacks_topic.arn}"]
        assert "dead-letter queue" in alarm["alarm_description"]

    def test_only_deployment_failures_raise_the_failures_alarm(self, monitoring):
        """Each outcome has its metric; a rejection, a time-out or a gate is
        no failed deployment, and no alarm watches those counts."""
        watched = {a["metric_name"] for a in monitoring.resources("aws_cloudwatch_metric_alarm").values()}
        assert "DeploymentFailure" in watched
        outcomes = {
            "DeploymentSuccess",
            "BuildFailure",
            "ReleaseRejected",
            "ApprovalTimedOut",
            "ReleaseBlockedByGate",
            "ExecutionCanceledByUpdate",
        }
        assert not watched & outcomes

    @pytest.mark.parametrize(
        "suffix, metric, statistic, comparison, topic",
        [
            ("failures", "DeploymentFailure", "Sum", "GreaterThanOrEqualToThreshold", "deployments"),
            ("rollbacks", "RollbackCount", "Sum", "GreaterThanOrEqualToThreshold", "rollbacks"),
            ("duration", "ExecutionAge", "Maximum", "GreaterThanThreshold", "deployments"),
            ("test-coverage", "TestCoverage", "Minimum", "LessThanThreshold", "deployments"),
        ],
    )
    def test_pipeline_alarms(self, monitoring, env_config, suffix, metric, statistic, comparison, topic):
        alarm = self.alarms(monitoring)[f"{env_config.names.pipeline}-{suffix}"]
        assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("KiroPipeline", metric, statistic)
        assert alarm["dimensions"] == {"Environment": env_config.name}
        assert alarm["comparison_operator"] == comparison
        # The duration alarm's period is the age schedule's (its own test).
        if suffix != "duration":
            assert alarm["period"] == env_config.polling_interval_minutes * 60
        assert alarm["alarm_actions"] == [f"${{aws_sns_topic.{topic}_topic.arn}}"]
        assert alarm["treat_missing_data"] == "notBreaching"

    def test_thresholds_from_config(self, monitoring, env_config):
        alarms = self.alarms(monitoring)
        # Below the CodeBuild time-out by two of the age function's 5-minute
        # rounds, so it fires while a build hangs (60-minute builds: 50).
        stuck = min(env_config.deployment_duration_threshold_minutes, env_config.build.timeout_minutes - 10)
        assert alarms[f"{env_config.names.pipeline}-duration"]["threshold"] == stuck * 60
        assert (
            alarms[f"{env_config.names.pipeline}-test-coverage"]["threshold"] == env_config.coverage_threshold_percent
        )

    @pytest.mark.parametrize("target", list(naming.DEPLOY_STAGES))
    def test_health_alarms_watch_the_probes_status_of_their_target(self, monitoring, env_config, target):
        alarm = self.alarms(monitoring)[env_config.names.health_alarm(target)]
        assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (
            "KiroPipeline",
            "HealthCheckStatus",
            "Minimum",
        )
        assert alarm["dimensions"] == {"Environment": env_config.name, "Target": target}
        assert (alarm["comparison_operator"], alarm["threshold"]) == ("LessThanThreshold", 1)
        # Two failed one-minute rounds in a row, as the Route 53 checks needed.
        assert (alarm["period"], alarm["evaluation_periods"]) == (60, 2)
        assert alarm["alarm_actions"] == ["${aws_sns_topic.rollbacks_topic.arn}"]
        assert not monitoring.resources("aws_route53_health_check")

    def test_the_probe_checks_each_targets_url_every_minute(self, monitoring, env_config):
        function = monitoring.resource("aws_lambda_function", "health_probe")
        assert function["handler"] == "functions.health_probe.handler.handler"
        assert function["function_name"] == env_config.names.lambda_function("health-probe")
        variables = function["environment"]["variables"]
        assert json.loads(variables["TARGETS"]) == {
            t: env_config.deploy_target(t).health_check_url for t in naming.DEPLOY_STAGES
        }
        assert (variables["ENVIRONMENT"], variables["METRICS_NAMESPACE"]) == (env_config.name, "KiroPipeline")
        # The fixture environments do not opt in to reserved concurrency.
        assert "reserved_concurrent_executions" not in function
        rule = monitoring.resource("aws_cloudwatch_event_rule", "health_probe_schedule")
        assert (rule["name"], rule["schedule_expression"]) == (env_config.names.health_probe_schedule, "rate(1 minute)")
        assert monitoring.resource("aws_cloudwatch_event_target", "health_probe_target")["arn"] == (
            "${aws_lambda_function.health_probe.arn}"
        )
        silent = self.alarms(monitoring)[env_config.names.health_probe_silent_alarm]
        assert (silent["namespace"], silent["metric_name"], silent["statistic"]) == (
            "KiroPipeline",
            "HealthProbeRounds",
            "Sum",
        )
        # Silence fails closed here, and only here (the health alarms ignore it).
        assert (silent["treat_missing_data"], silent["evaluation_periods"], silent["period"]) == ("breaching", 3, 60)
        for target in naming.DEPLOY_STAGES:
            assert (
                self.alarms(monitoring)[env_config.names.health_alarm(target)]["treat_missing_data"] == "notBreaching"
            )
        invoke = monitoring.resource("aws_lambda_function_event_invoke_config", "health_probe_invoke_config")
        assert (invoke["maximum_retry_attempts"], invoke["maximum_event_age_in_seconds"]) == (0, 60)
        # The probe may only publish metrics, in the project's namespace.
        policy = monitoring.resource("aws_iam_role_policy", "health_probe_role_policy")
        statements = {s["sid"]: s for s in monitoring.policy_statements(policy["policy"])}
        assert condition(statements["PublishPipelineMetrics"], "StringEquals", "cloudwatch:namespace") == [
            "KiroPipeline"
        ]
        assert set(statements) == {
            "WriteOwnLogs",
            "UseProjectKey",
            "KeepFailedEvents",
            "SendTraces",
            "PublishPipelineMetrics",
        }

    def test_the_pipeline_watches_alarms_that_exist(self, stacks, monitoring, env_config):
        pipeline = stacks[naming.stack_id("pipeline", env_config.name)].resource("aws_codepipeline", "pipeline")
        watched = {
            rule["configuration"]["AlarmName"]
            for stage in pipeline["stage"]
            if "on_success" in stage
            for rule in stage["on_success"]["condition"]["rule"]
        }
        assert watched and watched <= set(self.alarms(monitoring))


class TestFunctions:
    def test_rollback_function(self, monitoring, env_config):
        function = monitoring.resource("aws_lambda_function", "rollback")
        assert function["function_name"] == env_config.names.lambda_function("rollback")
        assert function["runtime"].startswith("python3")
        assert function["timeout"] == 900
        assert "reserved_concurrent_executions" not in function  # not opted in (tests/test_config_values.py)
        assert function["handler"] == "functions.rollback.handler.handler"
        variables = function["environment"]["variables"]
        assert {"TABLE_NAME", "PIPELINE_ARN", "TOPIC_ARN"} <= set(variables)
        assert variables["PIPELINE_ARN"] == pipeline_arn(env_config.name)
        assert variables["TOPIC_ARN"] == "${aws_sns_topic.rollbacks_topic.arn}"
        assert json.loads(variables["ROLLBACK_ALARMS"]) == {
            env_config.names.health_alarm(t): stage for t, stage in naming.DEPLOY_STAGES.items()
        }
        assert function["dead_letter_config"] == {"target_arn": "${aws_sqs_queue.functions_dlq.arn}"}
        assert function["logging_config"]["log_group"].endswith(
            "cross-stack-output-aws_cloudwatch_log_grouprollback_log_groupname}"
        )
        assert function["kms_key_arn"] == remote_key(env_config.name)

    def test_the_execution_age_function_runs_on_a_schedule(self, monitoring, env_config):
        function = monitoring.resource("aws_lambda_function", "execution_age")
        assert function["handler"] == "functions.execution_age.handler.handler"
        assert function["function_name"] == env_config.names.lambda_function("execution-age")
        rule = monitoring.resource("aws_cloudwatch_event_rule", "execution_age_schedule")
        assert rule["schedule_expression"] == "rate(5 minutes)"
        assert monitoring.resource("aws_cloudwatch_event_target", "execution_age_target")["arn"] == (
            "${aws_lambda_function.execution_age.arn}"
        )
        alarm = {a["alarm_name"]: a for a in monitoring.resources("aws_cloudwatch_metric_alarm").values()}[
            f"{env_config.names.pipeline}-duration"
        ]
        # The alarm's period is the schedule's, so every period has a data point.
        assert (alarm["metric_name"], alarm["period"]) == ("ExecutionAge", 300)

    def test_the_slack_notifier_hears_every_topic_and_reads_only_its_secret(self, monitoring, env_config):
        function = monitoring.resource("aws_lambda_function", "slack_notifier")
        assert function["handler"] == "functions.slack_notifier.handler.handler"
        variables = function["environment"]["variables"]
        assert variables["SECRET_ID"] == env_config.names.resource_secret("slack-webhook")
        assert not any("hooks.slack.com" in str(v) for v in variables.values())  # read at run time, never in state
        for purpose in ("deployments", "approvals", "rollbacks"):
            subscription = monitoring.resource("aws_sns_topic_subscription", f"{purpose}_topic_slack")
            assert (subscription["protocol"], subscription["endpoint"]) == (
                "lambda",
                "${aws_lambda_function.slack_notifier.arn}",
            )
            permission = monitoring.resource("aws_lambda_permission", f"{purpose}_topic_slack_permission")
            assert (permission["principal"], permission["source_arn"]) == (
                "sns.amazonaws.com",
                f"${{aws_sns_topic.{purpose}_topic.arn}}",
            )
        policy = monitoring.resource("aws_iam_role_policy", "slack_notifier_role_policy")
        statements = {s["sid"]: s for s in monitoring.policy_statements(policy["policy"])}
        assert statements["ReadSlackWebhook"]["resources"] == [
            f"arn:aws:secretsmanager:us-east-1:{env_config.account_id}:secret:"
            f"{env_config.names.resource_secret('slack-webhook')}-??????"
        ]
        assert "PublishPipelineMetrics" not in statements

    @pytest.mark.parametrize(
        "function", ["rollback", "deployment_recorder", "execution_age", "slack_notifier", "health_probe"]
    )
    def test_functions_are_traced(self, monitoring, function):
        assert monitoring.resource("aws_lambda_function", function)["tracing_config"] == {"mode": "Active"}

    def test_recorder_function(self, monitoring, env_config):
        function = monitoring.resource("aws_lambda_function", "deployment_recorder")
        assert function["function_name"] == env_config.names.lambda_function("deployment-recorder")
        assert function["handler"] == "functions.deployment_recorder.handler.handler"
        assert function["environment"]["variables"]["RECORD_TTL_DAYS"] == str(env_config.deployment_record_ttl_days)
        group = monitoring.resource("aws_cloudwatch_log_group", "recorder_log_group")
        assert group["name"] == env_config.names.lambda_log_group("deployment-recorder")
        assert group["retention_in_days"] == env_config.log_retention_days

    def test_dead_letter_queue_is_encrypted(self, monitoring, env_config):
        queue = monitoring.only("aws_sqs_queue")
        assert queue["name"] == env_config.names.functions_dlq
        assert queue["kms_master_key_id"] == remote_key(env_config.name)

    @pytest.mark.parametrize("function", package.FUNCTIONS)
    def test_code_is_the_built_zip_with_its_hash(self, monitoring, function_zips, function, env_config):
        row = next(r for r in FUNCTIONS if r.function == function)
        if not wanted(env_config, row):
            assert function not in monitoring.resources("aws_lambda_function")
            return
        resource = monitoring.resource("aws_lambda_function", function)
        assert resource["source_code_hash"] == package.source_code_hash(function_zips / f"{function}.zip")
        copied = monitoring.path.parent / resource["filename"]
        assert copied.read_bytes() == (function_zips / f"{function}.zip").read_bytes()

    def test_each_function_has_its_own_least_privilege_role(self, monitoring, env_config):
        def statements(function):
            policy = monitoring.resource("aws_iam_role_policy", f"{function}_role_policy")
            return {s["sid"]: s for s in monitoring.policy_statements(policy["policy"])}

        rollback, recorder = statements("rollback"), statements("deployment_recorder")
        assert rollback["RollBackStages"]["actions"] == ["codepipeline:GetPipelineState", "codepipeline:RollbackStage"]
        assert rollback["ReadDeploymentHistory"]["resources"][0].endswith("/index/EnvironmentStatusIndex")
        assert rollback["AnnounceRollbacks"]["resources"] == ["${aws_sns_topic.rollbacks_topic.arn}"]
        assert "RollBackStages" not in recorder and "AnnounceRollbacks" not in recorder
        assert recorder["RecordDeployments"]["actions"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        # Rollbacks are counted by the recorder, from the rollback executions.
        assert "PublishPipelineMetrics" not in rollback and "PublishPipelineMetrics" in recorder
        age = statements("execution_age")
        assert age["ReadRunningExecutions"]["actions"] == [
            "codepipeline:GetPipelineState",
            "codepipeline:ListActionExecutions",
            "codepipeline:ListPipelineExecutions",
        ]
        assert age["ReadRunningExecutions"]["resources"] == [pipeline_arn(env_config.name)]
        assert not {"RecordDeployments", "RollBackStages"} & set(age)
        for role in ("rollback_role", "deployment_recorder_role", "execution_age_role"):
            (trust,) = monitoring.policy_statements(monitoring.resource("aws_iam_role", role)["assume_role_policy"])
            assert trust["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]
            assert condition(trust, "StringEquals", "aws:SourceAccount") == [env_config.account_id]


class TestEventRules:
    def test_alarm_rollback_rule(self, monitoring, env_config):
        rule = monitoring.resource("aws_cloudwatch_event_rule", "alarm_rollback_rule")
        assert rule["name"] == env_config.names.alarm_rollback_rule == f"kiro-pipeline-{env_config.name}-alarm-rollback"
        pattern = json.loads(rule["event_pattern"])
        assert pattern["source"] == ["aws.cloudwatch"]
        assert pattern["detail"]["state"] == {"value": ["ALARM"]}
        assert set(pattern["detail"]["alarmName"]) == {env_config.names.health_alarm(t) for t in naming.DEPLOY_STAGES}
        target = monitoring.resource("aws_cloudwatch_event_target", "alarm_rollback_target")
        assert target["arn"] == "${aws_lambda_function.rollback.arn}"
        permission = monitoring.resource("aws_lambda_permission", "alarm_rollback_permission")
        assert permission["source_arn"] == "${aws_cloudwatch_event_rule.alarm_rollback_rule.arn}"
        assert permission["principal"] == "events.amazonaws.com"

    def test_pipeline_events_reach_the_recorder_and_the_pipeline_log(self, monitoring, env_config):
        rule = monitoring.resource("aws_cloudwatch_event_rule", "pipeline_events_rule")
        pattern = json.loads(rule["event_pattern"])
        assert pattern == {
            "source": ["aws.codepipeline"],
            "detail-type": [
                "CodePipeline Pipeline Execution State Change",
                "CodePipeline Stage Execution State Change",
            ],
            "detail": {"pipeline": [env_config.names.pipeline]},
        }
        targets = {
            t["target_id"]: t["arn"]
            for t in monitoring.resources("aws_cloudwatch_event_target").values()
            if t["rule"] == "${aws_cloudwatch_event_rule.pipeline_events_rule.name}"
        }
        assert targets["pipeline_events"] == "${aws_lambda_function.deployment_recorder.arn}"
        assert targets["pipeline_log"].endswith("cross-stack-output-aws_cloudwatch_log_grouppipeline_log_grouparn}")


def test_dashboard(monitoring, env_config):
    dashboard = monitoring.only("aws_cloudwatch_dashboard")
    assert dashboard["dashboard_name"] == env_config.names.dashboard
    body = json.loads(dashboard["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == [
        "Pipeline executions",
        "Pipeline executions that deployed nothing",
        "Deployment duration and running age (seconds)",
        "Rollbacks",
        "Test coverage (%)",
        "Dead-letter queue: events the functions gave up on",
        "DORA: deployment frequency (per day)",
        "DORA: lead time and recovery time (median, seconds)",
        "DORA: change failure and rework rates (%)",
        "Target health (1 = healthy), from the health probe",
        "Alarm status",
    ]
    metrics = {m[1] for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]}
    assert metrics == {
        "DeploymentSuccess",
        "DeploymentFailure",
        # One count per execution outcome (the recorder's OUTCOME_METRICS).
        "BuildFailure",
        "ReleaseRejected",
        "ApprovalTimedOut",
        "ReleaseBlockedByGate",
        "ExecutionCanceledByUpdate",
        "ApproximateNumberOfMessagesVisible",
        "DeploymentDuration",
        "ExecutionAge",
        "RollbackCount",
        "TestCoverage",
        "HealthCheckStatus",
        # The five DORA metrics (issue: the dashboard shows them).
        "DeploymentFrequency",
        "LeadTimeForChanges",
        "ChangeFailureRate",
        "FailedDeploymentRecoveryTime",
        "DeploymentReworkRate",
    }
    # No widget overlaps another.
    cells = [
        (x, y)
        for w in body["widgets"]
        for x in range(w["x"], w["x"] + w["width"])
        for y in range(w["y"], w["y"] + w["height"])
    ]
    assert len(cells) == len(set(cells))
    health = body["widgets"][-2]["properties"]["metrics"]
    assert [m[5] for m in health] == list(naming.DEPLOY_STAGES)
    alarm_widget = body["widgets"][-1]
    alarm_arns = {
        f"arn:aws:cloudwatch:{env_config.region}:{env_config.account_id}:alarm:{a['alarm_name']}"
        for a in monitoring.resources("aws_cloudwatch_metric_alarm").values()
    }
    assert set(alarm_widget["properties"]["alarms"]) == alarm_arns
    graphs = {w["properties"]["title"]: w for w in body["widgets"]}
    env = env_config.name
    # The outcomes next to the deployments, side by side in the first row.
    assert (graphs["Pipeline executions"]["y"], graphs["Pipeline executions that deployed nothing"]["y"]) == (0, 0)
    assert graphs["Pipeline executions"]["properties"]["metrics"] == [
        ["KiroPipeline", "DeploymentSuccess", "Environment", env, {"stat": "Sum"}],
        ["KiroPipeline", "DeploymentFailure", "Environment", env, {"stat": "Sum"}],
    ]
    assert graphs["Pipeline executions that deployed nothing"]["properties"]["metrics"] == [
        ["KiroPipeline", name, "Environment", env, {"stat": "Sum"}]
        for name in (
            "BuildFailure",
            "ReleaseRejected",
            "ApprovalTimedOut",
            "ReleaseBlockedByGate",
            "ExecutionCanceledByUpdate",
        )
    ]
    assert graphs["Dead-letter queue: events the functions gave up on"]["properties"]["metrics"] == [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            f"kiro-pipeline-{env}-functions-dlq",
            {"stat": "Maximum"},
        ]
    ]


def test_the_incident_ledger_hears_every_way_out_of_alarm(monitoring, env_config):
    """ALARM opens an incident; OK and INSUFFICIENT_DATA end it, so an alarm
    that loses its data does not leave its incident open until it expires."""
    rule = monitoring.resource("aws_cloudwatch_event_rule", "incident_rule")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert sorted(pattern["detail"]["state"]["value"]) == ["ALARM", "INSUFFICIENT_DATA", "OK"]
    assert set(pattern["detail"]["alarmName"]) == {env_config.names.health_alarm(t) for t in naming.DEPLOY_STAGES}
    target = monitoring.resource("aws_cloudwatch_event_target", "incident_recorder_target")
    assert target["arn"] == "${aws_lambda_function.incident_recorder.arn}"
