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
    assert "plan -input=false -lock=false -no-color -out=plan.tfplan" in plan
    assert "apply" not in plan
    assert f"for concern in {' '.join(naming.STACK_CONCERNS)}" in plan and "plans/environments.txt" in plan
    assert ".venv/bin/python -m tools.plan_summary" in plan


def test_the_pipeline_invariants_block_after_the_comment_is_posted(workflow):
    names = [s.get("name", "") for s in workflow["jobs"]["plan"]["steps"]]
    policy = names.index("Pipeline invariants on the plan (blocking)")
    assert policy > names.index("Post or update the summary comment")
    assert (
        workflow["jobs"]["plan"]["steps"][policy]["run"]
        == ".venv/bin/python -m tools.policies.plan plans/pipeline-*.json"
    )


def test_updates_its_own_comment(workflow):
    (step,) = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("uses", "").startswith("actions/github-script")]
    script = step["with"]["script"]
    assert f"const marker = '{plan_summary.MARKER}'" in script
    assert "updateComment" in script and "createComment" in script


def test_a_failed_plan_is_commented_then_fails_the_job(workflow):
    steps = workflow["jobs"]["plan"]["steps"]
    plan = next(s for s in steps if s.get("id") == "plan")
    assert '--failed "$stack=plans/$stack.log"' in plan["run"] and 'echo "failed=$failed"' in plan["run"]
    names = [s.get("name", "") for s in steps]
    last = steps[-1]
    assert last["name"] == "Fail when a stack could not be planned" and last["if"] == "steps.plan.outputs.failed == '1'"
    assert names.index(last["name"]) > names.index("Post or update the summary comment")


def test_the_plan_step_runs_in_a_real_bash_and_reports_a_failed_stack(workflow, tmp_path):
    """The step's own script, in bash, with a stand-in `terraform` whose
    pipeline plan fails: the other stacks are summarized, the failure is in
    the comment, and the step records failed=1 for the last step."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    step = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(
        "#!/usr/bin/env bash\n"
        'dir="${1#-chdir=}"; shift\n'
        'case "$1 $dir" in\n'
        '  "plan "*pipeline*) echo "Error: Unsupported argument" >&2; exit 1;;\n'
        '  "show "*) if [ "$2" = "-json" ]; then echo \'{"format_version":"1.2","resource_changes":[]}\'; '
        'else echo "No changes."; fi;;\n'
        "  *) echo ok;;\n"
        "esac\n"
    )
    (bin_dir / "terraform").chmod(0o755)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    output = tmp_path / "github_output"
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "environments.txt").write_text("test\n")  # what tools/affected.py chose
    environ = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "PYTHONPATH": str(repo),
    }
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert output.read_text().strip() == "failed=1"
    comment = (tmp_path / "plans" / "comment.md").read_text()
    assert "❌ **`pipeline-test`: terraform init or plan failed**" in comment and "Unsupported argument" in comment
    assert "| `core-test` | 0 | 0 | 0 | 0 |" in comment and "| `monitoring-test` |" in comment
