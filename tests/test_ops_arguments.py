"""Arguments that cannot be silently wrong (issue 22, "Why" 9 and 10), run as
a user runs them: `python -m ops ...` in a process of its own, with the real
parser and its real exit code, against a moto server standing in for the
account (the fixture environments' account, moto's default).

- a choice is matched in any case and means the stored value
  (`deployments --status failed` lists the FAILED records);
- a value AWS would refuse (a malformed execution ID, an over-long reason),
  an empty summary or reason, an address or owner the configuration's own
  rule refuses (a trailing newline, a dot in an owner): exit 2, one line,
  before any call or record;
- `ops dora` over records with fields of unexpected types: one warning line,
  never a traceback.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from environments import load
from functions.shared import records
from ops.commands.deployments import STATUSES
from tests.support.sessions import moto_environment
from tests.support.tables import contract_table_request
from tools import emulator
from tools.rehearse import MotoServer

# Tier: a moto server, and the CLI in processes of its own.
pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
TEST, PRODUCTION = load("test"), load("production")
EXECUTION = "3137f7cb-7cf7-4ad9-8b6a-0c0b1b2e4f5a"


@functools.cache
def client(url: str, service: str):
    return emulator.client(service, url, "us-east-1")


@pytest.fixture(scope="module")
def server():
    """A moto server with each fixture environment's deployments table."""
    with MotoServer() as moto:
        for config in (TEST, PRODUCTION):
            client(moto.url, "dynamodb").create_table(**contract_table_request(config.names.deployments_table))
        yield moto


def ops(url: str, *argv: str) -> subprocess.CompletedProcess:
    """`python -m ops ARGV` as a user runs it, with credentials for the moto server only."""
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv],
        cwd=REPO,
        env=moto_environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def items(url: str, config) -> list[dict]:
    return client(url, "dynamodb").scan(TableName=config.names.deployments_table)["Items"]


def put(url: str, config, deployment_id: str, **attributes) -> None:
    item = {records.KEY: deployment_id, records.INDEX_PARTITION: config.name, **attributes}
    typed = {k: v if isinstance(v, dict) else {"S": v} for k, v in item.items()}
    client(url, "dynamodb").put_item(TableName=config.names.deployments_table, Item=typed)


# --- choices ------------------------------------------------------------------------
def test_a_status_in_any_case_lists_the_records_of_that_status(server):
    """`--status failed` printed "(no deployment records)" where FAILED lists one."""
    put(server.url, TEST, "0badc0de-0000-4000-8000-000000000001", startTime="2026-11-22T09:00:00Z", status="FAILED")
    put(server.url, TEST, "600dc0de-0000-4000-8000-000000000002", startTime="2026-11-22T10:00:00Z", status="SUCCEEDED")
    for spelled in ("failed", "Failed", "FAILED"):
        done = ops(server.url, "deployments", "test", "--status", spelled)
        assert done.returncode == 0, done.stderr
        assert "0badc0de-0000-4000-8000-000000000001" in done.stdout, spelled
        assert "600dc0de" not in done.stdout and "(no deployment records)" not in done.stdout


def test_a_status_no_record_can_have_is_a_usage_error_naming_the_choices(server):
    done = ops(server.url, "deployments", "test", "--status", "failure")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "argument --status: 'failure' is not a record status" in done.stderr
    assert "FAILED" in done.stderr and "ROLLBACK_IN_PROGRESS" in done.stderr


def test_every_status_the_code_writes_is_a_choice():
    """The choices come from the writers' constants; the literals some writers
    use are held to them here, so a new status cannot be unlisted."""
    written = set()
    for path in [*(REPO / "functions").rglob("*.py"), *(REPO / "ops").rglob("*.py")]:
        text = path.read_text()
        written |= set(re.findall(r"""status["']?\s*[:=]\s*["']([A-Z][A-Z_]{2,})["']""", text))
    assert written, "found no status the code writes"
    assert written <= set(STATUSES), written - set(STATUSES)


# --- values AWS or the configuration would refuse, and empty words ---------------------
TOO_LONG_REASON = "x" * 201  # StopPipelineExecution's reason: at most 200
TOO_LONG_SUMMARY = "y" * 513  # PutApprovalResult's summary: at most 512

USAGE_ERRORS = [
    (("approve", "production", "--summary", ""), "argument --summary: the summary is empty"),
    (("approve", "production", "--summary", "  \t "), "argument --summary: the summary is empty"),
    (("reject", "production", "--summary", TOO_LONG_SUMMARY), "the summary is 513 characters; AWS takes at most 512"),
    (("stop", "test", "--reason", ""), "argument --reason: the reason is empty"),
    (("stop", "test", "--reason", TOO_LONG_REASON), "the reason is 201 characters; AWS takes at most 200"),
    (("stop", "test", "--reason", "stuck", "--execution-id", "e5"), "'e5' is not a pipeline execution ID"),
    (
        ("rollback", "production", "--stage", "ProductionDeploy", "--to", "abc123def456"),
        "argument --to: 'abc123def456' is not a pipeline execution ID",
    ),
    (
        ("override", "production", "--stage", "ProductionGate", "--reason", "INC-42", "--execution", "e5"),
        "argument --execution: 'e5' is not a pipeline execution ID",
    ),
    (
        ("override", "production", "--stage", "ProductionGate", "--reason", " "),
        "argument --reason: the reason is empty",
    ),
    (
        ("override", "production", "--stage", "ProductionGate", "--reason", "r" * 4097),
        "the reason is 4097 characters; at most 4096 are kept",
    ),
    (("subscribe", "test", "oncall@example.com\n"), "'oncall@example.com\\n' is not an email address"),
    (("setup-parameters", "test", "--github-owner", "acme.corp"), "'acme.corp' is not a GitHub user or organisation"),
    (("setup-parameters", "test", "--github-owner", "acme\n"), "'acme\\n' is not a GitHub user or organisation"),
    (("setup-parameters", "test", "--github-owner=acme-"), "'acme-' is not a GitHub user or organisation"),
    (("setup-parameters", "test", "--notification-email", "a@b.co\n"), "'a@b.co\\n' is not an email address"),
    (("setup-parameters", "test", "--github-repo", ".."), "'..' is not a GitHub repository name"),
]


@pytest.mark.parametrize("argv, message", USAGE_ERRORS, ids=lambda v: " ".join(v)[:60] if isinstance(v, tuple) else "")
def test_a_value_that_would_be_refused_or_mean_nothing_is_a_usage_error_before_any_call(server, argv, message):
    """Exit 2 with one line naming the argument, and nothing written: no
    record, no parameter. (Before, most of these were sent and came back as
    "AWS error", exit 1, and `override` left its audit record behind.)"""
    before = {config.name: items(server.url, config) for config in (TEST, PRODUCTION)}
    done = ops(server.url, *argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert {config.name: items(server.url, config) for config in (TEST, PRODUCTION)} == before
    assert client(server.url, "ssm").get_parameters_by_path(Path="/", Recursive=True)["Parameters"] == []


def test_an_execution_id_in_capitals_is_read_as_aws_writes_it(server):
    """AWS's execution IDs are lower case: a pasted upper-case one is lowered,
    not refused (the stop then reaches moto, which has no CodePipeline
    execution: the error is about the pipeline, not the argument)."""
    done = ops(server.url, "stop", "test", "--reason", "stuck", "--execution-id", EXECUTION.upper())
    assert "is not a pipeline execution ID" not in done.stderr and done.returncode != 2


# --- ops dora over records of unexpected types ------------------------------------------
def test_dora_leaves_out_records_with_fields_of_unexpected_types_with_one_warning(server):
    """`ops dora` printed a traceback on a record field of an unexpected type."""
    day = "2026-11-2"
    put(
        server.url,
        PRODUCTION,
        "600dc0de-0000-4000-8000-00000000000a",
        startTime=f"{day}0T10:00:00Z",
        endTime=f"{day}0T11:00:00Z",
        status="SUCCEEDED",
        succeededStages={"SS": ["ProductionDeploy"]},
        recordLayout={"N": "2"},
    )
    put(  # a number where a set of stage names belongs
        server.url,
        PRODUCTION,
        "0dd0dd00-0000-4000-8000-00000000000b",
        startTime=f"{day}1T10:00:00Z",
        endTime=f"{day}1T11:00:00Z",
        status="SUCCEEDED",
        succeededStages={"N": "5"},
    )
    put(  # text where the layout number belongs
        server.url,
        PRODUCTION,
        "0dd0dd00-0000-4000-8000-00000000000c",
        startTime=f"{day}2T10:00:00Z",
        status="FAILED",
        recordLayout="two",
    )
    done = ops(server.url, "dora", "production", "--days", "3650")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    (warning,) = [line for line in done.stdout.splitlines() if line.startswith("! 2 record")]
    # The newest first, as the records are read.
    assert "a field of an unexpected type (first: 0dd0dd00-0000-4000-8000-00000000000c: recordLayout is str" in warning
    assert "DeploymentFrequency" in done.stdout
    report = json.loads(ops(server.url, "dora", "production", "--days", "3650", "--json").stdout)
    assert sorted(s.split(":")[0] for s in report["skippedRecords"]) == [
        "0dd0dd00-0000-4000-8000-00000000000b",
        "0dd0dd00-0000-4000-8000-00000000000c",
    ]
    frequency = next(m for m in report["metrics"] if m["name"] == "DeploymentFrequency")
    assert frequency["restsOn"] == 1  # the readable deployment still counts
