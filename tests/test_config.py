"""Environment configuration and naming: pure Python, no jsii."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

import environments
from environments import ENVIRONMENT_NAMES, ConfigError, UnknownEnvironmentError, load
from environments.config import (
    ArtifactLifecycle,
    BuildSettings,
    ChangeWindow,
    GitHubSource,
    StateBackend,
    partition_of,
)
from tests.conftest import REPO
from topology import naming


def replace(config, **changes):
    return dataclasses.replace(config, **changes)


class TestSeedValues:
    """The deployment guide's "Environment-Specific Considerations"."""

    @pytest.mark.parametrize(
        "env, approval, health_check, polling",
        [("test", False, 5, 5), ("staging", False, 5, 10), ("production", True, 10, 15)],
    )
    def test_environment_differences(self, env, approval, health_check, polling):
        config = load(env)
        assert config.approval_required is approval
        assert config.health_check_duration_minutes == health_check
        assert config.polling_interval_minutes == polling

    def test_shared_defaults(self, env_config):
        assert env_config.log_retention_days == 90
        assert env_config.artifact_lifecycle.transition_to_ia_days == 30
        assert env_config.artifact_lifecycle.expiration_days == 90
        assert env_config.coverage_threshold_percent == 80
        assert env_config.deployment_duration_threshold_minutes == 60
        assert env_config.github.branch == "main"

    def test_only_production_is_deletion_protected(self, env_config):
        assert env_config.deletion_protection is (env_config.name == "production")

    def test_configs_are_frozen(self, env_config):
        with pytest.raises(dataclasses.FrozenInstanceError):
            env_config.region = "eu-west-1"


class TestValidation:
    def test_every_problem_is_reported_at_once(self):
        with pytest.raises(ConfigError) as caught:
            replace(
                load("test"),
                account_id="1234",
                region="us-moon-1",
                health_check_duration_minutes=0,
                polling_interval_minutes=-5,
                coverage_threshold_percent=101,
            )
        fields = [p.split(":")[0] for p in caught.value.problems]
        assert fields == [
            "account_id",
            "region",
            "health_check_duration_minutes",
            "polling_interval_minutes",
            "coverage_threshold_percent",
        ]
        message = str(caught.value)
        assert "5 configuration error(s)" in message
        assert "'1234' is not a 12-digit AWS account ID" in message

    @pytest.mark.parametrize(
        "change, field, hint",
        [
            ({"account_id": "12345678901a"}, "account_id", "12-digit"),
            ({"region": "useast1"}, "region", "us-east-1"),
            ({"region": "cn-north-1"}, "region", "commercial regions"),
            ({"notification_email": "devops"}, "notification_email", "email"),
            ({"log_retention_days": 10}, "log_retention_days", "such as 7"),
            ({"deployment_duration_threshold_minutes": 0}, "deployment_duration_threshold_minutes", "1 to 10080"),
            ({"deployment_record_ttl_days": 0}, "deployment_record_ttl_days", "1 to 3650"),
            ({"deployment_record_ttl_days": 3_000_000}, "deployment_record_ttl_days", "1 to 3650"),
            ({"health_check_duration_minutes": 4}, "health_check_duration_minutes", "5 to 1440"),
            ({"polling_interval_minutes": 1441}, "polling_interval_minutes", "1 to 1440"),
            ({"build": BuildSettings(queued_timeout_minutes=481)}, "build.queued_timeout_minutes", "5 to 480"),
            ({"account_id": "123456789012\n"}, "account_id", "12-digit"),
            ({"account_id": "１２３４５６７８９０１２"}, "account_id", "12-digit"),
            ({"github": GitHubSource("org", "repo", "feature/x.lock")}, "github.branch", ".lock"),
            ({"github": GitHubSource("org", "repo", "bad branch")}, "github.branch", "spaces"),
            ({"github": GitHubSource("org", "repo", "main\n")}, "github.branch", "control"),
            ({"github": GitHubSource("org", "repo", "rel@{1}")}, "github.branch", "@{"),
            ({"github": GitHubSource("org", "repo", "a/.hidden")}, "github.branch", "start with '.'"),
            ({"state_backend": StateBackend(bucket="my..bucket")}, "state_backend.bucket", "adjacent dots"),
            ({"state_backend": StateBackend(bucket="192.168.1.10")}, "state_backend.bucket", "IP address"),
            ({"state_backend": StateBackend(bucket="xn--bucket")}, "state_backend.bucket", "reserved"),
            ({"state_backend": StateBackend(bucket="bucket-s3alias")}, "state_backend.bucket", "reserved"),
            ({"coverage_threshold_percent": -1}, "coverage_threshold_percent", "0 to 100"),
            ({"change_window": ChangeWindow(cron="9-17 MON-FRI")}, "change_window.cron", "not 6 or 7"),
            ({"change_window": ChangeWindow(cron="* * 9-16 ? * MON-THU * 1")}, "change_window.cron", "6 or 7"),
            ({"change_window": ChangeWindow(cron="30 * 9-16 ? * MON-THU *")}, "change_window.cron", "seconds"),
            ({"change_window": ChangeWindow(cron="* * 9-16 * * MON-THU *")}, "change_window.cron", "'?'"),
            ({"change_window": ChangeWindow(cron="* * 9-16 ? * MON;THU *")}, "change_window.cron", "day-of-week"),
            ({"change_window": ChangeWindow(time_zone="CST")}, "change_window.time_zone", "ambiguous"),
            ({"change_window": ChangeWindow(time_zone="UTC+25:00")}, "change_window.time_zone", "UTC+14:00"),
            ({"kms_deletion_window_days": 3}, "kms_deletion_window_days", "7 to 30"),
            ({"artifacts_bucket_suffix": "Bad_Suffix"}, "artifacts_bucket_suffix", "lowercase"),
            ({"artifacts_bucket_suffix": "x" * 40}, "artifacts_bucket_suffix", "3 to 63 characters"),
            ({"github": GitHubSource("-bad-", "repo")}, "github.owner", "GitHub"),
            ({"github": GitHubSource("org", "re po")}, "github.repo", "repository"),
            ({"github": GitHubSource("org", "repo", "a..b")}, "github.branch", "branch"),
            (
                {"artifact_lifecycle": ArtifactLifecycle(transition_to_ia_days=10)},
                "artifact_lifecycle.transition_to_ia_days",
                "30 days",
            ),
            (
                {"artifact_lifecycle": ArtifactLifecycle(expiration_days=30)},
                "artifact_lifecycle.expiration_days",
                "later than",
            ),
            ({"state_backend": StateBackend(bucket="Not_A_Bucket")}, "state_backend.bucket", "S3 bucket name"),
            (
                {"state_backend": StateBackend(dynamodb_locking=False, s3_native_locking=False)},
                "state_backend",
                "at least one",
            ),
            ({"name": "qa"}, "name", "test, staging, production"),
        ],
    )
    def test_each_rule_names_its_field(self, change, field, hint):
        with pytest.raises(ConfigError) as caught:
            replace(load("staging"), **change)
        assert len(caught.value.problems) == 1, caught.value.problems
        problem = caught.value.problems[0]
        assert problem.startswith(f"{field}:"), problem
        assert hint in problem

    def test_wrong_types_do_not_hide_the_other_problems(self):
        with pytest.raises(ConfigError) as caught:
            replace(
                load("test"),
                approval_required="yes",
                polling_interval_minutes="5",
                account_id="1234",
                kms_deletion_window_days=3,
                build=BuildSettings(timeout_minutes="60", queued_timeout_minutes=1),
            )
        assert caught.value.problems == (
            "approval_required: expected bool, got str 'yes'",
            "polling_interval_minutes: expected int, got str '5'",
            "build.timeout_minutes: expected int, got str '60'",
            "account_id: '1234' is not a 12-digit AWS account ID (see `aws sts get-caller-identity --query Account`)",
            "kms_deletion_window_days: must be 7 to 30 days (what KMS accepts), got 3",
            "build.queued_timeout_minutes: must be 5 to 480 minutes (what CodeBuild accepts), got 1",
        )

    def test_every_commercial_region_is_accepted(self):
        # The health probe publishes in the pipeline's own region, so no
        # region is tied to Route 53's us-east-1 metrics any more.
        for region in ("eu-west-1", "eu-central-2", "ap-southeast-7", "il-central-1", "sa-east-1"):
            assert replace(load("test"), region=region).region == region

    def test_other_partitions_are_refused_with_the_reason(self):
        for region, partition in (("us-gov-west-1", "aws-us-gov"), ("cn-northwest-1", "aws-cn")):
            with pytest.raises(ConfigError) as caught:
                replace(load("test"), region=region)
            (problem,) = caught.value.problems
            assert problem.startswith(f"region: '{region}' is in the {partition} partition")

    def test_partition_follows_region(self):
        assert load("test").partition == "aws"
        for region, partition in (
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("eu-west-1", "aws"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("us-isoz-east-1", None),
        ):
            assert partition_of(region) == partition

    @pytest.mark.parametrize("zone", ["UTC", "UTC-03:30", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
    def test_change_window_time_zones_aws_documents_are_accepted(self, zone):
        window = ChangeWindow(enabled=True, cron="* 0 9-17 ? * MON-FRI *", time_zone=zone)
        assert replace(load("production"), change_window=window).change_window.time_zone == zone


class TestSelection:
    def test_unknown_names_are_listed_with_the_valid_ones(self):
        with pytest.raises(UnknownEnvironmentError) as caught:
            environments.select(["prod", "test", "qa"])
        assert str(caught.value) == "unknown environment 'prod', 'qa': valid names are test, staging, production"

    def test_load_all_in_dependency_free_order(self):
        assert [c.name for c in environments.load_all()] == list(ENVIRONMENT_NAMES)

    def test_the_suite_reads_its_fixture_environments_and_the_committed_files_load_too(self, monkeypatch):
        """conftest points KIRO_ENVIRONMENTS_DIR at tests/fixtures/environments/;
        the team's own files are checked only for loading (shape, not values)."""
        fixtures = REPO / "tests" / "fixtures" / "environments"
        assert os.environ[environments.DIRECTORY_VARIABLE] == str(fixtures)
        assert Path(environments.module("test").__file__) == fixtures / "test.py"
        monkeypatch.delenv(environments.DIRECTORY_VARIABLE)
        assert Path(environments.module("test").__file__) == REPO / "environments" / "test.py"
        assert [c.name for c in environments.load_all()] == list(ENVIRONMENT_NAMES)

    def test_a_directory_without_the_file_names_the_variable(self, monkeypatch, tmp_path):
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(tmp_path))
        with pytest.raises(ConfigError, match=f"KIRO_ENVIRONMENTS_DIR={tmp_path}: .*test.py does not exist"):
            environments.load("test")

    def test_errors_of_several_environments_are_combined(self, monkeypatch):
        def broken_module(env):
            raise ConfigError(env, [f"account_id: broken in {env}"])

        monkeypatch.setattr(environments, "module", broken_module)
        with pytest.raises(ConfigError) as caught:
            environments.select(["test", "staging"])
        assert caught.value.problems == ("test: account_id: broken in test", "staging: account_id: broken in staging")

    def test_cli_validator_exit_codes(self):
        ok = subprocess.run([sys.executable, "-m", "environments"], cwd=REPO, capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.count("account 123456789012") == 3
        bad = subprocess.run([sys.executable, "-m", "environments", "prod"], cwd=REPO, capture_output=True, text=True)
        assert bad.returncode == 2
        assert "valid names are test, staging, production" in bad.stderr


class TestNaming:
    def test_seed_names(self):
        names = load("test").names
        assert names.pipeline == "kiro-pipeline-test"
        assert names.artifacts_bucket == "kiro-pipeline-test-artifacts"
        assert names.deployments_table == "kiro-pipeline-test-deployments"
        assert names.kms_alias == "alias/kiro-pipeline-test-key"
        assert names.pipeline_log_group == "/aws/codepipeline/kiro-pipeline-test"
        assert names.rollback_log_group == "/aws/lambda/kiro-pipeline-test-rollback"
        assert names.deployments_index == "EnvironmentStatusIndex"

    def test_every_name_follows_the_pattern(self, env_config):
        names = env_config.names
        prefix = f"kiro-pipeline-{env_config.name}"
        for value in (
            names.artifacts_bucket,
            names.deployments_table,
            names.kms_key,
            names.state_bucket,
            names.state_lock_table,
        ):
            assert value.startswith(prefix + "-"), value

    def test_bucket_suffix_is_optional(self):
        assert (
            replace(load("test"), artifacts_bucket_suffix="acme").names.artifacts_bucket
            == "kiro-pipeline-test-artifacts-acme"
        )

    def test_state_backend_defaults_are_unique_per_account_and_overridable(self):
        config = load("production")
        assert config.state_bucket == "kiro-pipeline-production-tfstate-123456789012"
        assert config.state_lock_table == "kiro-pipeline-production-tfstate-lock"
        custom = replace(config, state_backend=StateBackend(bucket="acme-tfstate", lock_table="acme-locks"))
        assert (custom.state_bucket, custom.state_lock_table) == ("acme-tfstate", "acme-locks")

    def test_stack_ids(self):
        assert [naming.stack_id(c, "test") for c in naming.STACK_CONCERNS] == [
            "core-test",
            "pipeline-test",
            "monitoring-test",
        ]
        with pytest.raises(ValueError, match="expected one of core, pipeline, monitoring"):
            naming.stack_id("network", "test")
        assert naming.state_key("core-test") == "core-test/terraform.tfstate"

    def test_config_and_naming_do_not_import_cdktf(self):
        code = (
            "import environments, topology.naming, ops.bootstrap, ops.cli, sys; "
            "print(any(m.startswith(('cdktf', 'jsii')) for m in sys.modules))"
        )
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "False"

    def test_environments_and_topology_are_leaves(self):
        """environments reads topology, and the value rules it shares with the
        functions that consume the values (functions/shared/urls.py and
        window.py, standard library only); topology reads only the stage
        names and record attributes of the functions' contract, their one home."""
        code = (
            "import environments, topology.naming, topology.projects, topology.functions, sys; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'modules', 'ops', 'tools', 'boto3', 'cdktf'}), "
            "sorted(m for m in sys.modules if m.startswith('functions.')))"
        )
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == (
            "[] ['functions.shared', 'functions.shared.contract', 'functions.shared.contract.records', "
            "'functions.shared.contract.stages', "
            "'functions.shared.urls', 'functions.shared.window']"
        )


class TestTopology:
    """Each environment's pipeline deploys only to its own targets, and only
    production's, behind its approval, is a production target."""

    def test_every_environment_has_its_own_targets(self):
        configs = environments.load_all()
        roles = [t.role_arn for c in configs for t in c.deploy_targets]
        urls = [t.health_check_url for c in configs for t in c.deploy_targets]
        assert len(set(roles)) == len(roles) == 9 and len(set(urls)) == len(urls) == 9
        for config in configs:
            for target in config.deploy_targets:
                assert target.role_arn.endswith(f":role/kiro-pipeline-{config.name}-{target.environment}-deployer")
                assert config.name in target.health_check_url

    def test_only_productions_production_stage_is_a_production_target(self):
        production_targets = [
            (c.name, t.environment) for c in environments.load_all() for t in c.deploy_targets if t.production
        ]
        assert production_targets == [("production", "production")]
        assert load("production").approval_required

    def test_a_production_target_without_approval_is_refused(self):
        with pytest.raises(ConfigError) as caught:
            replace(load("production"), approval_required=False)
        (problem,) = caught.value.problems
        assert problem.startswith("approval_required: this pipeline deploys a production target")

    def test_a_production_target_in_an_earlier_stage_is_refused_even_with_approval(self):
        config = load("production")
        targets = tuple(
            dataclasses.replace(t, production=t.environment in ("staging", "production")) for t in config.deploy_targets
        )
        with pytest.raises(ConfigError) as caught:
            replace(config, deploy_targets=targets)
        (problem,) = caught.value.problems
        assert "deployed by the staging stage, which has no manual approval" in problem

    def test_two_environments_sharing_a_role_or_url_are_refused(self, monkeypatch):
        staging = load("staging")
        production = load("production")
        shared = tuple(
            dataclasses.replace(t, role_arn=p.role_arn, health_check_url=p.health_check_url)
            if t.environment == "production"
            else t
            for t, p in zip(staging.deploy_targets, production.deploy_targets, strict=True)
        )
        problems = environments.config.topology_problems([replace(staging, deploy_targets=shared), production])
        assert len(problems) == 2
        assert (
            "deploy role 'arn:aws:iam::123456789012:role/kiro-pipeline-production-production-deployer' is shared by "
            "staging/production, production/production" in problems[0]
        )
        assert "health URL" in problems[1]

    def test_select_checks_the_selected_against_every_other_environment(self, monkeypatch):
        production = load("production")
        staging_module = environments.module("staging")

        clash = replace(
            staging_module.CONFIG,
            deploy_targets=production.deploy_targets[:2]
            + (dataclasses.replace(production.deploy_targets[2], production=False),),
        )
        monkeypatch.setattr(staging_module, "CONFIG", clash)
        with pytest.raises(ConfigError) as caught:
            environments.select(["staging"])
        assert len(caught.value.problems) == 6  # three roles, three URLs
        assert all("shared by staging/" in p for p in caught.value.problems)


@pytest.mark.parametrize(
    "boundary",
    [
        "arn:aws:iam::999999999999:policy/boundary",  # another account
        "arn:aws:iam::123456789012:role/boundary",  # a role, not a policy
        "kiro-boundary",  # a name, not an ARN
        "arn:aws:iam::123456789012:policy/",  # no name
    ],
)
def test_a_permissions_boundary_must_be_a_policy_of_this_account(boundary):
    with pytest.raises(ConfigError) as caught:
        replace(load("test"), iam_permissions_boundary_arn=boundary)
    (problem,) = caught.value.problems
    assert problem.startswith(f"iam_permissions_boundary_arn: {boundary!r} is not a managed policy of this account")
    assert "arn:aws:iam::123456789012:policy/NAME" in problem


def test_a_permissions_boundary_with_a_path_is_accepted():
    config = replace(load("test"), iam_permissions_boundary_arn="arn:aws:iam::123456789012:policy/team/kiro-boundary")
    assert config.iam_permissions_boundary_arn.endswith("team/kiro-boundary")
