"""No secret can reach the synthesized JSON, and so none reaches Terraform state.

Secrets stay in Secrets Manager and are read at run time by the services
that need them; Terraform never reads one. These checks look for the ways one
could slip in: a secret data source, an inline secret value, a credential
pattern, or a sensitive-looking plaintext variable.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

CREDENTIAL_PATTERNS = {
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/"),
    "password assignment": re.compile(r"(?i)\bpassword\s*[=:]\s*\S+"),
}
SECRET_NAME = re.compile(r"kiro-pipeline-(test|staging|production)-[a-z-]+")
SECRET_READING_DATA_SOURCES = ("aws_secretsmanager_secret_version", "aws_ssm_parameter", "aws_kms_secrets")


def secret_findings(stack_id: str, stack: dict, text: str) -> list[str]:
    """Every way a secret could reach the synthesized JSON of one stack: the
    one check the tests below run, on the real stacks and on a planted copy."""
    found = []
    for data_type in SECRET_READING_DATA_SOURCES:
        if stack.get("data", {}).get(data_type):
            found.append(f"{stack_id} reads {data_type} into Terraform state")
    if stack.get("resource", {}).get("aws_secretsmanager_secret_version"):
        found.append(f"{stack_id} writes a secret value")
    for what, pattern in CREDENTIAL_PATTERNS.items():
        if pattern.search(text):
            found.append(f"{stack_id} contains what looks like a {what}")
    sensitive = re.compile(r"(?i)(secret|token|password|webhook|private)")
    resources = stack.get("resource", {})
    for project in resources.get("aws_codebuild_project", {}).values():
        for variable in project["environment"].get("environment_variable", []):
            if sensitive.search(variable["name"]):
                found.append(f"{stack_id}: CodeBuild variable {variable['name']}")
    for function in resources.get("aws_lambda_function", {}).values():
        for name, value in function.get("environment", {}).get("variables", {}).items():
            # A secret's *name* may be passed (the function reads the value at
            # run time); it looks like one of our names, never a value.
            if name.endswith("_ID") and SECRET_NAME.fullmatch(value):
                continue
            if sensitive.search(name):
                found.append(f"{stack_id}: Lambda variable {name}")
    return found


def test_no_secret_reaches_any_stack(stacks):
    findings = [
        f for stack_id, stack in stacks.items() for f in secret_findings(stack_id, stack.json, stack.path.read_text())
    ]
    assert findings == []


@pytest.mark.parametrize(
    "plant, expected",
    [
        (
            lambda s: s["resource"]["aws_lambda_function"]["rollback"]["environment"]["variables"].update(
                NOTE="ghp_" + "a1" * 15
            ),
            "looks like a GitHub token",
        ),
        (
            lambda s: s["resource"]["aws_lambda_function"]["rollback"]["environment"]["variables"].update(
                SLACK_WEBHOOK="https://example.com/x"
            ),
            "Lambda variable SLACK_WEBHOOK",
        ),
        (
            lambda s: (
                s.setdefault("data", {})
                .setdefault("aws_secretsmanager_secret_version", {})
                .update({"w": {"secret_id": "x"}})
            ),
            "reads aws_secretsmanager_secret_version",
        ),
        (
            lambda s: (
                s["resource"]
                .setdefault("aws_secretsmanager_secret_version", {})
                .update({"w": {"secret_id": "x", "secret_string": "x"}})
            ),
            "writes a secret value",
        ),
    ],
)
def test_the_check_finds_a_planted_secret(stacks, plant, expected):
    """Guard against a vacuous test: the same check, on a copy of a real stack
    with one secret planted, finds exactly that."""
    stack = copy.deepcopy(stacks["monitoring-test"].json)
    assert secret_findings("monitoring-test", stack, json.dumps(stack)) == []
    plant(stack)
    (finding,) = secret_findings("monitoring-test", stack, json.dumps(stack))
    assert expected in finding
