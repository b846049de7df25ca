"""Errors that name the call (issue 22, "Why" 8): every AWS error says which
operation failed on what, a denied call names the missing IAM action, SSO and
profile problems say what to run, a stalled endpoint ends within the
time-out with a progress line on the way, `ops health` shows what it could
read, and Ctrl-C exits 130 with one line.

explain() is tested on errors from botocore's Stubber (no network); the rest
runs `python -m ops` as a user would, in a subprocess with the real parser
and exit codes, against a moto server, a server that never answers, or an
AWS config with a profile and no login (integration tier)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from environments import load
from functions.shared import records
from functions.shared.store import Store
from ops import aws
from ops.aws import calling, explain
from ops.common import Context
from tests.support.tables import create_contract_table

REPO = Path(__file__).resolve().parent.parent
NAMES = load("test").names


# --- explain(): one line that names the call ---------------------------------------------
@pytest.fixture
def clients(monkeypatch):
    """Clients of an ops session (time-outs, watched calls); Stubber answers, no network."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    made = aws.session("us-east-1")

    def client(service: str):
        found = made.client(service)
        stub = Stubber(found)
        stub.activate()
        return found, stub

    return client


def raised(call) -> Exception:
    with pytest.raises(aws.AWS_ERRORS) as caught:
        call()
    return caught.value


def test_a_server_error_names_the_operation_the_resource_and_the_status(clients):
    codepipeline, stub = clients("codepipeline")
    stub.add_client_error("get_pipeline_state", "InternalError", "try again", http_status_code=500)
    error = raised(lambda: codepipeline.get_pipeline_state(name=NAMES.pipeline))
    assert str(explain(error)) == (
        "AWS error: GetPipelineState on pipeline kiro-pipeline-test failed: InternalError (HTTP 500): try again"
    )


def test_a_bare_status_and_an_html_page_say_so_in_one_line(clients):
    codepipeline, stub = clients("codepipeline")
    stub.add_client_error("get_pipeline_state", "500", "<!doctype html>\n<html>...</html>", http_status_code=500)
    line = str(explain(raised(lambda: codepipeline.get_pipeline_state(name=NAMES.pipeline)), "health test"))
    assert line.startswith("AWS error while health test: GetPipelineState on pipeline kiro-pipeline-test failed: ")
    assert "HTTP 500 (an HTML page" in line and "\n" not in line and "<html>" not in line


def test_access_denied_names_the_missing_action_even_when_aws_does_not(clients):
    # CloudWatch is signed as "monitoring"; its IAM prefix is "cloudwatch".
    cloudwatch, stub = clients("cloudwatch")
    stub.add_client_error("describe_alarms", "AccessDenied", "", http_status_code=403)
    error = raised(
        lambda: cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix="kiro-").build_full_result()
    )
    assert str(explain(error)) == (
        "access denied: DescribeAlarms on alarms kiro- needs cloudwatch:DescribeAlarms; your role needs that permission"
    )


def test_access_denied_keeps_the_action_aws_names(clients):
    s3, stub = clients("s3")
    stub.add_client_error("head_bucket", "403", "", http_status_code=403)
    error = raised(lambda: s3.head_bucket(Bucket="b"))
    assert "HeadBucket on bucket b needs s3:ListBucket" in str(explain(error))
    codepipeline, stub = clients("codepipeline")
    stub.add_client_error(
        "start_pipeline_execution",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: codepipeline:StartPipelineExecution",
    )
    error = raised(lambda: codepipeline.start_pipeline_execution(name=NAMES.pipeline))
    assert str(explain(error, "trigger test")).startswith(
        "access denied while trigger test: StartPipelineExecution on pipeline kiro-pipeline-test "
        "needs codepipeline:StartPipelineExecution (User: arn:aws:iam::123456789012:user/ops is not authorized"
    )


def test_calling_names_what_the_parameters_do_not(clients):
    cloudwatch, stub = clients("cloudwatch")
    stub.add_client_error("get_metric_statistics", "Throttling", "Rate exceeded", http_status_code=400)
    with pytest.raises(aws.AWS_ERRORS) as caught, calling("metric KiroPipeline DeploymentSuccess of test"):
        cloudwatch.get_metric_statistics(
            Namespace="KiroPipeline",
            MetricName="DeploymentSuccess",
            StartTime=0,
            EndTime=1,
            Period=60,
            Statistics=["Sum"],
        )
    assert str(explain(caught.value)) == (
        "AWS error: GetMetricStatistics on metric KiroPipeline DeploymentSuccess of test failed: "
        "Throttling (HTTP 400): Rate exceeded"
    )


def test_a_timeout_names_the_service_the_call_and_the_endpoint():
    # What a watched call leaves on the ReadTimeoutError botocore raises (the
    # subprocess test below makes a real one).
    error = botocore.exceptions.ReadTimeoutError(endpoint_url="https://sts.us-east-1.amazonaws.com/")
    error.ops_call = aws.Call("sts", "sts", "GetCallerIdentity", {}, "https://sts.us-east-1.amazonaws.com", 20.0, 3)
    line = str(explain(error, "health test"))
    assert line.startswith(
        "no answer from AWS while health test: sts GetCallerIdentity — https://sts.us-east-1.amazonaws.com/ "
        "did not answer within 20 s (3 attempts)"
    )
    assert "--timeout" in line


def test_a_profile_that_is_not_configured_is_named_with_where_it_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "prodution")
    with pytest.raises(aws.OpsError) as caught:
        aws.session("us-east-1")
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith("AWS profile 'prodution' (from AWS_PROFILE) is not configured")


def test_ctrl_c_names_what_keeps_running_and_how_to_stop_it():
    ctx = Context(load("test"), "us-east-1", None, False)
    assert ctx.interrupted() == "interrupted"
    ctx.still_running("execution e9", "python -m ops stop test --execution-id e9 --reason '...'")
    assert ctx.interrupted() == (
        "interrupted; execution e9 keeps running; stop it with python -m ops stop test --execution-id e9 --reason '...'"
    )


# --- as a user runs them -------------------------------------------------------------------
def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing from the caller's AWS settings, a HOME with no SSO cache."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **clean,
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


def ops(*argv: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def moto_server():
    from tools.rehearse import MotoServer

    with MotoServer() as server:
        yield server.url


@pytest.fixture
def stalled():
    """An endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def hold():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection in held:
        connection.close()


@pytest.mark.integration
def test_health_shows_what_it_could_read_and_marks_what_it_could_not(moto_server, tmp_path):
    """moto's server answers GetPipelineState with HTTP 500 (it does not
    implement it): the stages are marked ✗ naming the call; the alarms and the
    deployment record are still shown; exit 1."""
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1", **_keys())
    create_contract_table(dynamodb, NAMES.deployments_table, NAMES.deployments_index)
    Store(dynamodb, NAMES.deployments_table, NAMES.deployments_index).claim(
        "deploy-e1",
        {records.INDEX_PARTITION: "test", records.INDEX_SORT: "2025-01-06T10:00:00Z", "status": "SUCCEEDED"},
    )
    env = environment(tmp_path, AWS_ENDPOINT_URL=moto_server, **MOTO_CREDENTIALS)
    run = ops("health", "test", env=env)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert lines[lines.index("Stages:") + 1].startswith(
        "  ✗ could not read the stages: AWS error: GetPipelineState on pipeline kiro-pipeline-test failed: HTTP 500"
    )
    assert lines[lines.index("Alarms in ALARM:") + 1] == "  none"
    assert any(line.startswith("  deploy-e1") and "SUCCEEDED" in line for line in lines)
    assert lines[-1] == "✗ 1 of 3 parts could not be read: the health above is incomplete."
    as_json = ops("health", "test", "--json", env=env)
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["stages"] is None and report["alarms"] == []
    assert report["unread"]["stages"].startswith("AWS error: GetPipelineState on pipeline kiro-pipeline-test")
    assert [d["deploymentId"] for d in report["deployments"]] == ["deploy-e1"]


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.mark.integration
def test_a_stalled_endpoint_ends_within_the_timeout_naming_the_call(stalled, tmp_path):
    env = environment(tmp_path, AWS_ENDPOINT_URL=stalled, **MOTO_CREDENTIALS)
    run = ops("health", "test", "--json", "--timeout", "2", env=env, timeout=90)
    assert run.returncode == 1
    assert run.stdout == ""  # the progress line is not in --json's output
    err = run.stderr.splitlines()
    assert err[0] == "waiting for sts GetCallerIdentity…"
    assert err[1].startswith(
        f"error: no answer from AWS while health test: sts GetCallerIdentity — {stalled}/ did not answer within 2 s"
    )
    assert len(err) == 2


@pytest.mark.integration
def test_ctrl_c_exits_130_with_one_line_and_no_traceback(stalled, tmp_path):
    env = environment(tmp_path, AWS_ENDPOINT_URL=stalled, **MOTO_CREDENTIALS)
    process = subprocess.Popen(
        [sys.executable, "-m", "ops", "health", "test"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        # Wait until the command is inside its first call (stuck on the stalled endpoint).
        first = lines.get(timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    time.sleep(0.2)  # the reader thread drains the pipe
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert first == "waiting for sts GetCallerIdentity…\n"
    assert process.returncode == 130
    assert rest == ["interrupted\n"]
    assert process.stdout.read() == ""


SSO_CONFIG = """\
[profile dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Deployer
region = us-east-1

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
"""


@pytest.mark.integration
@pytest.mark.parametrize("how", ["--profile", "AWS_PROFILE"])
def test_sso_without_a_login_says_to_run_aws_sso_login_for_that_profile(tmp_path, how):
    (tmp_path / "aws-config").write_text(SSO_CONFIG)
    if how == "--profile":
        run = ops("deployments", "test", "--profile", "dev", env=environment(tmp_path))
    else:
        run = ops("deployments", "test", env=environment(tmp_path, AWS_PROFILE="dev"))
    assert run.returncode == 1
    assert run.stderr.startswith(
        "error: the AWS SSO login of profile 'dev' is missing or expired while deployments test: "
        "run `aws sso login --profile dev` and retry"
    )
    assert len(run.stderr.splitlines()) == 1


@pytest.mark.integration
def test_a_mistyped_profile_is_named_as_the_user_gave_it(tmp_path):
    (tmp_path / "aws-config").write_text(SSO_CONFIG)
    run = ops("health", "test", env=environment(tmp_path, AWS_PROFILE="deV"))
    assert run.returncode == 2
    assert run.stderr.startswith("error: AWS profile 'deV' (from AWS_PROFILE) is not configured")
    run = ops("health", "test", "--profile", "prod", env=environment(tmp_path))
    assert run.returncode == 2 and run.stderr.startswith("error: AWS profile 'prod' is not configured")
