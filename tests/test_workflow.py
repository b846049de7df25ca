"""The pull-request plan workflow: valid, least-privileged, wired to the summarizer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tools import plan_summary
from topology import naming

WORKFLOW = REPO / ".github" / "workflows" / "terraform-plan.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_valid_against_the_github_workflow_schema():
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        WORKFLOW.read_text()
        .replace("runs-on: ubuntu-24.04", "runs-on: [ubuntu-24.04, {bad: }]")
        .replace("timeout-minutes: 30", "timeout-minutes: thirty")
    )
    assert validate(broken).returncode != 0


def test_runs_on_pull_requests_with_least_privilege(workflow):
    assert workflow[True] == {"pull_request": {"branches": ["main"]}}  # YAML reads `on:` as True
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_plans_read_only_with_the_oidc_role(workflow):
    steps = workflow["jobs"]["plan"]["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.PLAN_ROLE_ARN }}"
    plan = next(s for s in steps if s.get("name", "").startswith("Plan each stack"))["run"]
    assert "plan -input=false -lock=false -out=plan.tfplan" in plan
    assert "apply" not in plan
    assert f"for concern in {' '.join(naming.STACK_CONCERNS)}" in plan
    assert ".venv/bin/python -m tools.plan_summary" in plan


def test_the_pipeline_invariants_block_after_the_comment_is_posted(workflow):
    names = [s.get("name", "") for s in workflow["jobs"]["plan"]["steps"]]
    policy = names.index("Pipeline invariants on the plan (blocking)")
    assert policy == len(names) - 1 and policy > names.index("Post or update the summary comment")
    assert (
        workflow["jobs"]["plan"]["steps"][policy]["run"]
        == ".venv/bin/python -m tools.policies.plan plans/pipeline-*.json"
    )


def test_updates_its_own_comment(workflow):
    (step,) = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("uses", "").startswith("actions/github-script")]
    script = step["with"]["script"]
    assert f"const marker = '{plan_summary.MARKER}'" in script
    assert "updateComment" in script and "createComment" in script
