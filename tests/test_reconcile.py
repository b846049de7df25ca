"""One reconciler shape (ops/reconcile.py) for `bootstrap`, `deployer-roles`
and `ci-roles`: one Step, one report, one account guard, one way to read an
AWS error code, and the --json fields and exit codes users read unchanged.

The commands run as a user runs them: `python -m ops` in a subprocess, the
real parser and exit code, against a moto server on 127.0.0.1."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from environments import DIRECTORY_VARIABLE, load
from ops import bootstrap, ci_access, deployers, reconcile
from ops.aws import OpsError
from tests.conftest import FIXTURE_ENVIRONMENTS, REPO

RECONCILERS = {
    "ops/bootstrap.py": bootstrap.Bootstrapper,
    "ops/deployers.py": deployers.DeployerRoles,
    "ops/ci_access.py": ci_access.CiRoles,
}
RECONCILER_MODULES = (*RECONCILERS, "ops/iam_roles.py")
# Copies of "the AWS error code" in files this refactor did not own: each is
# to become ops.common.code; the rule below fails on any new one.
ERROR_CODE_ELSEWHERE: set[str] = set()


# --- the shape, held by rules that fail on a planted break ------------------------
def _is_error(node: ast.AST) -> bool:
    """`x["Error"]` or `x.get("Error", ...)`."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "Error"
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "Error"
    )


def error_code_reads(source: str) -> list[int]:
    """Lines that dig the code out of a ClientError's response themselves."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_error(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = node.args[0] if node.args and _is_error(node.func.value) else None
        else:
            continue
        if isinstance(key, ast.Constant) and key.value == "Code":
            found.append(node.lineno)
    return found


def test_the_error_code_is_read_in_one_place():
    readers = {
        str(path.relative_to(REPO))
        for path in sorted((REPO / "ops").rglob("*.py"))
        if error_code_reads(path.read_text())
    }
    assert readers - ERROR_CODE_ELSEWHERE == {"ops/aws.py"}


@pytest.mark.parametrize(
    "planted",
    [
        'def f(e):\n    return e.response.get("Error", {}).get("Code", "")\n',
        'def f(e):\n    return e.response["Error"]["Code"]\n',
        'def f(e):\n    return e.response.get("Error", {}).get("Code") == "NoSuchEntity"\n',
    ],
)
def test_the_error_code_rule_sees_each_spelling(planted):
    assert error_code_reads(planted) == [2]
    assert error_code_reads("def f(e):\n    return code(e)\n") == []


def _classes_and_functions(path: str) -> tuple[set[str], set[str], list[str]]:
    tree = ast.parse((REPO / path).read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    calls = [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    return classes, functions, calls


@pytest.mark.parametrize("path", RECONCILER_MODULES)
def test_no_reconciler_has_its_own_step_report_or_account_check(path):
    classes, functions, calls = _classes_and_functions(path)
    assert "Step" not in classes
    assert not {"report", "_code", "_missing"} & functions
    # The account comes from Reconciler.caller_account, and only from there.
    assert "get_caller_identity" not in calls


@pytest.mark.parametrize("path", RECONCILERS)
def test_each_reconciler_is_a_reconciler(path):
    assert issubclass(RECONCILERS[path], reconcile.Reconciler)


# --- Step and report ---------------------------------------------------------------
def test_a_step_answers_to_its_noun_and_keeps_the_json_order():
    step = reconcile.Step("s3://b", "versioning enabled", True, "resource")
    assert step.resource == "s3://b"
    assert list(step.as_json()) == ["resource", "setting", "changed"]
    with pytest.raises(AttributeError):
        step.role  # noqa: B018 - another reconciler's noun is not this step's
    assert reconcile.Step("x", "y", False).as_json() == {"subject": "x", "setting": "y", "changed": False}


class _Fake(reconcile.Reconciler):
    NOUN = "thing"

    def title(self) -> str:
        return f"Things of {self.config.name}:"


def _fake(account="123456789012"):
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    fake = _Fake(load("test"), session)
    stub = Stubber(fake.sts)
    stub.add_response("get_caller_identity", {"Account": account, "Arn": "arn:aws:iam::1:user/u", "UserId": "u"})
    return fake, stub


def test_the_report_marks_each_write_and_counts_them():
    fake, _ = _fake()
    fake.ensure("a", "set", read=lambda: 1, desired=1, write=lambda: pytest.fail("already so: no write"))
    written = []
    fake.ensure("b", "set", read=lambda: 0, desired=1, write=lambda: written.append(1))
    assert written == [1]
    assert fake.report() == "Things of test:\n  = a: set\n  + b: set\n1 change(s) made."
    assert [s.thing for s in fake.steps] == ["a", "b"]
    fake.steps[1:] = []
    assert fake.report().endswith("\n  = a: set\nNothing to change.")


def test_the_account_guard_names_both_accounts_and_the_fix():
    fake, stub = _fake(account="210987654321")
    with stub, pytest.raises(OpsError) as caught:
        fake.require_account("environment 'test'", ": switch credentials")
    assert str(caught.value) == (
        "the credentials are for account 210987654321, but environment 'test' lives in 123456789012: switch credentials"
    )
    assert caught.value.exit_code == 1


def test_an_aws_error_while_checking_the_account_says_what_was_being_done():
    fake, _ = _fake()
    stub = Stubber(fake.sts)
    stub.add_client_error("get_caller_identity", service_error_code="ExpiredToken", http_status_code=403)
    with stub, pytest.raises(OpsError, match="while configuring things.*ExpiredToken"):
        fake.caller_account("configuring things")


# --- as a user runs them: the JSON fields and exit codes ---------------------------
def ops(moto_url: str, *argv: str, environments: Path = FIXTURE_ENVIRONMENTS) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
        DIRECTORY_VARIABLE: str(environments),
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("argv", "noun"),
    [
        (("bootstrap", "test"), "resource"),
        (("deployer-roles", "test"), "role"),
        (("ci-roles", "test", "--repository", "acme/kiro-pipeline"), "subject"),
    ],
)
def test_the_json_fields_users_read_are_unchanged(moto_url, monkeypatch, argv, noun):
    # The server runs in this process: moto loads AWS's managed policies only when asked.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    result = ops(moto_url, *argv, "--json")
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)
    assert steps and all(list(step) == [noun, "setting", "changed"] for step in steps)
    text = ops(moto_url, *argv)
    # A second run, as text: the same report closes it.
    assert text.returncode == 0 and text.stdout.strip().splitlines()[-1].startswith("Nothing to change")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("argv", "exit_code", "says"),
    [
        # bootstrap checks the account itself (NO_ACCOUNT in the parser): its line, exit 1.
        (("bootstrap", "test"), 1, "but environment 'test' lives in 210987654321 (environments/test.py: account_id)"),
        # The parser's guard answers first for the other two: a usage error.
        (("deployer-roles", "test"), 2, "works in 210987654321 (the deploy targets' role_arn in"),
        (("ci-roles", "test", "--repository", "acme/kiro-pipeline"), 2, "works in 210987654321 (account_id in"),
    ],
)
def test_another_accounts_credentials_are_refused_with_the_same_line_and_code(
    moto_url, tmp_path, argv, exit_code, says
):
    for source in FIXTURE_ENVIRONMENTS.glob("*.py"):
        (tmp_path / source.name).write_text(source.read_text().replace('"123456789012"', '"210987654321"'))
    result = ops(moto_url, *argv, environments=tmp_path)
    assert result.returncode == exit_code, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the credentials are for account 123456789012") and says in line
