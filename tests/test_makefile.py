"""The Makefile's targets: the deploy targets as `make -n` prints them
(nothing runs), the operations targets' recipes with a stand-in Python, and
where `make install` puts the Python tools."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def dry_run(*args: str) -> list[str]:
    done = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if "cdktf " in line]


def test_several_environments_deploy_each_in_turn_in_dependency_order():
    (line,) = dry_run("deploy", "ENV=test,staging")
    assert line.split(" && ") == [
        ".venv/bin/python -m ops preflight test",
        "ENV=test node_modules/.bin/cdktf deploy core-test pipeline-test monitoring-test",
        ".venv/bin/python -m ops preflight staging",
        "ENV=staging node_modules/.bin/cdktf deploy core-staging pipeline-staging monitoring-staging",
        "true",
    ]


def test_one_stack_and_destroy_in_reverse_order():
    assert dry_run("deploy", "ENV=production", "STACK=pipeline") == [
        ".venv/bin/python -m ops preflight production && "
        "ENV=production node_modules/.bin/cdktf deploy pipeline-production && true"
    ]
    (line,) = dry_run("destroy", "ENV=test")
    assert line.startswith("ENV=test node_modules/.bin/cdktf destroy monitoring-test pipeline-test core-test")


# --- the operations targets ---------------------------------------------------------
# What each target needs besides ENV, as its help line says.
TARGET_VALUES = {
    "ci-roles": ("REPOSITORY=acme/kiro-pipeline",),
    "subscribe": ("EMAIL=devops@example.com",),
    "logs": ("SOURCE=build",),
    "approve": ("SUMMARY=ok",),
    "reject": ("SUMMARY=no",),
    "stop": ("REASON=stuck",),
    "rollback": ("STAGE=ProductionDeploy",),
    "override": ("STAGE=ProductionGate", "REASON=INC-42"),
}


def ops_command_names() -> list[str]:
    from ops.cli import COMMANDS

    return list(COMMANDS)


@pytest.mark.parametrize("command", ops_command_names())
def test_every_ops_command_has_a_make_target(command):
    """One way to run each command without activating .venv: `make COMMAND ENV=...`."""
    done = subprocess.run(
        ["make", "-n", command, "ENV=production", *TARGET_VALUES.get(command, ())],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(rf"\.venv/bin/python -m ops {command} (production|\$\$?env)\b", done.stdout), done.stdout


def fake_python(tmp_path) -> str:
    """A stand-in for .venv/bin/python that prints the arguments it was given."""
    script = tmp_path / "python"
    script.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    script.chmod(0o755)
    return str(script)


def run_target(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """A target's own recipe, for real, without installing or loading ENV."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "install", "-o", "check-env", *args, f"PY={fake_python(tmp_path)}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_free_text_reaches_the_command_exactly_as_typed(tmp_path):
    """Quotes and backslashes in a summary or reason stay as typed (the recipe
    reads it from the environment): before, a `"` ended the argument. (A `$`
    is make's own: on make's command line it is written `$$`.)"""
    summary = 'Approved by "Jane" for \\ INC-42\'s fix`s`'
    done = run_target(tmp_path, "approve", "ENV=production", f"SUMMARY={summary}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["-m", "ops", "approve", "production", "--summary", summary]
    done = run_target(tmp_path, "logs", "ENV=test", "SOURCE=rollback", "SINCE=1h", "FOLLOW=1")
    assert json.loads(done.stdout.splitlines()[-1]) == [
        "-m",
        "ops",
        "logs",
        "test",
        "rollback",
        "--since",
        "1h",
        "--follow",
    ]


@pytest.mark.parametrize(
    "target, values, missing",
    [
        ("approve", (), "SUMMARY"),
        ("override", ("STAGE=ProductionGate", "REASON="), "REASON"),
        ("logs", (), "SOURCE"),
        ("rollback", (), "STAGE"),
    ],
)
def test_a_missing_value_is_one_line_and_exit_2(tmp_path, target, values, missing):
    done = run_target(tmp_path, target, "ENV=production", *values)
    assert done.returncode == 2 and f"error: {missing} is required: make {target} ENV=" in done.stderr
    assert done.stdout == ""  # the command never ran


@pytest.mark.parametrize("target", ["validate", "health", "preflight", "deployer-roles"])
def test_an_operations_target_refuses_several_environments(tmp_path, target):
    """ENV=test,staging passes check-env (deploy loops over it) but would reach
    the command as one unknown environment name: refused, exit 2, before it runs."""
    done = run_target(tmp_path, target, "ENV=test,staging")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: make {target} takes one environment, got ENV=test,staging" in done.stderr
    assert "-m" not in done.stdout  # the fake python never ran


# --- where the Python tools are installed ------------------------------------------------
def test_the_aws_cli_of_the_tests_is_installed_apart_from_dot_venv():
    """awscli 1.x in .venv shadowed the user's AWS CLI v2 once .venv was
    active (and has no `aws logs tail`): it goes to .venv-awscli/, which no
    PATH names; .venv loses one an older checkout installed."""
    pinned = [line.split("==")[0] for line in (REPO / "requirements-dev.txt").read_text().splitlines()]
    assert "awscli" not in pinned
    done = subprocess.run(
        ["make", "-n", "-B", ".make/python", ".make/awscli"], cwd=REPO, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert (
        ".venv-awscli/bin/python -m pip install --quiet --disable-pip-version-check --no-compile "
        "-r requirements-awscli.txt -c constraints.txt" in lines
    )
    assert ".venv/bin/python -m pip uninstall --quiet --quiet --yes awscli" in lines
    assert any(line.endswith("--no-deps --no-build-isolation -e .") for line in lines)  # the kiro-ops alias
    assert not (Path(sys.executable).parent / "aws").exists(), "run `make install`: it removes .venv's old AWS CLI"
