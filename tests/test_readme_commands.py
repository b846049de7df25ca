"""Every AWS CLI command in the README and docs/ runs, as written, with the
real AWS CLI against a moto server: a wrong flag (the runbook's
`--scan-index-forward false`, say) fails here, not in an incident.

What runs: each ```bash block that calls `aws`, whole, in a real bash (so
`TOKEN=$(aws ...)`, heredocs and `&&` work as they do for a reader), and each
inline `aws ...` command of four words or more (three words, such as
`aws logs tail`, name a command in prose). `--follow` commands are stopped
after a few seconds: following is what they are for.

What is not real: moto lacks CodePipeline's GetPipelineState and
PutApprovalResult and CodeConnections' GetConnection; the CLI wrapper
(tests/support/aws_cli.py) answers those with canned responses after the CLI
and botocore have validated the request against the service model. The
`terraform output` in one command reads a stand-in, since no state exists here.
Every `python -m ops` command in the same documents is parsed by the real
argument parser.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from environments import load
from ops import cli
from tests.support import aws_cli
from tests.support.tables import create_contract_table
from tools import emulator
from tools.rehearse import MotoServer

# Tier: a moto server and the real AWS CLI.
pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CONNECTION_ARN = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
TOKEN = "3fa3a1d6-1c4b-4d2b-9c1e-aa0f00000001"
FOLLOW_SECONDS = 4


@dataclass(frozen=True)
class Snippet:
    where: str  # file:line
    script: str

    def __str__(self) -> str:
        return self.where


def snippets() -> list[Snippet]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for block in re.finditer(r"```bash\n(.*?)```", text, re.S):
            if re.search(r"(^|[\s($])aws ", block.group(1)):
                found.append(Snippet(f"{path.name}:{text[: block.start()].count(chr(10)) + 1}", block.group(1)))
        prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        for span in re.finditer(r"`(aws [^`]+)`", prose):
            if len(span.group(1).split()) >= 4:
                found.append(Snippet(f"{path.name}:{prose[: span.start()].count(chr(10)) + 1}", span.group(1)))
    return found


# What the documents' placeholders stand for, in a command that is checked.
PLACEHOLDERS = {"ENV": "test", "STAGE": "StagingEnv", "NAME": "failures", "N": "7"}


def ops_commands() -> list[tuple[str, list[str]]]:
    """`python -m ops COMMAND ...` in the documents; a bare command name in
    prose (one word) is a mention, not a command."""
    found = []
    for path in DOCUMENTS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in re.finditer(r"python -m ops ([^`|#\n]*)", line):
                words = [PLACEHOLDERS.get(w, w) for w in shlex.split(match.group(1).replace('"..."', '"why"'))]
                words = [w for w in words if w not in ("...", "…")]
                if len(words) >= 2 and not any(w.startswith("<") for w in words):  # <command>: a usage pattern
                    found.append((f"{path.name}:{number}", words))
    return found


CANNED = {
    "codepipeline.GetPipelineState": {
        "pipelineName": "kiro-pipeline-production",
        "stageStates": [
            {
                "stageName": "StagingEnv",
                "latestExecution": {"pipelineExecutionId": "e-1", "status": "Succeeded", "type": "STANDARD"},
                "actionStates": [],
            },
            {
                "stageName": "ProductionEnv",
                "latestExecution": {"pipelineExecutionId": "e-1", "status": "InProgress", "type": "STANDARD"},
                "actionStates": [
                    {"actionName": "ApproveProduction", "latestExecution": {"status": "InProgress", "token": TOKEN}}
                ],
            },
        ],
    },
    "codepipeline.PutApprovalResult": {"approvedAt": 1795000000},
    "codeconnections.GetConnection": {
        "Connection": {
            "ConnectionName": "kiro-pipeline-test-github",
            "ConnectionArn": CONNECTION_ARN,
            "ProviderType": "GitHub",
            "ConnectionStatus": "AVAILABLE",
        }
    },
}


def _world(url: str) -> None:
    """What the commands read, created as the stacks and functions create it."""
    config = load("test")
    names = config.names
    urllib.request.urlopen(
        urllib.request.Request(
            f"{url}/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(), method="POST"
        )
    )

    def client(service):
        return emulator.client(service, url, "us-east-1")

    dynamodb = client("dynamodb")
    create_contract_table(dynamodb, names.deployments_table)
    for n, start in enumerate(("2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z")):
        dynamodb.put_item(
            TableName=names.deployments_table,
            Item={
                "deploymentId": {"S": f"e-{n}"},
                "environment": {"S": "test"},
                "startTime": {"S": start},
                "status": {"S": "SUCCEEDED"},
            },
        )
    logs = client("logs")
    for group in (names.lambda_log_group("rollback"), names.codebuild_log_group("build")):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": int(__import__("time").time() * 1000), "message": '{"level": "INFO"}'}],
        )
    role = client("iam").create_role(
        RoleName="kiro-pipeline-test-rollback-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        ),
    )["Role"]["Arn"]
    client("lambda").create_function(
        FunctionName=names.lambda_function("rollback"),
        Runtime="python3.13",
        Role=role,
        Handler="functions.rollback.handler.handler",
        Code={"ZipFile": (REPO / "dist" / "rollback.zip").read_bytes()},
    )
    client("cloudwatch").put_metric_data(
        Namespace="KiroPipeline",
        MetricData=[
            {"MetricName": "DeploymentFailure", "Value": 1, "Dimensions": [{"Name": "Environment", "Value": "test"}]}
        ],
    )


@pytest.fixture(scope="module")
def shell(tmp_path_factory, function_zips):
    """A bash whose `aws` is the real CLI aimed at a moto server."""
    root = tmp_path_factory.mktemp("readme-commands")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    # No state exists here: answer the one output the README reads.
    terraform = bin_dir / "terraform"
    terraform.write_text(
        f'#!/bin/sh\ncase "$*" in *"output -raw github_connection_arn") echo "{CONNECTION_ARN}";; '
        '*) echo "terraform stand-in: $*" >&2; exit 1;; esac\n'
    )
    terraform.chmod(terraform.stat().st_mode | stat.S_IEXEC)
    (root / "canned.json").write_text(json.dumps(CANNED))
    with MotoServer() as server:
        _world(server.url)
        env = aws_cli.environment(server.url, root, bin_dir, root / "canned.json", root / "calls")
        yield root, env


def run(shell, snippet: Snippet) -> tuple[subprocess.CompletedProcess | None, list[dict]]:
    root, env = shell
    calls = root / "calls"
    calls.write_text("")
    script = "set -euo pipefail\n" + snippet.script
    if "--follow" in snippet.script:
        process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=root,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=FOLLOW_SECONDS)
            result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.communicate()
            result = None  # still following
    else:
        result = subprocess.run(["bash", "-c", script], cwd=root, env=env, text=True, capture_output=True, timeout=120)
    return result, [json.loads(line) for line in calls.read_text().splitlines()]


def test_the_documents_have_aws_commands_to_run():
    found = [str(s) for s in snippets()]
    # The approval pair, the rollback checks, the manual invoke, the newest
    # deployments, and the inline ones (metrics, connection, identity). The
    # runbook's `aws logs tail` lines are `python -m ops logs` now (AWS CLI
    # v2 only), parsed by test_every_ops_command_parses instead.
    assert len(found) >= 8, found


@pytest.mark.parametrize("snippet", snippets(), ids=str)
def test_the_command_runs_as_written(shell, snippet):
    result, calls = run(shell, snippet)
    assert calls, f"{snippet}: no AWS call was made"
    if result is None:
        assert "--follow" in snippet.script
        return
    assert result.returncode == 0, f"{snippet}: exit {result.returncode}\n{result.stderr[-2000:]}"


def test_the_approval_pair_passes_the_token_it_read(shell):
    (approval,) = [s for s in snippets() if "put-approval-result" in s.script]
    result, calls = run(shell, approval)
    assert result.returncode == 0, result.stderr
    put = next(c for c in calls if c["operation"] == "codepipeline.PutApprovalResult")
    body = json.loads(put["body"])
    assert body["token"] == TOKEN
    assert body["result"] == {"status": "Approved", "summary": "Approved by Jane"}


def test_the_newest_deployments_come_first(shell):
    (query,) = [s for s in snippets() if "--limit 10" in s.script]
    result, _ = run(shell, query)
    items = json.loads(result.stdout)["Items"]
    assert [i["startTime"]["S"] for i in items] == ["2026-11-22T10:00:00Z", "2026-11-22T09:00:00Z"]


def test_a_wrong_flag_fails(shell):
    """The check can fail: the runbook's original flag."""
    result, _ = run(
        shell,
        Snippet(
            "planted",
            "aws dynamodb query --table-name kiro-pipeline-test-deployments "
            "--key-condition-expression 'environment = :env' --scan-index-forward false",
        ),
    )
    assert result.returncode != 0 and "Unknown options" in result.stderr


@pytest.mark.parametrize("where, words", ops_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_ops_command_parses(where, words):
    parser = cli.parser()
    try:
        parser.parse_args(words)
    except SystemExit as exit_:
        pytest.fail(f"{where}: `python -m ops {' '.join(words)}` is refused by the parser (exit {exit_.code})")
