"""`python -m ops ci-roles ENV --repository OWNER/REPO` on moto: the GitHub OIDC
provider and the plan and apply roles, their trust (held to what the
workflows' tokens carry), their permissions (each IAM action checked against
botocore's IAM model), idempotence and repair. moto does not evaluate IAM:
whether AWS grants exactly this is not checked here."""

from __future__ import annotations

import json
from urllib.parse import unquote

import boto3
import botocore.session
import pytest
import yaml

from environments import load
from ops import ci_access, cli
from tests.conftest import REPO

REPOSITORY = "acme/kiro-pipeline"
ENV = "production"


@pytest.fixture
def aws(ops_on_moto, monkeypatch):
    # moto knows AWS's managed policies (ReadOnlyAccess, PowerUserAccess) only when asked.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return ops_on_moto


def document(value):
    return json.loads(unquote(value)) if isinstance(value, str) else value


def deployed(kind: str):
    iam = boto3.client("iam")
    name = ci_access.role_name(load(ENV), kind)
    trust = document(iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"])
    inline = document(iam.get_role_policy(RoleName=name, PolicyName=ci_access.INLINE_POLICY)["PolicyDocument"])
    managed = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    return trust, inline, managed


def test_creates_the_provider_and_both_roles_then_changes_nothing(aws, capsys):
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    first = capsys.readouterr().out
    assert first.strip().endswith("7 change(s) made.")
    providers = boto3.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [ci_access.provider_arn(load(ENV))]
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    assert capsys.readouterr().out.strip().endswith("Nothing to change.")


def test_plan_trusts_pull_requests_and_main_and_apply_only_its_github_environment(aws):
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    for kind, subjects in {
        "plan": [f"repo:{REPOSITORY}:pull_request", f"repo:{REPOSITORY}:ref:refs/heads/main"],
        "apply": [f"repo:{REPOSITORY}:environment:{ENV}"],
    }.items():
        trust, _, _ = deployed(kind)
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Federated": ci_access.provider_arn(load(ENV))}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        # StringEquals, not StringLike: no wildcard can widen who is trusted.
        assert statement["Condition"] == {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": subjects,
            }
        }


def test_the_trust_matches_the_tokens_the_workflows_get():
    """A token's `sub` follows the job: a pull_request event, a job on main,
    or a job in a GitHub environment. Each workflow's jobs carry one of the
    subjects its role trusts."""
    workflows = REPO / ".github" / "workflows"
    plan = yaml.safe_load((workflows / "terraform-plan.yml").read_text())
    drift = yaml.safe_load((workflows / "terraform-drift.yml").read_text())
    apply_env = yaml.safe_load((workflows / "terraform-apply-environment.yml").read_text())
    subjects = ci_access.subjects(load(ENV), REPOSITORY, "plan")
    assert list(plan[True]) == ["pull_request"] and f"repo:{REPOSITORY}:pull_request" in subjects
    assert "schedule" in drift[True] and f"repo:{REPOSITORY}:ref:refs/heads/main" in subjects
    assert "environment" not in plan["jobs"]["plan"] and "environment" not in drift["jobs"]["refresh"]
    assert apply_env["jobs"]["apply"]["environment"] == "${{ inputs.environment }}"
    assert ci_access.subjects(load(ENV), REPOSITORY, "apply") == [f"repo:{REPOSITORY}:environment:{ENV}"]


def test_plan_reads_everything_but_data_and_apply_cannot_widen_itself(aws):
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    config = load(ENV)
    _, plan_inline, plan_managed = deployed("plan")
    assert plan_managed == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    by_sid = {s["Sid"]: s for s in plan_inline["Statement"]}
    assert [sid for sid, s in by_sid.items() if s["Effect"] == "Allow"] == ["ReadOwnFunctionsEnvironment"]
    assert by_sid["NoObjectsButTheState"]["NotResource"] == f"arn:aws:s3:::{config.state_bucket}/*"
    assert by_sid["NoItemsButTheStateDigest"]["NotResource"].endswith(f":table/{config.state_lock_table}")
    decrypt = by_sid["ReadOwnFunctionsEnvironment"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:lambda:FunctionArn": f"arn:aws:lambda:{config.region}:{config.account_id}"
        f":function:kiro-pipeline-{ENV}-*"
    }
    _, apply_inline, apply_managed = deployed("apply")
    assert apply_managed == ["arn:aws:iam::aws:policy/PowerUserAccess"]
    statements = {s["Sid"]: s for s in apply_inline["Statement"]}
    allow, deny = statements["TheEnvironmentsOwnRoles"], statements["NeverTheCiOrDeployerRoles"]
    assume = statements["NeverAssumeTheEnvironmentsRoles"]
    assert (assume["Effect"], assume["Action"], assume["Resource"]) == ("Deny", "sts:AssumeRole", allow["Resource"])
    assert "iam:AttachRolePolicy" not in allow["Action"]  # no stack attaches a managed policy
    # PassRole only with the service each role is for (tests/test_ci_release_denies.py).
    assert "iam:PassRole" not in allow["Action"]
    assert all(
        "iam:PassedToService" in str(s.get("Condition")) for s in statements.values() if s["Action"] == "iam:PassRole"
    )
    assert allow["Resource"] == f"arn:aws:iam::{config.account_id}:role/kiro-pipeline-{ENV}-*"
    assert set(deny["Resource"]) >= {
        f"arn:aws:iam::{config.account_id}:role/{ci_access.role_name(config, 'apply')}",
        f"arn:aws:iam::{config.account_id}:role/{ci_access.role_name(config, 'plan')}",
        f"arn:aws:iam::{config.account_id}:role/kiro-pipeline-{ENV}-*-deployer",
    }
    assert set(ci_access.ROLE_WRITES) <= set(deny["Action"])


def test_every_action_is_a_real_one_and_none_is_a_wildcard():
    session = botocore.session.get_session()
    services = {
        "iam": "iam",
        "s3": "s3",
        "secretsmanager": "secretsmanager",
        "sts": "sts",
        "kms": "kms",
        "dynamodb": "dynamodb",
        "logs": "logs",
        "codebuild": "codebuild",
        "codepipeline": "codepipeline",
        "cloudwatch": "cloudwatch",
        "lambda": "lambda",
        "events": "events",
        "scheduler": "scheduler",
    }
    # Permissions without an API of their own, each in the Service
    # Authorization Reference: GetObject of a version is GetObject with
    # VersionId, likewise PutObjectVersionAcl and DeleteObjectVersion
    # (list_amazons3.html); Invoke needs lambda:InvokeFunction, a function
    # URL lambda:InvokeFunctionUrl (list_awslambda.html); PartiQL statements
    # (ExecuteStatement...) need dynamodb:PartiQL* (list_amazondynamodb.html).
    permission_only = {
        "iam:PassRole",
        "s3:GetObjectVersion",
        "s3:PutObjectVersionAcl",
        "s3:DeleteObjectVersion",
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
        "dynamodb:PartiQLDelete",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
    }
    import dataclasses

    bounded = dataclasses.replace(load(ENV), iam_permissions_boundary_arn="arn:aws:iam::123456789012:policy/b")
    for config, kind in [(c, k) for c in (load(ENV), bounded) for k in ci_access.KINDS]:
        policy = ci_access.permissions_policy(config, kind)
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert "*" not in action, action
                prefix, operation = action.split(":")
                if action in permission_only:
                    continue
                assert operation in session.get_service_model(services[prefix]).operation_names, action


def test_a_hand_edited_trust_and_a_detached_policy_are_repaired(aws, capsys):
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    iam = boto3.client("iam")
    name = ci_access.role_name(load(ENV), "apply")
    wide = ci_access.trust_policy(load(ENV), REPOSITORY, "apply")
    wide["Statement"][0]["Condition"] = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(wide))
    iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess")
    capsys.readouterr()
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY]) == 0
    assert capsys.readouterr().out.strip().endswith("2 change(s) made.")
    trust, _, managed = deployed("apply")
    assert trust == ci_access.trust_policy(load(ENV), REPOSITORY, "apply")
    assert managed == ["arn:aws:iam::aws:policy/PowerUserAccess"]


@pytest.mark.parametrize("repository", ["acme", "acme/*", "acme/repo/extra", "*/kiro", "acme/re po", ""])
def test_a_repository_that_is_not_owner_slash_repo_is_refused_before_any_call(repository, capsys):
    assert cli.main(["ci-roles", ENV, "--repository", repository, "--print"]) != 0
    assert "--repository" in capsys.readouterr().err


def test_print_shows_every_policy_without_calling_aws(no_aws_credentials, capsys):
    assert cli.main(["ci-roles", ENV, "--repository", REPOSITORY, "--print"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["roles"]) == {ci_access.role_name(load(ENV), k) for k in ci_access.KINDS}


def test_the_wrong_account_is_refused_before_any_change(aws):
    import dataclasses

    from ops.aws import OpsError

    other = dataclasses.replace(load(ENV), account_id="210987654321")
    with pytest.raises(
        OpsError, match="credentials are for account 123456789012, but production lives in 210987654321"
    ):
        ci_access.CiRoles(other, REPOSITORY, boto3.Session()).run()
    assert boto3.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_a_provider_without_the_sts_audience_gets_it_added():
    """moto has neither AddClientIDToOpenIDConnectProvider nor its removal:
    botocore's Stubber answers, after checking each request against the IAM model."""
    from botocore.stub import Stubber

    config = load(ENV)
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = ci_access.provider_arn(config)
    with Stubber(iam) as stub:
        stub.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": [{"Arn": arn}]})
        stub.add_response(
            "get_open_id_connect_provider", {"ClientIDList": ["other"]}, {"OpenIDConnectProviderArn": arn}
        )
        stub.add_response(
            "add_client_id_to_open_id_connect_provider",
            {},
            {"OpenIDConnectProviderArn": arn, "ClientID": "sts.amazonaws.com"},
        )
        session = type("Session", (), {"client": lambda self, service: iam})()
        roles = ci_access.CiRoles(config, REPOSITORY, session)
        roles._provider()
        stub.assert_no_pending_responses()
    assert [s.changed for s in roles.steps] == [True]


def test_with_a_boundary_the_apply_role_makes_roles_only_under_it():
    import dataclasses

    boundary = "arn:aws:iam::123456789012:policy/kiro-pipeline-boundary"
    config = dataclasses.replace(load(ENV), iam_permissions_boundary_arn=boundary)
    statements = {s["Sid"]: s for s in ci_access.permissions_policy(config, "apply")["Statement"]}
    bounded = statements["OnlyUnderTheBoundary"]
    assert bounded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    assert set(bounded["Action"]) == set(ci_access.BOUNDED_WRITES) >= {"iam:CreateRole", "iam:PutRolePolicy"}
    # Nothing that accepts the boundary key is allowed without it.
    assert not set(ci_access.BOUNDED_WRITES) & set(statements["TheEnvironmentsOwnRoles"]["Action"])
    assert statements["NeverDropTheBoundary"]["Action"] == "iam:DeleteRolePermissionsBoundary"
    # Without a boundary the same writes are allowed plainly, and the docs say what that means.
    plain = {s["Sid"] for s in ci_access.permissions_policy(load(ENV), "apply")["Statement"]}
    assert "OnlyUnderTheBoundary" not in plain
