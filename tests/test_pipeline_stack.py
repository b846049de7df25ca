"""pipeline-{env}: stages, actions, approvals, trigger, projects, rollback and
cross-stack wiring, per environment, from the synthesized JSON."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from environments import load
from environments.config import ChangeWindow, GitHubSource
from tests.support.synth import SynthesizedStack, condition, statement_by_sid
from tests.support.templates import unescape
from topology import naming
from topology.projects import buildspec_file

REMOTE = re.compile(r"^\$\{data\.terraform_remote_state\.cross-stack-reference-input-core-(\w+)\.outputs\.([\w-]+)\}")


@pytest.fixture
def pipeline_stack(stacks, env_config) -> SynthesizedStack:
    return stacks[naming.stack_id("pipeline", env_config.name)]


@pytest.fixture
def pipeline(pipeline_stack):
    return pipeline_stack.resource("aws_codepipeline", "pipeline")


def stage(pipeline, name):
    (found,) = [s for s in pipeline["stage"] if s["name"] == name]
    return found


def actions(stage_json):
    return [(a["name"], a["run_order"]) for a in stage_json["action"]]


def project_by_name(stack, name):
    return stack.resource("aws_codebuild_project", name.replace("-", "_"))


def core_output_read(stack, value):
    """The core output a string reads through terraform_remote_state, or None."""
    match = REMOTE.match(value)
    return match.group(2) if match else None


class TestPipeline:
    def test_name_type_and_execution_mode(self, pipeline, env_config):
        assert pipeline["name"] == env_config.names.pipeline
        assert pipeline["pipeline_type"] == "V2"
        assert pipeline["execution_mode"] == "QUEUED"

    def test_stages_in_order(self, pipeline, env_config):
        expected = ["Source", "Build", "TestGate", "TestEnv", "StagingGate", "StagingEnv"]
        if env_config.approval_required:
            expected.append("ProductionEnv")
        if env_config.change_window.enabled:
            expected.append("ProductionWindow")
        assert [s["name"] for s in pipeline["stage"]] == [*expected, "ProductionGate", "ProductionDeploy"]

    def test_source_is_a_codeconnections_github_action(self, pipeline, env_config):
        (source,) = stage(pipeline, "Source")["action"]
        assert (source["category"], source["owner"], source["provider"], source["version"]) == (
            "Source",
            "AWS",
            "CodeStarSourceConnection",
            "1",
        )
        assert source["configuration"] == {
            "ConnectionArn": "${aws_codeconnections_connection.github_connection.arn}",
            "FullRepositoryId": f"{env_config.github.owner}/{env_config.github.repo}",
            "BranchName": env_config.github.branch,
            "OutputArtifactFormat": "CODE_ZIP",
        }
        assert source["output_artifacts"] == ["SourceOutput"]
        assert "OAuthToken" not in str(pipeline), "no GitHub version 1 (OAuth) action"

    def test_connection_is_named_and_created_pending(self, pipeline_stack, env_config):
        connection = pipeline_stack.only("aws_codeconnections_connection")
        assert connection["name"] == env_config.names.github_connection
        assert connection["provider_type"] == "GitHub"
        assert "host_arn" not in connection  # github.com, not a self-managed host

    def test_actions_and_run_order(self, pipeline, env_config):
        assert actions(stage(pipeline, "Build")) == [("Build", 1)]
        assert actions(stage(pipeline, "TestEnv")) == [("DeployTest", 1), ("IntegrationTest", 2)]
        assert actions(stage(pipeline, "StagingEnv")) == [("DeployStaging", 1), ("EndToEndTest", 2)]
        assert actions(stage(pipeline, "ProductionDeploy")) == [("DeployProduction", 1)]
        if env_config.approval_required:
            # The approval alone in its stage: a rejection fails it and nothing else.
            assert actions(stage(pipeline, "ProductionEnv")) == [("ApproveProduction", 1)]
        for name in naming.GATE_STAGES:
            if any(s["name"] == name for s in pipeline["stage"]):
                assert actions(stage(pipeline, name)) == [("Checkpoint", 1)]

    def test_approval_only_where_config_requires_it(self, pipeline, env_config):
        approvals = [a for s in pipeline["stage"] for a in s["action"] if a["category"] == "Approval"]
        assert bool(approvals) is env_config.approval_required
        assert bool(approvals) is (env_config.name == "production")
        for approval in approvals:
            assert approval["name"] == naming.APPROVAL_ACTION
            assert (approval["owner"], approval["provider"]) == ("AWS", "Manual")
            # Notifications come from the monitoring stack, never from a topic ARN here.
            assert "NotificationArn" not in approval["configuration"]

    def test_every_codebuild_action_runs_this_environments_project(self, pipeline, pipeline_stack):
        for stage_json in pipeline["stage"]:
            for action in stage_json["action"]:
                if action["provider"] == "CodeBuild":
                    name = {v: k for k, v in naming.PROJECT_ACTIONS.items()}.get(action["name"], naming.GATE_PROJECT)
                    assert (
                        action["configuration"]["ProjectName"]
                        == f"${{aws_codebuild_project.{name.replace('-', '_')}.name}}"
                    )

    def test_artifacts_flow(self, pipeline):
        build = stage(pipeline, "Build")["action"][0]
        assert (build["input_artifacts"], build["output_artifacts"]) == (["SourceOutput"], ["BuildOutput"])
        for name in ("TestEnv", "StagingEnv", "ProductionDeploy"):
            for action in stage(pipeline, name)["action"]:
                if action["name"].startswith("Deploy"):
                    assert action["input_artifacts"] == ["BuildOutput"]

    def test_execution_id_reaches_the_projects_that_record_results(self, pipeline):
        recorders = [
            a["name"]
            for s in pipeline["stage"]
            for a in s["action"]
            if "EnvironmentVariables" in a.get("configuration", {}) and a["name"] != naming.GATE_ACTION
        ]
        # The deploy actions pass it too: whose build record vouches for the bytes.
        deploys = ["DeployTest", "IntegrationTest", "DeployStaging", "EndToEndTest", "DeployProduction"]
        assert recorders == ["Build", *deploys]
        for s in pipeline["stage"]:
            for a in s["action"]:
                if a["name"] == naming.GATE_ACTION:
                    variables = {v["name"]: v["value"] for v in json.loads(a["configuration"]["EnvironmentVariables"])}
                    execution = "#{codepipeline.PipelineExecutionId}"
                    assert variables == {"GATE_STAGE": s["name"], "PIPELINE_EXECUTION_ID": execution}

    def test_trigger_runs_on_pushes_to_the_branch(self, pipeline, env_config):
        (trigger,) = pipeline["trigger"]
        assert trigger["provider_type"] == "CodeStarSourceConnection"
        assert trigger["git_configuration"]["source_action_name"] == "GitHub"
        (push,) = trigger["git_configuration"]["push"]
        assert push == {"branches": {"includes": [env_config.github.branch]}}

    def test_artifact_store_is_core_bucket_and_key_through_remote_state(self, pipeline, env_config):
        (store,) = pipeline["artifact_store"]
        assert store["type"] == "S3"
        assert store["encryption_key"]["type"] == "KMS"
        assert REMOTE.match(store["location"]).groups() == (
            env_config.name,
            "cross-stack-output-aws_s3_bucketartifacts_bucketbucket",
        )
        assert REMOTE.match(store["encryption_key"]["id"]).groups() == (
            env_config.name,
            "cross-stack-output-aws_kms_keykeyarn",
        )


class TestRollback:
    def test_deploy_stages_roll_back_on_failure_and_nothing_else_does(self, pipeline, env_config):
        rolled_back = {s["name"] for s in pipeline["stage"] if s.get("on_failure", {}).get("result") == "ROLLBACK"}
        assert rolled_back == {"TestEnv", "StagingEnv", "ProductionDeploy"}
        if env_config.approval_required:
            # A rejection or time-out fails the approval stage; a rollback
            # would undo a release that never deployed.
            approval = stage(pipeline, "ProductionEnv")
            assert "on_failure" not in approval and "on_success" not in approval

    def test_a_stage_that_rolls_back_has_no_entry_condition(self, pipeline):
        for name in ("TestEnv", "StagingEnv", "ProductionDeploy"):
            assert "before_entry" not in stage(pipeline, name), name

    def test_staging_and_production_bake_while_their_health_alarm_is_quiet(self, pipeline, env_config):
        assert "on_success" not in stage(pipeline, "TestEnv")
        for name, target in (("StagingEnv", "staging"), ("ProductionDeploy", "production")):
            condition_json = stage(pipeline, name)["on_success"]["condition"]
            assert condition_json["result"] == "ROLLBACK"
            # The target's health, and the probe's silence: a bake never passes blind.
            watched = {
                "BakeWhileHealthy": env_config.names.health_alarm(target),
                "BakeOnlyWhileWatched": env_config.names.health_probe_silent_alarm,
            }
            assert [rule["name"] for rule in condition_json["rule"]] == list(watched)
            for rule in condition_json["rule"]:
                assert rule["rule_type_id"] == {
                    "category": "Rule",
                    "owner": "AWS",
                    "provider": "CloudWatchAlarm",
                    "version": "1",
                }
                assert rule["configuration"] == {
                    "AlarmName": watched[rule["name"]],
                    "AlarmStates": "ALARM",
                    "WaitTime": str(env_config.health_check_duration_minutes),
                }


class TestDeliveryControls:
    def test_no_deploy_stage_is_entered_while_its_target_is_in_alarm(self, pipeline, env_config):
        names = [s["name"] for s in pipeline["stage"]]
        for target, name in naming.DEPLOY_STAGES.items():
            # The incident gate is the stage right before the deploy stage.
            assert names[names.index(name) - 1] == naming.INCIDENT_GATE_STAGES[target]
            entry = stage(pipeline, naming.INCIDENT_GATE_STAGES[target])["before_entry"]["condition"]
            assert entry["result"] == "FAIL"  # entry conditions FAIL or SKIP; SKIP is not for alarm rules
            (gate,) = entry["rule"]  # the gate alone: no other control shares its condition
            assert gate["name"] == naming.INCIDENT_GATE_RULE
            assert gate["rule_type_id"] == {
                "category": "Rule",
                "owner": "AWS",
                "provider": "CloudWatchAlarm",
                "version": "1",
            }
            assert gate["configuration"] == {
                "AlarmName": env_config.names.health_alarm(target),
                "AlarmStates": "ALARM",
                "WaitTime": "30",  # the window in which `ops override` can act
            }
        for name in ("Source", "Build"):
            assert "before_entry" not in stage(pipeline, name)

    def test_production_is_entered_only_in_its_change_window_where_one_is_set(self, pipeline, env_config):
        names = [s["name"] for s in pipeline["stage"]]
        window = env_config.change_window
        assert ("ProductionWindow" in names) is window.enabled
        if window.enabled:
            # After the approval, before the incident gate.
            assert names.index("ProductionEnv") < names.index("ProductionWindow") < names.index("ProductionGate")
            entry = stage(pipeline, "ProductionWindow")["before_entry"]["condition"]
            assert entry["result"] == "FAIL"
            (rule,) = entry["rule"]
            assert rule["name"] == naming.CHANGE_WINDOW_RULE
            assert rule["rule_type_id"]["provider"] == "DeploymentWindow"
            assert rule["configuration"] == {"Cron": window.cron, "TimeZone": window.time_zone}

    def test_the_build_retries_its_failed_actions_once_and_deploy_stages_roll_back_instead(self, pipeline):
        for s in pipeline["stage"]:
            result = s.get("on_failure", {}).get("result")
            if s["name"] in naming.RETRY_STAGES:
                assert s["on_failure"] == {"result": "RETRY", "retry_configuration": {"retry_mode": "FAILED_ACTIONS"}}
            else:
                assert result in (None, "ROLLBACK"), s["name"]


class TestProjects:
    def test_seven_projects_with_their_names(self, pipeline_stack, env_config):
        names = sorted(p["name"] for p in pipeline_stack.resources("aws_codebuild_project").values())
        assert names == sorted(env_config.names.codebuild_project(n) for n in naming.CODEBUILD_PROJECTS)
        assert len(names) == 7

    @pytest.mark.parametrize("name", naming.CODEBUILD_PROJECTS)
    def test_buildspec_is_the_versioned_file(self, pipeline_stack, name):
        project = project_by_name(pipeline_stack, name)
        assert project["source"]["type"] == "CODEPIPELINE"
        assert unescape(project["source"]["buildspec"]) == buildspec_file(name).read_text()
        assert project["artifacts"] == {"type": "CODEPIPELINE"}

    @pytest.mark.parametrize("name", naming.CODEBUILD_PROJECTS)
    def test_logs_encryption_cache_and_environment(self, pipeline_stack, env_config, name):
        project = project_by_name(pipeline_stack, name)
        construct = name.replace("-", "_")
        log_group = pipeline_stack.resource("aws_cloudwatch_log_group", f"{construct}_log_group")
        assert log_group["name"] == env_config.names.codebuild_log_group(name)
        assert log_group["retention_in_days"] == env_config.log_retention_days
        assert core_output_read(pipeline_stack, log_group["kms_key_id"]) == "cross-stack-output-aws_kms_keykeyarn"
        assert project["logs_config"] == {
            "cloudwatch_logs": {
                "group_name": f"${{aws_cloudwatch_log_group.{construct}_log_group.name}}",
                "status": "ENABLED",
            },
            "s3_logs": {"status": "DISABLED"},
        }
        assert core_output_read(pipeline_stack, project["encryption_key"]) == "cross-stack-output-aws_kms_keykeyarn"
        assert project["cache"]["type"] == "S3"
        assert project["cache"]["location"].endswith(f"/codebuild-cache/{env_config.names.codebuild_project(name)}")
        assert project["service_role"] == f"${{aws_iam_role.{construct}_role.arn}}"
        environment = project["environment"]
        assert environment["compute_type"] == env_config.build.compute_type
        assert environment["image"] == env_config.build.image
        assert environment["privileged_mode"] is False
        assert project["build_timeout"] == env_config.build.timeout_minutes
        assert project["queued_timeout"] == env_config.build.queued_timeout_minutes <= 480

    def test_environment_variables(self, pipeline_stack, env_config):
        def variables(name):
            return {
                v["name"]: v["value"]
                for v in project_by_name(pipeline_stack, name)["environment"]["environment_variable"]
            }

        build = variables("build")
        assert build["ENVIRONMENT"] == env_config.name
        assert build["COVERAGE_THRESHOLD"] == str(env_config.coverage_threshold_percent)
        assert build["METRICS_NAMESPACE"] == naming.METRICS_NAMESPACE
        assert core_output_read(pipeline_stack, build["DEPLOYMENTS_TABLE"]) == (
            "cross-stack-output-aws_dynamodb_tabledeployments_tablename"
        )
        for target in naming.DEPLOY_STAGES:
            deploy = variables(f"deploy-{target}")
            expected = env_config.deploy_target(target)
            assert deploy["TARGET_ENVIRONMENT"] == target
            assert deploy["DEPLOY_ROLE_ARN"] == expected.role_arn
            assert deploy["HEALTH_CHECK_URL"] == expected.health_check_url
            assert deploy["HEALTH_CHECK_DURATION"] == str(env_config.health_check_duration_minutes)
        assert variables("integration-test")["TARGET_ENVIRONMENT"] == "test"
        assert variables("e2e-test")["TARGET_ENVIRONMENT"] == "staging"
        # Each test project runs its own command, named field by field (the
        # table links them through projects.Command): a swap shows here.
        integration, e2e = variables("integration-test"), variables("e2e-test")
        assert unescape(integration["TEST_COMMAND"]) == env_config.commands.integration_test
        assert unescape(e2e["TEST_COMMAND"]) == env_config.commands.e2e_test
        assert (integration["RESULT_ATTRIBUTE"], e2e["RESULT_ATTRIBUTE"]) == ("integrationTests", "e2eTests")

    def test_no_secret_is_passed_as_plaintext(self, pipeline_stack):
        for project in pipeline_stack.resources("aws_codebuild_project").values():
            for variable in project["environment"]["environment_variable"]:
                assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY$", variable["name"]), variable["name"]

    def test_report_groups_are_encrypted_and_exported(self, pipeline_stack, env_config):
        groups = {g["name"]: g for g in pipeline_stack.resources("aws_codebuild_report_group").values()}
        names = env_config.names
        assert {n: g["type"] for n, g in groups.items()} == {
            names.report_group("build", "tests"): "TEST",
            names.report_group("build", "coverage"): "CODE_COVERAGE",
            names.report_group("integration-test", "tests"): "TEST",
            names.report_group("e2e-test", "tests"): "TEST",
        }
        for name, group in groups.items():
            destination = group["export_config"]["s3_destination"]
            assert group["export_config"]["type"] == "S3"
            assert destination["path"] == f"reports/{name}"
            assert (
                core_output_read(pipeline_stack, destination["encryption_key"])
                == "cross-stack-output-aws_kms_keykeyarn"
            )


class TestRoles:
    def test_pipeline_role_is_scoped_to_its_resources(self, pipeline_stack, env_config):
        role = pipeline_stack.resource("aws_iam_role", "pipeline_role")
        assert role["name"] == env_config.names.role("pipeline")
        (trust,) = pipeline_stack.policy_statements(role["assume_role_policy"])
        assert trust["principals"] == [{"type": "Service", "identifiers": ["codepipeline.amazonaws.com"]}]
        arn = f"arn:aws:codepipeline:{env_config.region}:{env_config.account_id}:{env_config.names.pipeline}"
        assert condition(trust, "ArnLike", "aws:SourceArn") == [arn]
        assert condition(trust, "StringEquals", "aws:SourceAccount") == [env_config.account_id]

        policy = pipeline_stack.resource("aws_iam_role_policy", "pipeline_role_policy")
        statements = pipeline_stack.policy_statements(policy["policy"])
        builds = statement_by_sid(statements, "RunOwnBuilds")
        assert builds["resources"] == [
            f"arn:aws:codebuild:{env_config.region}:{env_config.account_id}:project/{env_config.names.codebuild_project(k)}"
            for k in naming.CODEBUILD_PROJECTS
        ]
        assert statement_by_sid(statements, "UseGitHubConnection")["resources"] == [
            "${aws_codeconnections_connection.github_connection.arn}"
        ]
        alarms = statement_by_sid(statements, "WatchHealthAlarms")
        assert alarms["actions"] == ["cloudwatch:DescribeAlarms"]
        # Exactly the alarms the pipeline's conditions (entry gates and bakes) read.
        pipeline = pipeline_stack.resource("aws_codepipeline", "pipeline")
        watched = {
            rule["configuration"]["AlarmName"]
            for s in pipeline["stage"]
            for when in ("before_entry", "on_success")
            for rule in s.get(when, {}).get("condition", {}).get("rule", [])
            if rule["rule_type_id"]["provider"] == "CloudWatchAlarm"
        }
        assert sorted(alarms["resources"]) == sorted(
            f"arn:aws:cloudwatch:{env_config.region}:{env_config.account_id}:alarm:{name}" for name in watched
        )
        assert len(watched) == len(naming.DEPLOY_STAGES) + 1  # every target's health, and the probe's silence

    @pytest.mark.parametrize("name", naming.CODEBUILD_PROJECTS)
    def test_each_project_has_its_own_role(self, pipeline_stack, env_config, name):
        construct = name.replace("-", "_")
        role = pipeline_stack.resource("aws_iam_role", f"{construct}_role")
        assert role["name"] == env_config.names.role(name)
        (trust,) = pipeline_stack.policy_statements(role["assume_role_policy"])
        assert trust["principals"][0]["identifiers"] == ["codebuild.amazonaws.com"]
        assert condition(trust, "ArnLike", "aws:SourceArn") == [
            f"arn:aws:codebuild:{env_config.region}:{env_config.account_id}:project/{env_config.names.codebuild_project(name)}"
        ]
        statements = pipeline_stack.policy_statements(
            pipeline_stack.resource("aws_iam_role_policy", f"{construct}_role_policy")["policy"]
        )
        logs = statement_by_sid(statements, "WriteOwnLogs")
        assert logs["resources"] == [
            f"arn:aws:logs:{env_config.region}:{env_config.account_id}:log-group:"
            f"{env_config.names.codebuild_log_group(name)}:log-stream:*"
        ]
        assumes = [s for s in statements if "sts:AssumeRole" in s["actions"]]
        if name.startswith("deploy-"):
            target = name.removeprefix("deploy-")
            assert [s["resources"] for s in assumes] == [[env_config.deploy_target(target).role_arn]]
        else:
            assert assumes == []

    def test_role_names_match_the_key_policy_pattern(self, pipeline_stack, env_config):
        for role in pipeline_stack.resources("aws_iam_role").values():
            assert role["name"].startswith(env_config.names.pipeline + "-")


class TestOutputs:
    def test_outputs(self, pipeline_stack):
        # CDKTF adds `cross-stack-output-*` outputs of its own for monitoring's reads.
        named = {n for n in pipeline_stack.outputs if not n.startswith("cross-stack-output-")}
        assert named == {
            "pipeline_name",
            "pipeline_arn",
            "pipeline_role_arn",
            "github_connection_arn",
            "codebuild_project_names",
            "codebuild_role_arns",
        }
        assert set(pipeline_stack.outputs["codebuild_project_names"]["value"]) == set(naming.CODEBUILD_PROJECTS)


def test_cross_stack_values_resolve_through_remote_state_in_the_full_app(stacks, env_config):
    pipeline_stack = stacks[naming.stack_id("pipeline", env_config.name)]
    core = stacks[naming.stack_id("core", env_config.name)]
    reads = {
        core_output_read(pipeline_stack, v) for _, v in pipeline_stack.walk() if isinstance(v, str) and REMOTE.match(v)
    }
    assert reads <= {n for n in core.outputs if n.startswith("cross-stack-output-")}
    assert len(reads) >= 5
    assert not any(isinstance(v, str) and "aws_s3_bucket.artifacts_bucket" in v for _, v in pipeline_stack.walk()), (
        "core resources are only reachable through remote state"
    )


@pytest.fixture(scope="module")
def variant(tmp_path_factory, function_zips):
    """staging with approval switched on and path filters: config drives the stack."""
    from modules.app import build_app

    staging = load("staging")
    config = dataclasses.replace(
        staging,
        approval_required=True,
        change_window=ChangeWindow(enabled=True, cron="* * 8-11 ? * TUE,WED *", time_zone="Europe/Berlin"),
        github=GitHubSource(
            owner="acme",
            repo="worker",
            branch="release",
            included_paths=("src/**",),
            excluded_paths=("docs/**", "*.md"),
        ),
    )
    outdir = tmp_path_factory.mktemp("variant")
    # An extra synth, justified: the fixture environments switch none of these
    # settings on together (one environment, once per module).
    build_app([config], outdir=str(outdir)).synth()
    return SynthesizedStack(outdir / "stacks/pipeline-staging/cdk.tf.json").resource("aws_codepipeline", "pipeline")


def test_config_switches_on_approval_and_path_filters(variant):
    assert actions(stage(variant, "ProductionEnv")) == [("ApproveProduction", 1)]
    # The runbook's approve and reject commands name this stage and action.
    assert "on_failure" not in stage(variant, "ProductionEnv")
    assert stage(variant, "StagingEnv")["on_failure"] == {"result": "ROLLBACK"}
    (push,) = variant["trigger"][0]["git_configuration"]["push"]
    assert push == {
        "branches": {"includes": ["release"]},
        "file_paths": {"includes": ["src/**"], "excludes": ["docs/**", "*.md"]},
    }
    assert stage(variant, "Source")["action"][0]["configuration"]["FullRepositoryId"] == "acme/worker"
    window = {r["name"]: r for r in stage(variant, "ProductionWindow")["before_entry"]["condition"]["rule"]}
    assert window[naming.CHANGE_WINDOW_RULE]["configuration"] == {
        "Cron": "* * 8-11 ? * TUE,WED *",
        "TimeZone": "Europe/Berlin",
    }
