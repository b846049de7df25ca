"""No secret can reach the synthesized JSON, and so none reaches Terraform state.

Secrets stay in Secrets Manager and are read at run time by the services
that need them; Terraform never reads one. These checks look for the ways one
could slip in: a secret data source, an inline secret value, a credential
pattern, or a sensitive-looking plaintext variable.
"""

from __future__ import annotations

import re

CREDENTIAL_PATTERNS = {
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/"),
    "password assignment": re.compile(r"(?i)\bpassword\s*[=:]\s*\S+"),
}
SECRET_NAME = re.compile(r"kiro-pipeline-(test|staging|production)-[a-z-]+")
SECRET_READING_DATA_SOURCES = ("aws_secretsmanager_secret_version", "aws_ssm_parameter", "aws_kms_secrets")


def test_no_data_source_reads_a_secret(stacks):
    for stack_id, stack in stacks.items():
        for data_type in SECRET_READING_DATA_SOURCES:
            assert not stack.data(data_type), f"{stack_id} reads {data_type} into Terraform state"
        assert not stack.resources("aws_secretsmanager_secret_version"), f"{stack_id} writes a secret value"


def test_no_credential_pattern_anywhere(stacks):
    for stack_id, stack in stacks.items():
        text = stack.path.read_text()
        for what, pattern in CREDENTIAL_PATTERNS.items():
            assert not pattern.search(text), f"{stack_id} contains what looks like a {what}"


def test_no_sensitive_variable_is_passed_in_plaintext(stacks):
    sensitive = re.compile(r"(?i)(secret|token|password|webhook|private)")
    for stack_id, stack in stacks.items():
        for project in stack.resources("aws_codebuild_project").values():
            for variable in project["environment"]["environment_variable"]:
                assert not sensitive.search(variable["name"]), f"{stack_id}: {variable['name']}"
        for function in stack.resources("aws_lambda_function").values():
            for name, value in function["environment"]["variables"].items():
                # A secret's *name* may be passed (the function reads the value
                # at run time); it looks like one of our names, never a value.
                if name.endswith("_ID") and SECRET_NAME.fullmatch(value):
                    continue
                assert not sensitive.search(name), f"{stack_id}: {name}"


def test_the_checks_would_catch_a_planted_secret(stacks, tmp_path):
    """Guard against a vacuous test: a token in a copy is found."""
    stack = next(iter(stacks.values()))
    planted = stack.path.read_text().replace('"managed-by": "cdktf"', '"token": "ghp_' + "a1" * 15 + '"')
    assert CREDENTIAL_PATTERNS["GitHub token"].search(planted)
