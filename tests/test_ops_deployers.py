"""`python -m ops deployer-roles ENV` on moto: the roles the deploy projects
assume, their trust, their permissions, idempotence, drift repair (also of
the trust earlier versions wrote), what preflight reads from a role's trust,
targets in other accounts, and the command run before any stack, in the
environment's own account, as the documented order and the rehearsal run it.

Whether IAM lets the deploy project in is judged in tests/test_iam_trust_eval.py:
moto cannot judge the trust half (see the moto test below)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote

import boto3
import pytest
from botocore.exceptions import ClientError

from environments import DIRECTORY_VARIABLE, ConfigError, load
from environments.config import standard_deploy_targets
from ops import cli, deployers, iam_roles
from tests.support.iam_trust_eval import MalformedPolicyDocument, Role, save_trust_policy, trust_before_v0_20
from tools import rehearse

ACCOUNT = "123456789012"  # moto's, and the fixtures'
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "environments"


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
        # The pipeline's account, narrowed to the project role by its ARN: a
        # principal that exists before pipeline-production does, and a
        # condition that IAM does not pin to one incarnation of the role.
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        assert statement["Condition"] == {
            "ArnEquals": {
                "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/kiro-pipeline-production-deploy-{stage}-role"
            }
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
    config = load("test")
    assert trust == deployers.trust_policy(config, config.deploy_target("test"))


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


def test_a_role_with_the_trust_of_an_earlier_version_is_repaired(aws, capsys):
    config = load("test")
    target = config.deploy_target("test")
    name = target.role_arn.split("/")[-1]
    iam = boto3.client("iam")
    earlier = trust_before_v0_20(deployers.project_role_arn(config, target))
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(earlier))
    assert deployers.trust_problems(config, target, iam.get_role(RoleName=name)["Role"])
    assert cli.main(["deployer-roles", "test"]) == 0
    assert f"+ {name}: trusted only by {deployers.project_role_arn(config, target)}" in capsys.readouterr().out
    assert deployers.trust_problems(config, target, iam.get_role(RoleName=name)["Role"]) == []


def as_iam_returns(document: dict) -> dict:
    """A GetRole `Role` whose trust is URL-encoded, as IAM sends it."""
    return {"RoleName": "r", "AssumeRolePolicyDocument": quote(json.dumps(document))}


def test_trust_problems_is_empty_for_the_policy_deployer_roles_writes_however_it_is_encoded():
    config = load("production")
    for target in config.deploy_targets:
        desired = deployers.trust_policy(config, target)
        assert deployers.trust_problems(config, target, {"AssumeRolePolicyDocument": desired}) == []
        assert deployers.trust_problems(config, target, as_iam_returns(desired)) == []


def test_trust_problems_names_what_is_wrong_and_the_command_that_repairs_it():
    config = load("test")
    target = config.deploy_target("staging")
    fix = f"python -m ops deployer-roles test --profile <a profile of account {ACCOUNT}>"
    earlier = trust_before_v0_20(deployers.project_role_arn(config, target))
    deleted = copy.deepcopy(earlier)
    deleted["Statement"][0]["Principal"] = {"AWS": "AROA1234567890EXAMPLE"}  # how IAM shows a deleted role
    widened = deployers.trust_policy(config, target)
    widened["Statement"][0].pop("Condition")
    cases = {
        "old form": (earlier, "IAM pinned it to that role's unique ID"),
        "deleted role": (deleted, "AROA1234567890EXAMPLE, the unique ID of a role that was deleted"),
        "any role of the account": (widened, "other than the one deployer-roles writes"),
        "unreadable": ({"AssumeRolePolicyDocument": "%7Bnot json"}, "other than the one deployer-roles writes"),
    }
    for case, (document, why) in cases.items():
        role_ = document if "AssumeRolePolicyDocument" in document else as_iam_returns(document)
        (line,) = deployers.trust_problems(config, target, role_)
        assert line.startswith("deployer role kiro-pipeline-test-staging-deployer: "), case
        assert why in line and line.endswith(fix), (case, line)


def _iam_json(statements: list[dict]) -> dict:
    """A synthesized policy document's statements (Terraform's
    aws_iam_policy_document form) as the IAM JSON moto evaluates. Left out:
    conditions (they only narrow their own statement, and none is about sts),
    and resources that are references to another stack's outputs (a key, a
    bucket, a table: never a role)."""
    found = []
    for statement in statements:
        resources = [r for r in statement["resources"] if "${" not in r]
        if resources and not statement.get("condition"):
            found.append(
                {
                    "Sid": statement["sid"],
                    "Effect": statement.get("effect", "Allow"),
                    "Action": statement["actions"],
                    "Resource": resources,
                }
            )
    return {"Version": "2012-10-17", "Statement": found}


def test_on_moto_the_deploy_projects_identity_policy_allows_its_deployer_role_and_no_other(aws, stacks):
    """The identity-policy half of the trust, with moto's IAM enforcement
    (`INITIAL_NO_AUTH_ACTION_COUNT` via moto's enable_iam_authentication).

    moto compares a trust policy's principals literally with the caller's ARN
    and evaluates few condition operators: it cannot judge an account
    principal narrowed by `ArnEquals aws:PrincipalArn`, the trust half, which
    tests/test_iam_trust_eval.py judges with an evaluator of the documented
    IAM rules. Here the deployer roles' trust is opened to `*` so that only
    the deploy project role's own policy, as pipeline-production synthesizes
    it, decides: it may assume its own target's deployer role, and no other."""
    from moto.core.authorization import enable_iam_authentication

    config = load("production")
    pipeline = stacks["pipeline-production"]
    assert cli.main(["deployer-roles", "production"]) == 0
    iam = boto3.client("iam")
    anyone = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    for target in config.deploy_targets:
        iam.update_assume_role_policy(RoleName=target.role_arn.split("/")[-1], PolicyDocument=json.dumps(anyone))
    iam.create_user(UserName="operator")
    iam.put_user_policy(
        UserName="operator",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    operator = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    for target in config.deploy_targets:
        project = deployers.project_role_arn(config, target)
        name = project.split("/")[-1]
        document = pipeline.resource("aws_iam_role_policy", f"deploy_{target.environment}_role_policy")["policy"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/operator"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName=name,
            PolicyName="deploy",
            PolicyDocument=json.dumps(_iam_json(pipeline.policy_statements(document))),
        )
    with enable_iam_authentication():
        for target in config.deploy_targets:
            project = deployers.project_role_arn(config, target)
            session = boto3.client("sts", **operator).assume_role(RoleArn=project, RoleSessionName="build")
            credentials = session["Credentials"]
            as_project = boto3.client(
                "sts",
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            as_project.assume_role(RoleArn=target.role_arn, RoleSessionName="deploy")
            for other in config.deploy_targets:
                if other != target:
                    with pytest.raises(ClientError, match="AccessDenied"):
                        as_project.assume_role(RoleArn=other.role_arn, RoleSessionName="deploy")


def environments_in_account(directory: Path, account: str) -> Path:
    """The fixture environments with another account id: a team's own value."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.glob("*.py"):
        text = re.sub(r'^ACCOUNT_ID = "\d{12}"$', f'ACCOUNT_ID = "{account}"', path.read_text(), flags=re.M)
        (directory / path.name).write_text(text)
    return directory


@pytest.mark.integration
def test_deployer_roles_run_before_any_stack_in_the_configured_account(tmp_path, monkeypatch):
    """The documented order, as the rehearsal runs it (tools/rehearse.before_stacks:
    `python -m ops bootstrap`, then `python -m ops deployer-roles`, real parser,
    real exit codes) on a moto server started in the environment's own account,
    not moto's default: no role of pipeline-test exists yet, and IAM would
    accept every trust policy written (the evaluator's save_trust_policy,
    which refuses a role principal that does not exist, as IAM does)."""
    team_account = "246813579024"
    directory = environments_in_account(tmp_path / "environments", team_account)
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(directory))
    config = load("test")
    assert config.account_id == team_account
    with rehearse.MotoServer(log=tmp_path / "moto.log", account=team_account) as server:
        env_vars = {**rehearse.aws_environment(server.url, config.region), DIRECTORY_VARIABLE: str(directory)}
        rehearse.before_stacks("test", config, server.url, env_vars)
        client = dict(
            endpoint_url=server.url,
            region_name=config.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert boto3.client("sts", **client).get_caller_identity()["Account"] == team_account
        iam = boto3.client("iam", **client)
        existing = [Role(r["Arn"], r["RoleId"]) for r in iam.list_roles()["Roles"]]
        assert not [r for r in existing if r.arn.endswith("-role")], "no pipeline role may exist yet"
        for target in config.deploy_targets:
            found = iam.get_role(RoleName=target.role_arn.split("/")[-1])["Role"]
            assert found["Arn"] == target.role_arn and f":{team_account}:" in found["Arn"]
            assert deployers.trust_problems(config, target, found) == []
            save_trust_policy(iam_roles.document(found["AssumeRolePolicyDocument"]), existing)
            with pytest.raises(MalformedPolicyDocument):
                save_trust_policy(trust_before_v0_20(deployers.project_role_arn(config, target)), existing)
        # And a second run, as a user would type it, changes nothing.
        again = subprocess.run(
            [sys.executable, "-m", "ops", "deployer-roles", "test"],
            cwd=rehearse.REPO,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env_vars},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().endswith("Nothing to change.")
