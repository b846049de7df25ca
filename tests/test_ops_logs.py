"""`python -m ops logs`: what the runbook did with `aws logs tail` (AWS CLI v2
only), over FilterLogEvents, run as a user runs it: in a process of its own,
with the real parser and exit code, against a moto server holding the log
groups the stacks create (their names from topology/naming.py)."""

from __future__ import annotations

import functools
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from environments import load
from ops.commands import logs as command
from tests.support.sessions import moto_environment
from tools import emulator
from tools.rehearse import MotoServer

REPO = Path(__file__).resolve().parent.parent
NAMES = load("test").names
BUILD_GROUP = NAMES.codebuild_log_group("build")
ROLLBACK_GROUP = NAMES.lambda_log_group("rollback")
QUIET_GROUP = NAMES.lambda_log_group("health-probe")  # exists, never written


@functools.cache
def client(url: str, service: str = "logs"):
    return emulator.client(service, url, "us-east-1")


def write(url: str, group: str, *messages: str, stream: str = "s", ago_seconds: float = 0) -> None:
    at = int((time.time() - ago_seconds) * 1000)
    client(url).put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": at + n, "message": message} for n, message in enumerate(messages)],
    )


@pytest.fixture(scope="module")
def server():
    with MotoServer() as moto:
        for group in (BUILD_GROUP, ROLLBACK_GROUP, QUIET_GROUP):
            client(moto.url).create_log_group(logGroupName=group)
            client(moto.url).create_log_stream(logGroupName=group, logStreamName="s")
        yield moto


def environment(url: str) -> dict[str, str]:
    return {**moto_environment(url), "PYTHONUNBUFFERED": "1"}


def ops(url: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv],
        cwd=REPO,
        env=environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_a_source_s_events_since_a_time_back_oldest_first(server):
    write(server.url, BUILD_GROUP, "too old", ago_seconds=3 * 3600)
    write(server.url, BUILD_GROUP, "[Container] Running command make test\n", "FAILED test_x\n", ago_seconds=60)
    done = ops(server.url, "logs", "test", "BUILD", "--since", "1h")  # any case, as the other choices
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == ["[Container] Running command make test", "FAILED test_x"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 s ", line) for line in lines)
    everything = ops(server.url, "logs", "test", "build", "--since", "1d").stdout
    assert "too old" in everything


@pytest.mark.integration
def test_no_events_says_so_and_a_missing_log_group_names_it(server):
    done = ops(server.url, "logs", "test", "execution-age", "--since", "5m")
    assert done.returncode == 1
    assert (
        done.stderr.count("\n") == 1 and f"log group {NAMES.lambda_log_group('execution-age')} not found" in done.stderr
    )
    quiet = ops(server.url, "logs", "test", "health-probe")
    assert quiet.returncode == 0 and quiet.stdout.startswith(f"(no log events in {QUIET_GROUP} since ")


@pytest.mark.integration
@pytest.mark.parametrize(
    "argv, message",
    [
        (("logs", "test", "rollbak"), "argument SOURCE: 'rollbak' is not a log source: one of pipeline, build"),
        (("logs", "test", "build", "--since", "5x"), "argument --since: '5x' is not a time back"),
        (("logs", "test", "build", "--since", "0m"), "argument --since: '0m' is not a time back"),
        (("logs", "test", "build", "--since", "11000d"), "further back than CloudWatch Logs keeps events"),
        (("logs", "test", "build", "--filter-pattern", "x" * 1025), "AWS takes at most 1024"),
    ],
)
def test_bad_arguments_are_usage_errors(server, argv, message):
    done = ops(server.url, *argv)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.integration
def test_follow_shows_each_new_event_once_until_ctrl_c(server):
    """--follow polls (here every second), shows what arrives, never the same
    event twice, and Ctrl-C ends it with one line and the shell's code 130."""
    write(server.url, ROLLBACK_GROUP, '{"level": "INFO", "message": "before"}', ago_seconds=30)
    process = subprocess.Popen(
        [sys.executable, "-m", "ops", "logs", "test", "rollback", "--follow", "--poll-seconds", "1"],
        cwd=REPO,
        env=environment(server.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "before" in process.stdout.readline()
        write(server.url, ROLLBACK_GROUP, '{"level": "ERROR", "message": "after"}')
        assert "after" in process.stdout.readline()
        time.sleep(2.5)  # two more polls: both events come back from FilterLogEvents, neither is shown again
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert out == "" and err == f"stopped following {ROLLBACK_GROUP}\n"


@pytest.mark.unit
def test_every_page_is_read():
    """FilterLogEvents may answer an empty page with a nextToken: reading stops
    only when there is no nextToken."""
    logs = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(logs) as stub:
        request = {"logGroupName": BUILD_GROUP, "startTime": 1000}
        event = {"eventId": "1", "timestamp": 1001, "message": "one", "logStreamName": "s"}
        stub.add_response("filter_log_events", {"events": [event], "nextToken": "t1"}, request)
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t2"}, {**request, "nextToken": "t1"})
        stub.add_response("filter_log_events", {"events": [{**event, "eventId": "2"}]}, {**request, "nextToken": "t2"})
        assert [e["eventId"] for e in command._events(logs, BUILD_GROUP, 1000, None)] == ["1", "2"]
        stub.assert_no_pending_responses()


@pytest.mark.unit
def test_every_function_the_monitoring_stack_makes_is_a_source():
    """The functions are the table's rows (topology/functions.py), which the
    monitoring stack makes (tests/test_monitoring_tables.py)."""
    from topology.functions import FUNCTIONS as TABLE

    assert command.FUNCTIONS and set(command.FUNCTIONS) == {row.purpose for row in TABLE}


@pytest.mark.unit
def test_the_runbook_reads_logs_with_ops_not_aws_logs_tail():
    """docs/operations.md's log steps use `python -m ops logs` (they run with
    boto3 alone); tests/test_readme_commands.py parses each of them."""
    text = (REPO / "docs" / "operations.md").read_text()
    assert "aws logs tail /" not in text  # named as what it replaces, never run on a log group
    assert "`python -m ops logs test rollback --since 1d`" in text  # the dead-letter steps
    assert "| `logs test build --since 1h --follow`" in text  # the runbook table (`python -m ops` implied)
