"""The Makefile's deploy targets, as `make -n` prints them (nothing runs)."""

from __future__ import annotations

import subprocess

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
