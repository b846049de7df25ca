"""`python -m ops deployer-roles ENV` on moto: the roles the deploy projects
assume, their trust, their permissions, idempotence, drift repair, and
targets in other accounts."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import unquote

import boto3
import pytest

from environments import ConfigError, load, standard_deploy_targets
from ops import cli, deployers

ACCOUNT = "123456789012"  # moto's


@pytest.fixture
def aws(ops_on_moto):
    return ops_on_moto


def document(value):
    return json.loads(unquote(value)) if isinstance(value, str) else value


def role(name):
    iam = boto3.client("iam")
    found = iam.get_role(RoleName=name)["Role"]
    policy = iam.get_role_policy(RoleName=name, PolicyName=deployers.POLICY_NAME)["PolicyDocument"]
    return document(found["AssumeRolePolicyDocument"]), document(policy)


def test_each_target_gets_a_role_trusted_only_by_its_deploy_project(aws, capsys):
    assert cli.main(["deployer-roles", "production"]) == 0
    out = capsys.readouterr().out
    assert out.count("+ kiro-pipeline-production-") == 6 and out.strip().endswith("6 change(s) made.")
    for stage in ("test", "staging", "production"):
        trust, permissions = role(f"kiro-pipeline-production-{stage}-deployer")
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {
            "AWS": f"arn:aws:iam::{ACCOUNT}:role/kiro-pipeline-production-deploy-{stage}-role"
        }
        assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
        allow, deny = permissions["Statement"]
        assert (allow["Effect"], allow["Action"]) == ("Allow", "sts:AssumeRole")
        assert allow["Resource"] == sorted(
            f"arn:aws:iam::{ACCOUNT}:role/{p}" for p in load("production").deployer_assumes
        )
        assert all(r.startswith(f"arn:aws:iam::{ACCOUNT}:role/cdk-") for r in allow["Resource"])
        assert deny["Effect"] == "Deny" and "arn:aws:s3:::kiro-pipeline-production-*" in deny["Resource"]


def test_the_trust_matches_the_role_the_pipeline_stack_gives_each_deploy_project(stacks):
    config = load("staging")
    pipeline = stacks["pipeline-staging"]
    project_roles = {r["name"] for r in pipeline.resources("aws_iam_role").values()}
    for target in config.deploy_targets:
        assert deployers.project_role_arn(config, target).split("/")[-1] in project_roles
    # And each project assumes exactly its target's deployer role.
    for target in config.deploy_targets:
        policy = pipeline.resource("aws_iam_role_policy", f"deploy_{target.environment}_role_policy")
        statements = {s["sid"]: s for s in pipeline.policy_statements(policy["policy"])}
        assert statements["AssumeTargetDeployRole"]["resources"] == [target.role_arn]


def test_a_second_run_changes_nothing_and_drift_is_repaired(aws, capsys):
    cli.main(["deployer-roles", "test"])
    capsys.readouterr()
    assert cli.main(["deployer-roles", "test"]) == 0
    assert capsys.readouterr().out.strip().endswith("Nothing to change.")
    iam = boto3.client("iam")
    iam.update_assume_role_policy(
        RoleName="kiro-pipeline-test-test-deployer",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )
    iam.delete_role_policy(RoleName="kiro-pipeline-test-test-deployer", PolicyName=deployers.POLICY_NAME)
    cli.main(["deployer-roles", "test"])
    assert "2 change(s) made." in capsys.readouterr().out
    trust, _ = role("kiro-pipeline-test-test-deployer")
    assert trust["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:role/kiro-pipeline-test-deploy-test-role"
    }


def test_targets_in_another_account_are_left_to_that_accounts_credentials(aws, capsys, monkeypatch):
    config = load("test")
    elsewhere = standard_deploy_targets("test", "210987654321", "https://{stage}-{env}.acme.io/health")
    mixed = dataclasses.replace(config, deploy_targets=(config.deploy_targets[0], *elsewhere[1:]))
    steps = deployers.DeployerRoles(mixed, boto3.Session()).run()
    skipped = [s for s in steps if "210987654321" in s.setting]
    assert len(skipped) == 2 and not any(s.changed for s in skipped)
    all_elsewhere = dataclasses.replace(config, deploy_targets=elsewhere)
    with pytest.raises(cli.OpsError, match="no deploy target of test is in account 123456789012"):
        deployers.DeployerRoles(all_elsewhere, boto3.Session()).run()


def test_deployer_assumes_is_validated():
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(load("test"), deployer_assumes=("*", "bad role"))
    assert len(caught.value.problems) == 2
    assert all(p.startswith("deployer_assumes:") for p in caught.value.problems)
