"""`python -m ops preflight ENV`: each check passes, and fails with its fix.

moto for STS, S3, DynamoDB, IAM, SSM and Lambda's function concurrency.
What moto does not implement (Lambda's GetAccountSettings, Service Quotas
for CodeBuild, CodeConnections) is answered by tests/support/fake_quotas.py,
whose answers and requests are checked against botocore's shapes.

Issue 22's frictions here: a new account's Lambda concurrency ("Why" 2) and
what else a first deploy meets ("Why" 11): the pinned provider, the CodeBuild
build quota, the GitHub connection's first execution, the deployer roles'
trust, each target account's CDK bootstrap.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from environments import load
from environments.config import GitHubSource, standard_deploy_targets
from functions.shared import stages
from ops import bootstrap, cli, common, deployers, preflight
from tests.support import fake_quotas
from tests.support.sessions import StubbingSession
from tools import terraform_cli

REPO = Path(__file__).resolve().parent.parent
REAL_ACCOUNT = "123456789012"  # moto's account: the one the credentials belong to
OTHER_ACCOUNT = "210987654321"
SMALL = "Concurrently running builds for Linux/Small environment"
CONNECTION = "kiro-pipeline-test-github"


def real(config, account: str = REAL_ACCOUNT):
    """`config` with the placeholders replaced (the targets in `account`)."""
    return dataclasses.replace(
        config,
        github=GitHubSource(owner="acme", repo="worker"),
        notification_email="ops@acme.io",
        deploy_targets=standard_deploy_targets(config.name, account, "https://{stage}-{env}.acme.io/health"),
    )


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test reaches beyond this machine: the registry does not answer, and
    Terraform does not look for a newer version of itself."""
    monkeypatch.setattr(terraform_cli, "registry_reachable", lambda timeout=3.0: False)
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")


@pytest.fixture
def aws(aws_credentials, monkeypatch):
    """moto, with a healthy new-ish account where moto has no API: a Lambda
    limit of 1,000, five Linux/Small builds, no GitHub connection yet."""
    with mock_aws():
        session = StubbingSession()
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        fake_quotas.answer(session.client("lambda"), "get_account_settings", fake_quotas.lambda_account(1000, 1000))
        fake_quotas.answer(
            session.client("service-quotas"),
            "list_service_quotas",
            fake_quotas.quotas(fake_quotas.service_quota(SMALL, "L-9D07B6EF", 5.0)),
        )
        fake_quotas.answer(session.client("codeconnections"), "list_connections", {"Connections": []})
        yield session


def check(checks, prefix):
    (found,) = [c for c in checks if c.label.startswith(prefix)]
    return found


def fake_terraform(version):
    return dict(
        which=lambda name: "/usr/bin/terraform",
        run=lambda *a, **k: type("Done", (), {"stdout": json.dumps({"terraform_version": version})})(),
    )


def test_terraform_is_found_and_its_version_checked():
    assert preflight.terraform_version(**fake_terraform("1.11.4")).status == "ok"
    old = preflight.terraform_version(**fake_terraform("1.9.8"))
    assert old.status == "fail" and "1.10 or newer" in old.detail
    missing = preflight.terraform_version(which=lambda name: None)
    assert missing.status == "fail" and "install it" in missing.detail


def test_the_guides_placeholders_are_refused_and_named():
    found = preflight.placeholders(load("test"))
    assert found.status == "fail"
    for text in ("account_id 123456789012", "github.owner 'your-org'", "devops-team@example.com", "set real values"):
        assert text in found.detail
    assert preflight.placeholders(dataclasses.replace(real(load("test")), account_id="210987654321")).status == "fail"


# --- the pinned provider (no AWS, no download) --------------------------------


def mirror(root: Path, *versions: str) -> Path:
    """A filesystem mirror (unpacked layout) holding hashicorp/aws `versions`."""
    for version in versions:
        unpacked = root / terraform_cli.PROVIDER / version / terraform_cli._platform()
        unpacked.mkdir(parents=True, exist_ok=True)
        (unpacked / f"terraform-provider-aws_v{version}_x5").write_text("")
    return root


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine of its own: a home, no XDG data directory, no mirror of the
    project's tools; what Terraform finds is what the test puts there."""
    monkeypatch.setattr(terraform_cli, "KNOWN_MIRRORS", ())
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "XDG_DATA_DIRS": str(tmp_path / "no-data-dirs")}


def unreachable():
    raise AssertionError("the registry was probed although a mirror decides")


@pytest.mark.slow  # reads a 37 MB bundle
def test_the_pin_is_the_one_the_bindings_were_generated_from():
    # tests/test_core_stack.py holds that synthesis writes the same pin.
    assert preflight.pinned_provider_version() == "6.25.0"


def test_a_mirror_in_the_cli_configuration_that_holds_the_pin_is_enough(machine, tmp_path):
    store = mirror(tmp_path / "mirror", "5.100.0", "6.25.0")
    config = tmp_path / "cli.tfrc"
    config.write_text(
        "# the team's offline setup\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{store}"  // every provider\n    include = ["hashicorp/*"]\n  }}\n'
        '  /* nothing from the network */\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        "}\n"
    )
    found = preflight.provider_installation("6.25.0", {**machine, "TF_CLI_CONFIG_FILE": str(config)}, unreachable)
    assert found.status == "ok", found.line()
    assert found.detail.startswith(f"the filesystem mirror {store} holds it")


def test_only_another_version_at_hand_fails_and_says_which_and_what_that_means(machine, tmp_path):
    """This machine's situation: a mirror of 5.100.0, stacks that pin 6.25.0."""
    store = mirror(tmp_path / "mirror", "5.100.0")
    config = tmp_path / "cli.tfrc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{store}"\n  }}\n'
        '  direct {\n    exclude = ["hashicorp/aws"]\n  }\n}\n'
    )
    found = preflight.provider_installation("6.25.0", {**machine, "TF_CLI_CONFIG_FILE": str(config)}, unreachable)
    assert found.status == "fail"
    assert f"{store} holds 5.100.0, not the exact 6.25.0 the stacks pin: terraform init will fail here" in found.detail
    assert "approximate with another version (docs/development.md), a deploy cannot" in found.detail
    assert "put 6.25.0 in a filesystem mirror (`terraform providers mirror DIR`" in found.detail
    assert f"name it in the provider_installation of {config}" in found.detail


def test_a_mirror_the_cli_configuration_does_not_name_is_said_as_such(machine, tmp_path, monkeypatch):
    """The project's tools find /opt/tf-plugins by themselves; terraform init does not."""
    store = mirror(tmp_path / "opt-tf-plugins", "5.100.0")
    monkeypatch.setattr(terraform_cli, "KNOWN_MIRRORS", (str(store),))
    found = preflight.provider_installation("6.25.0", machine, lambda: False)
    assert found.status == "fail"
    assert "installs it directly from registry.terraform.io, which does not answer" in found.detail
    assert f"{store} (which terraform init does not use) holds 5.100.0" in found.detail


def test_direct_installation_needs_a_registry_that_answers(machine):
    online = preflight.provider_installation("6.25.0", machine, lambda: True)
    assert online.status == "ok" and "downloads it from registry.terraform.io" in online.detail
    offline = preflight.provider_installation("6.25.0", machine, lambda: False)
    assert offline.status == "fail" and "no mirror on this machine holds any hashicorp/aws" in offline.detail


def test_a_network_mirror_is_said_and_not_checked(machine, tmp_path):
    config = tmp_path / "cli.tfrc"
    config.write_text(
        'provider_installation {\n  network_mirror {\n    url = "https://mirror.acme.io/tf/"\n  }\n'
        '  direct {\n    exclude = ["*/*"]\n  }\n}\n'
    )
    found = preflight.provider_installation("6.25.0", {**machine, "TF_CLI_CONFIG_FILE": str(config)}, unreachable)
    assert found.status == "warn"
    assert found.detail.startswith("not checked: it comes from the network mirror https://mirror.acme.io/tf/")


def test_an_implied_mirror_takes_the_provider_away_from_direct_installation(machine):
    """Terraform's implied configuration excludes from `direct` every provider
    an implied mirror holds: a stray 5.100.0 in ~/.terraform.d/plugins makes
    6.25.0 uninstallable even online."""
    mirror(Path(machine["HOME"]) / ".terraform.d" / "plugins", "5.100.0")
    found = preflight.provider_installation("6.25.0", machine, lambda: True)
    assert found.status == "fail", found.line()
    assert "offers no method that can provide it" in found.detail and "holds 5.100.0" in found.detail


# --- Lambda concurrency ("Why" 2) ---------------------------------------------


def reserving(config):
    return dataclasses.replace(config, reserve_function_concurrency=True)


def test_reservations_that_would_leave_less_than_100_unreserved_are_refused(aws):
    config = reserving(real(load("test")))
    fake_quotas.answer(aws.client("lambda"), "get_account_settings", fake_quotas.lambda_account(1000, 105))
    found = preflight.Preflight(config, aws).lambda_concurrency()
    assert found.status == "fail", found.line()
    assert "test's functions reserve 13, which would leave 92 of the account's 1000 unreserved" in found.detail
    assert "Lambda keeps at least 100 unreserved" in found.detail
    assert "set reserve_function_concurrency=False in environments/test.py" in found.detail
    # A new account (limit 10): any reservation leaves less than the whole limit.
    fake_quotas.answer(aws.client("lambda"), "get_account_settings", fake_quotas.lambda_account(10, 10))
    found = preflight.Preflight(config, aws).lambda_concurrency()
    assert found.status == "fail" and "Lambda keeps at least 10 unreserved" in found.detail
    assert "--service-code lambda --quota-code L-B99A9384 --desired-value 1000" in found.detail


def test_the_environments_own_reservations_are_not_counted_twice(aws):
    """A redeploy replaces the functions: what they reserve now comes back."""
    config = reserving(real(load("test")))
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName=config.names.lambda_function("deployment-recorder"),
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    client.put_function_concurrency(
        FunctionName=config.names.lambda_function("deployment-recorder"), ReservedConcurrentExecutions=5
    )
    fake_quotas.answer(aws.client("lambda"), "get_account_settings", fake_quotas.lambda_account(1000, 108))
    found = preflight.Preflight(config, aws).lambda_concurrency()
    assert found.status == "ok", found.line()  # 108 + 5 - 13 = 100
    assert found.detail == "limit 1000, 100 unreserved after this deploy (13 reserved by test)"


def test_without_reservations_a_new_accounts_low_limit_is_a_warning_with_the_request(aws):
    config = real(load("test"))  # reserve_function_concurrency is off by default
    fake_quotas.answer(aws.client("lambda"), "get_account_settings", fake_quotas.lambda_account(10, 10))
    found = preflight.Preflight(config, aws).lambda_concurrency()
    assert found.status == "warn", found.line()
    assert "limit 10, 10 unreserved after this deploy (0 reserved by test)" in found.detail
    assert found.detail.endswith(
        "request: aws service-quotas request-service-quota-increase --service-code lambda "
        "--quota-code L-B99A9384 --desired-value 1000 --region us-east-1"
    )


# --- the CodeBuild build quota ("Why" 11) -------------------------------------


def test_a_build_quota_of_zero_is_a_warning_with_the_request(aws):
    calls: list = []
    fake_quotas.answer(
        aws.client("service-quotas"),
        "list_service_quotas",
        fake_quotas.quotas(fake_quotas.service_quota("Build projects", "L-ACCF6C0D", 5000.0), next_token="page-2"),
        fake_quotas.quotas(fake_quotas.service_quota(SMALL, "L-9D07B6EF", 0.0)),
        calls=calls,
    )
    found = preflight.Preflight(real(load("test")), aws).build_quota()
    assert calls == [{"ServiceCode": "codebuild"}, {"ServiceCode": "codebuild", "NextToken": "page-2"}]
    # The infrastructure deploys without a build; every pipeline build fails
    # until the quota is raised, which the line says, with the request.
    assert found.status == "warn", found.line()
    assert found.label == f"CodeBuild quota '{SMALL}'"
    assert "Cannot have more than 0 builds in queue for the account" in found.detail
    assert (
        "aws service-quotas request-service-quota-increase --service-code codebuild --quota-code L-9D07B6EF "
        "--desired-value 7 --region us-east-1"
    ) in found.detail


def test_an_unreadable_service_quotas_is_not_checked_and_names_the_permission(aws):
    fake_quotas.refuse(aws.client("service-quotas"), "list_service_quotas", "AccessDeniedException", "no", 400)
    found = preflight.Preflight(real(load("test")), aws).build_quota()
    assert found.status == "warn"
    assert found.detail.startswith(
        "not checked: could not read servicequotas:ListServiceQuotas (access denied: the credentials need "
        "servicequotas:ListServiceQuotas)"
    )


# --- the GitHub connection ("Why" 11) -----------------------------------------


def test_a_pending_connection_says_the_first_execution_fails_and_is_not_a_deployment(aws):
    pending = fake_quotas.connection(CONNECTION, "PENDING")
    client = aws.client("codeconnections")
    fake_quotas.answer(client, "list_connections", {"Connections": [pending]})
    calls: list = []
    fake_quotas.answer(client, "get_connection", {"Connection": pending}, calls=calls)
    found = preflight.Preflight(real(load("test")), aws).connection()
    assert calls == [{"ConnectionArn": pending["ConnectionArn"]}]
    assert found.status == "warn"
    assert found.detail.startswith("PENDING: the execution CodePipeline starts when it creates the pipeline fails")
    assert "completes the handshake in the console" in found.detail
    assert "recorded as BUILD_FAILED, not counted as a deployment" in found.detail


def test_a_connection_not_created_yet_says_what_its_first_execution_meets(aws):
    found = preflight.Preflight(real(load("test")), aws).connection()
    assert found.status == "warn"
    assert found.detail.startswith("not created yet: pipeline-test creates it PENDING, and the execution")


def test_an_available_connection_is_ready(aws):
    available = fake_quotas.connection(CONNECTION, "AVAILABLE")
    fake_quotas.answer(aws.client("codeconnections"), "list_connections", {"Connections": [available]})
    fake_quotas.answer(aws.client("codeconnections"), "get_connection", {"Connection": available})
    assert preflight.Preflight(real(load("test")), aws).connection() == preflight.Check(
        f"GitHub connection {CONNECTION}", "ok", "AVAILABLE"
    )


def test_a_failed_source_stage_is_not_recorded_as_a_deployment():
    """What the connection line promises: the first execution, failed in its
    Source stage while the connection is PENDING, is a BUILD_FAILED, neither
    a deployment nor a change failure."""
    record = {"status": "FAILED", "failedAction": f"{stages.SOURCE_STAGE}/{stages.SOURCE_ACTION}"}
    assert stages.classify(record, actions_read=True) == stages.BUILD_FAILED
    assert not stages.is_change_failure({**record, "outcome": stages.BUILD_FAILED})


# --- the deployer roles' trust and the target accounts ------------------------


def test_the_deployer_roles_trust_is_judged_for_the_targets_in_this_account(aws, monkeypatch):
    config = real(load("test"))
    production = config.deploy_targets[2]
    elsewhere = dataclasses.replace(production, role_arn=production.role_arn.replace(REAL_ACCOUNT, OTHER_ACCOUNT))
    config = dataclasses.replace(config, deploy_targets=(*config.deploy_targets[:2], elsewhere))
    iam = boto3.client("iam")
    for target in config.deploy_targets[:2]:
        iam.create_role(RoleName=target.role_arn.split("/")[-1], AssumeRolePolicyDocument=json.dumps({"v": 1}))
    judged = []

    def trust_problems(config_, target, role):
        judged.append((target.environment, role["RoleName"], role["AssumeRolePolicyDocument"]))
        return ["deployer role x: trusts someone else; run python -m ops deployer-roles test"] if judged[1:] else []

    monkeypatch.setattr(deployers, "trust_problems", trust_problems)
    checks = preflight.Preflight(config, aws).deployer_roles(REAL_ACCOUNT)
    assert judged == [
        ("test", "kiro-pipeline-test-test-deployer", {"v": 1}),
        ("staging", "kiro-pipeline-test-staging-deployer", {"v": 1}),
    ]
    assert [c.status for c in checks] == ["ok", "warn", "warn"]
    assert checks[1].detail == (
        "deployer role x: trusts someone else; run python -m ops deployer-roles test "
        "(until then the staging deploy stage fails on AssumeRole)"
    )
    assert checks[2].detail == (
        f"in account {OTHER_ACCOUNT}: not checked: run `python -m ops preflight test --target-profile "
        f"{OTHER_ACCOUNT}=PROFILE` (or `cdk bootstrap aws://{OTHER_ACCOUNT}/us-east-1`) in account {OTHER_ACCOUNT}"
    )


def bootstrap_cdk(session, account: str, region: str = "us-east-1") -> None:
    """What `cdk bootstrap` leaves that the deploy needs: the version parameter and the roles."""
    session.client("ssm", region_name=region).put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="27", Type="String"
    )
    for kind in preflight.CDK_BOOTSTRAP_ROLE_KINDS:
        session.client("iam").create_role(
            RoleName=f"cdk-hnb659fds-{kind}-{account}-{region}", AssumeRolePolicyDocument="{}"
        )


def test_a_target_account_is_checked_for_its_cdk_bootstrap(aws):
    config = real(load("test"))
    (found,) = preflight.Preflight(config, aws).target_bootstraps(REAL_ACCOUNT)
    assert found.label == f"CDK bootstrap of account {REAL_ACCOUNT} in us-east-1 (deploys test, staging, production)"
    assert found.status == "warn"
    assert found.detail == (
        "not bootstrapped (no /cdk-bootstrap/hnb659fds/version): the test, staging, production deploy stage(s) "
        f"will fail; run `cdk bootstrap aws://{REAL_ACCOUNT}/us-east-1` with that account's credentials"
    )
    bootstrap_cdk(boto3.Session(), REAL_ACCOUNT)
    boto3.client("iam").delete_role(RoleName=f"cdk-hnb659fds-lookup-role-{REAL_ACCOUNT}-us-east-1")
    (found,) = preflight.Preflight(config, aws).target_bootstraps(REAL_ACCOUNT)
    assert found.status == "warn" and f"cdk-hnb659fds-lookup-role-{REAL_ACCOUNT}-us-east-1 missing" in found.detail
    # A role the deployer roles may not assume is not needed.
    narrow = dataclasses.replace(config, deployer_assumes=("cdk-*-deploy-role-*", "cdk-*-file-publishing-role-*"))
    (found,) = preflight.Preflight(narrow, aws).target_bootstraps(REAL_ACCOUNT)
    assert found == preflight.Check(found.label, "ok", "bootstrap version 27")


def other_account_session() -> boto3.Session:
    """Credentials of another account, as a --target-profile gives them (moto: an assumed role)."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/admin", RoleSessionName="preflight"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def test_a_target_profile_checks_its_account_and_only_its_account(aws, monkeypatch):
    config = real(load("test"), account=OTHER_ACCOUNT)
    monkeypatch.setattr(deployers, "trust_problems", lambda config, target, role: [])
    without = preflight.Preflight(config, aws).target_bootstraps(REAL_ACCOUNT)
    assert [c.detail for c in without] == [
        f"not checked: run `python -m ops preflight test --target-profile {OTHER_ACCOUNT}=PROFILE` "
        f"(or `cdk bootstrap aws://{OTHER_ACCOUNT}/us-east-1`) in account {OTHER_ACCOUNT}"
    ]
    other = other_account_session()
    bootstrap_cdk(other, OTHER_ACCOUNT)
    for target in config.deploy_targets:
        other.client("iam").create_role(RoleName=target.role_arn.split("/")[-1], AssumeRolePolicyDocument="{}")
    access = {OTHER_ACCOUNT: preflight.TargetAccess("prod", other)}
    checked = preflight.Preflight(config, aws, access)
    assert [c.status for c in checked.target_bootstraps(REAL_ACCOUNT)] == ["ok"]
    assert [c.status for c in checked.deployer_roles(REAL_ACCOUNT)] == ["ok"] * 3
    # A profile of the wrong account is said, not trusted.
    wrong = preflight.Preflight(config, aws, {OTHER_ACCOUNT: preflight.TargetAccess("dev", boto3.Session())})
    (found,) = wrong.target_bootstraps(REAL_ACCOUNT)
    assert found.status == "fail"
    assert found.detail == f"profile dev is for account {REAL_ACCOUNT}, not {OTHER_ACCOUNT}: fix --target-profile"


# --- the whole run -------------------------------------------------------------


def test_everything_ready(aws, monkeypatch):
    config = real(load("test"))
    bootstrap.Bootstrapper(config, boto3.Session()).run()
    bootstrap_cdk(boto3.Session(), REAL_ACCOUNT)
    iam = boto3.client("iam")
    for target in config.deploy_targets:
        iam.create_role(
            RoleName=target.role_arn.split("/")[-1],
            AssumeRolePolicyDocument=json.dumps(deployers.trust_policy(config, target)),
        )
    available = fake_quotas.connection(CONNECTION, "AVAILABLE")
    fake_quotas.answer(aws.client("codeconnections"), "list_connections", {"Connections": [available]})
    fake_quotas.answer(aws.client("codeconnections"), "get_connection", {"Connection": available})
    monkeypatch.setattr(preflight, "terraform_version", lambda: preflight.Check("Terraform", "ok"))
    monkeypatch.setattr(preflight, "provider_installation", lambda: preflight.Check("provider", "ok"))
    monkeypatch.setattr(preflight, "placeholders", lambda config: preflight.Check("placeholders", "ok"))
    checks = preflight.Preflight(config, aws).run()
    assert [c.status for c in checks] == ["ok"] * len(checks), [c.line() for c in checks]
    assert [c.label.split(" ")[0] for c in checks] == [
        "Terraform",
        "provider",
        "placeholders",
        "AWS",
        "State",
        "Lambda",
        "CodeBuild",
        "GitHub",
        "Deployer",
        "Deployer",
        "Deployer",
        "CDK",
    ]


def test_what_is_missing_is_said_with_its_fix(aws, monkeypatch):
    monkeypatch.setattr(deployers, "trust_problems", lambda config, target, role: [])
    config = real(load("test"))
    checks = preflight.Preflight(config, aws).run()
    backend = check(checks, "State backend")
    assert backend.status == "fail" and "make bootstrap ENV=test" in backend.detail
    role = check(checks, "Deployer role kiro-pipeline-test-test-deployer")
    assert role.status == "warn" and "AssumeRole" in role.detail and "python -m ops deployer-roles test" in role.detail


def test_one_failing_call_fails_its_own_line_and_the_other_checks_still_run(aws, monkeypatch):
    monkeypatch.setattr(deployers, "trust_problems", lambda config, target, role: [])
    fake_quotas.refuse(aws.client("lambda"), "get_account_settings", "AccessDeniedException", "denied", 403)
    fake_quotas.refuse(aws.client("codeconnections"), "list_connections", "ThrottlingException", "slow down", 400)
    checks = preflight.Preflight(real(load("test")), aws).run()
    assert check(checks, "Lambda concurrency").line() == (
        "✗ Lambda concurrency leaves enough unreserved: could not read: lambda:GetAccountSettings: "
        "access denied: the credentials need lambda:GetAccountSettings"
    )
    assert check(checks, "GitHub connection").detail == (
        "could not read: codeconnections:ListConnections: ThrottlingException: slow down"
    )
    for later in ("CodeBuild quota", "Deployer role", "CDK bootstrap"):
        assert any(c.label.startswith(later) for c in checks), later


def test_credentials_for_another_account_stop_everything_else(aws):
    config = dataclasses.replace(
        real(load("test")),
        account_id="210987654321",
        deploy_targets=standard_deploy_targets("test", "210987654321", "https://{stage}.acme.io"),
    )
    checks = preflight.Preflight(config, aws).run()
    account = check(checks, "AWS credentials")
    assert account.status == "fail" and "account 123456789012" in account.detail
    assert not any(c.label.startswith(("State backend", "Lambda", "CodeBuild", "GitHub", "Deployer")) for c in checks)


def test_the_command_prints_one_line_per_check_and_fails_on_placeholders(aws, capsys):
    code = cli.main(["preflight", "test"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ No placeholder values in the configuration: account_id 123456789012" in out
    assert out.strip().splitlines()[-1].endswith("fix them before deploying.")


# --- as a user runs it ---------------------------------------------------------


def ops(*argv: str, **environ: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **environ}
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--target-profile", "prod"],
            "error: argument --target-profile: 'prod' is not ACCOUNT=PROFILE, such as 210987654321=prod",
        ),
        (
            ["--target-profile", f"{OTHER_ACCOUNT}=prod"],
            f"error: --target-profile {OTHER_ACCOUNT}=prod: no deploy target of test is in account {OTHER_ACCOUNT}; "
            f"its targets are in {REAL_ACCOUNT}",
        ),
        (
            ["--target-profile", f"{REAL_ACCOUNT}=nosuchprofile"],
            f"error: --target-profile {REAL_ACCOUNT}=nosuchprofile: AWS profile 'nosuchprofile' is not configured",
        ),
    ],
    ids=["not ACCOUNT=PROFILE", "not a target's account", "unknown profile"],
)
def test_a_wrong_target_profile_is_a_usage_error_before_any_call(argv, message, no_aws_credentials):
    result = ops("preflight", "test", *argv)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.integration
def test_preflight_against_the_emulator_says_every_check(moto_url, tmp_path):
    """`python -m ops preflight test` as a user runs it, against moto: a line
    for each check, the ones moto cannot answer failing alone, exit 1."""
    store = mirror(tmp_path / "mirror", "5.100.0")
    (tmp_path / "cli.tfrc").write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{store}"\n  }}\n'
        '  direct {\n    exclude = ["hashicorp/aws"]\n  }\n}\n'
    )
    result = ops(
        "preflight",
        "test",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=moto_url,
        AWS_DEFAULT_REGION="us-east-1",
        TF_CLI_CONFIG_FILE=str(tmp_path / "cli.tfrc"),
        KIRO_TF_PROVIDER_MIRROR="",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()

    def line(prefix: str) -> str:
        (found,) = [x for x in lines if x[2:].startswith(prefix)]
        return found

    assert line("hashicorp/aws 6.25.0 (the stacks' pin) can be installed").startswith("✗")
    assert f"{store} holds 5.100.0" in line("hashicorp/aws")
    # One line per check, whatever the error pages say.
    assert lines[0] == "Preflight for test (region us-east-1):", lines
    assert all(x[:2] in ("✓ ", "✗ ", "! ") for x in lines[1:-1]), lines
    # moto implements neither GetAccountSettings nor CodeConnections: their lines fail alone.
    assert line("Lambda concurrency") == (
        "✗ Lambda concurrency leaves enough unreserved: could not read: lambda:GetAccountSettings: HTTP 404"
    )
    assert line("GitHub connection").startswith(
        "✗ GitHub connection kiro-pipeline-test-github: could not read: codeconnections:ListConnections: HTTP "
    )
    assert line(f"CodeBuild quota '{SMALL}'").startswith("! ")
    assert line(f"CDK bootstrap of account {REAL_ACCOUNT}").startswith("! ")
    assert line("Deployer role kiro-pipeline-test-production-deployer").startswith("! ")
