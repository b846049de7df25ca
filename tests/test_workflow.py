"""The review, apply and drift workflows: valid against GitHub's schema,
least-privileged, and their scripts run here for real (tests/support/
workflow_steps.py): each `run:` in bash with a stand-in `terraform`, each
github-script in Node.js against a recorder of the GitHub API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from review import drift_report, plan_binding, plan_files, plan_summary
from tests.conftest import REPO
from tests.support.workflow_steps import run_script, run_step
from topology import naming
from topology.environments import ENVIRONMENT_NAMES

WORKFLOWS = REPO / ".github" / "workflows"
PLAN, APPLY, APPLY_ENV, DRIFT = (
    WORKFLOWS / f"terraform-{name}.yml" for name in ("plan", "apply", "apply-environment", "drift")
)
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
HEAD = "c0ffee" + "0" * 34


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def step(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


def script_of(job: dict) -> str:
    (found,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/github-script")]
    return found["with"]["script"]


@pytest.mark.parametrize("path", [PLAN, APPLY, APPLY_ENV, DRIFT], ids=lambda p: p.name)
def test_valid_against_the_github_workflow_schema(path):
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(PLAN.read_text().replace("timeout-minutes: 30", "timeout-minutes: thirty"))
    assert validate(broken).returncode != 0


@pytest.mark.parametrize("path", [PLAN, APPLY, APPLY_ENV, DRIFT], ids=lambda p: p.name)
def test_least_privilege_and_no_expression_inside_a_script(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}  # each job asks for what it needs
    for job in workflow["jobs"].values():
        granted = job.get("permissions", {})
        assert set(granted.values()) <= {"read", "write"} and granted.get("contents", "read") == "read"
        for entry in job.get("steps", []):
            # `${{ }}` in a script is pasted in before the shell runs: values go through env.
            assert "${{" not in entry.get("run", ""), entry.get("name")


def test_who_may_write_what():
    plan, apply, apply_env, drift = (load(p)["jobs"] for p in (PLAN, APPLY, APPLY_ENV, DRIFT))
    assert plan["plan"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert plan["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert apply["reviewed"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert apply_env["apply"]["permissions"]["id-token"] == "write"
    assert drift["refresh"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert drift["report"]["permissions"] == {"contents": "read", "issues": "write"}


def credentials(job: dict) -> dict:
    (found,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    return found["with"]


def test_each_environment_is_planned_and_checked_with_its_own_read_only_role():
    plan, drift = load(PLAN)["jobs"]["plan"], load(DRIFT)["jobs"]["refresh"]
    for job in (plan, drift):
        assert credentials(job)["role-to-assume"] == "${{ fromJSON(vars.PLAN_ROLE_ARNS)[matrix.environment] }}"
        assert job["strategy"]["fail-fast"] is False
    assert plan["strategy"]["matrix"]["environment"] == "${{ fromJSON(needs.environments.outputs.list) }}"
    assert drift["strategy"]["matrix"]["environment"] == list(ENVIRONMENT_NAMES)
    apply_job = load(APPLY_ENV)["jobs"]["apply"]
    assert credentials(apply_job)["role-to-assume"] == "${{ vars.APPLY_ROLE_ARN }}"
    assert apply_job["environment"] == "${{ inputs.environment }}"  # its reviewers, its role


def test_the_plan_workflow_plans_affected_environments_and_never_applies():
    workflow = load(PLAN)
    assert workflow[True] == {"pull_request": {"branches": ["main"]}}  # YAML reads `on:` as True
    affected = step(workflow["jobs"]["environments"], "Which environments the change affects")["run"]
    assert "python3 -m review.affected" in affected
    plan = step(workflow["jobs"]["plan"], "Plan each stack (read-only, so no state lock is taken)")["run"]
    assert "plan -input=false -lock=false -no-color -out=plan.tfplan" in plan and "apply" not in plan
    assert f"for concern in {' '.join(naming.STACK_CONCERNS)}" in plan


def plan_job_run(tmp_path: Path, env: str, failing: str | None = None):
    stacks = plan_files.stacks_of([env])
    run = step(load(PLAN)["jobs"]["plan"], "Plan each stack (read-only, so no state lock is taken)")["run"]
    if failing:
        (tmp_path / ".fake-terraform").mkdir(exist_ok=True)
        (tmp_path / ".fake-terraform" / f"{failing}.plan-fails").write_text("")
    return run_step(run, tmp_path, stacks, {"ENVIRONMENT": env})


def test_the_plan_and_comment_jobs_run_in_bash_and_name_a_failed_stack(tmp_path):
    """The plan job's script for two environments, one stack's plan failing
    (the artifacts are one directory, as download-artifact merges them), then
    the comment job's scripts over what they left."""
    assert plan_job_run(tmp_path, "test", failing="pipeline-test").code == 0
    assert plan_job_run(tmp_path, "staging").code == 0
    left = sorted(p.name for p in (tmp_path / "plans").iterdir())
    assert "pipeline-test.log" in left and "pipeline-test.json" not in left and "core-staging.txt" in left
    comment_job = load(PLAN)["jobs"]["comment"]
    env = {"ENVIRONMENTS": "test staging", "HEAD_SHA": HEAD}
    summarized = run_step(step(comment_job, "Summarize every planned stack")["run"], tmp_path, [], env)
    assert summarized.code == 0, summarized.stderr
    comment = (tmp_path / "comment.md").read_text()
    assert "❌ **`pipeline-test`: terraform init or plan failed**" in comment and "Unsupported argument" in comment
    assert "| `core-staging` | 0 | 0 | 0 | 0 |" in comment
    reviewed = plan_binding.read_record(comment)
    assert reviewed.head == HEAD and "fingerprint" in reviewed.stacks["core-test"]
    # The failed stack is recorded as failed: its environment's apply stops there.
    assert reviewed.stacks["pipeline-test"] == {"failed": True}
    with pytest.raises(ValueError, match="plan failed in the review"):
        plan_binding.check(reviewed, "pipeline-test", {"format_version": "1.2", "resource_changes": []})
    policy = run_step(step(comment_job, "Pipeline invariants on the plan (blocking)")["run"], tmp_path, [])
    assert policy.code == 0, policy.stdout + policy.stderr
    fail = step(comment_job, "Fail when a stack could not be planned")
    assert run_step(fail["run"], tmp_path, [], {"PLAN_RESULT": "success"}).code == 1
    (tmp_path / ".fake-terraform" / "pipeline-test.plan-fails").unlink()
    plan_job_run(tmp_path, "test")
    (tmp_path / "plans" / "pipeline-test.log").unlink()
    run_step(step(comment_job, "Summarize every planned stack")["run"], tmp_path, [], env)
    assert run_step(fail["run"], tmp_path, [], {"PLAN_RESULT": "success"}).code == 0
    assert run_step(fail["run"], tmp_path, [], {"PLAN_RESULT": "cancelled"}).code == 1


def test_a_stack_whose_job_left_nothing_is_a_failure_in_the_comment(tmp_path):
    (tmp_path / "plans").mkdir()
    comment_job = load(PLAN)["jobs"]["comment"]
    env = {"ENVIRONMENTS": "production", "HEAD_SHA": HEAD}
    assert run_step(step(comment_job, "Summarize every planned stack")["run"], tmp_path, [], env).code == 0
    comment = (tmp_path / "comment.md").read_text()
    assert comment.count("terraform init or plan failed**") == len(naming.STACK_CONCERNS)
    assert plan_files.NO_OUTPUT in comment


def test_the_comment_script_updates_its_own_comment_and_only_its_labels(tmp_path):
    (tmp_path / "comment.md").write_text(plan_summary.MARKER + "\nbody")
    (tmp_path / "labels.txt").write_text("destroy\n")
    script = script_of(load(PLAN)["jobs"]["comment"])
    responses = {
        "rest.issues.listComments": [
            {"id": 7, "user": {"login": "octocat", "type": "User"}, "body": plan_summary.MARKER + " quoted"},
            {"id": 6, "user": {"login": "other-app[bot]", "type": "Bot"}, "body": plan_summary.MARKER + " copied"},
            {"id": 8, "user": {"login": "github-actions[bot]", "type": "Bot"}, "body": plan_summary.MARKER + "\nold"},
        ],
        "rest.issues.listLabelsOnIssue": [{"name": "no-changes"}, {"name": "needs-docs"}],
    }
    done = run_script(script, tmp_path, {"payload": {"pull_request": {"number": 12}}}, responses)
    assert done.called("rest.issues.updateComment") == [
        {"owner": "acme", "repo": "kiro-pipeline", "comment_id": 8, "body": plan_summary.MARKER + "\nbody"}
    ]
    assert done.called("rest.issues.createComment") == []
    assert [p["name"] for p in done.called("rest.issues.removeLabel")] == ["no-changes"]  # never needs-docs
    assert [p["labels"] for p in done.called("rest.issues.addLabels")] == [["destroy"]]


# ---- apply ------------------------------------------------------------------


def test_apply_runs_after_merge_in_environment_order():
    workflow = load(APPLY)
    assert workflow[True]["push"] == {"branches": ["main"]}
    assert workflow["concurrency"] == {"group": "terraform-apply", "cancel-in-progress": False}
    jobs = workflow["jobs"]
    for env in ENVIRONMENT_NAMES:
        assert jobs[env]["uses"] == "./.github/workflows/terraform-apply-environment.yml"
        assert jobs[env]["with"]["environment"] == env
        assert f"contains(fromJSON(needs.reviewed.outputs.environments), '{env}')" in jobs[env]["if"]
    assert jobs["staging"]["needs"] == ["reviewed", "test"]
    assert jobs["production"]["needs"] == ["reviewed", "test", "staging"]
    assert "needs.staging.result" in jobs["production"]["if"]


def reviewed_file(tmp_path: Path, plans: dict[str, dict]) -> None:
    reviewed = plan_binding.read_record(plan_binding.record(HEAD, plans))
    (tmp_path / "reviewed").mkdir(exist_ok=True)
    (tmp_path / "reviewed" / "reviewed.json").write_text(json.dumps({"head": HEAD, "stacks": reviewed.stacks}))


def change(address: str, value: str) -> dict:
    return {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": address,
                "type": address.split(".")[0],
                "mode": "managed",
                "change": {"actions": ["update"], "before": {"v": "old"}, "after": {"v": value}},
            }
        ],
    }


def apply_run(tmp_path: Path, now: dict[str, dict], exits: dict[str, int], interrupt_when: Path | None = None):
    fake = tmp_path / ".fake-terraform"
    fake.mkdir(exist_ok=True)
    for stack, plan in now.items():
        (fake / f"{stack}.json").write_text(json.dumps(plan))
    for stack, code in exits.items():
        (fake / f"{stack}.plan-exit").write_text(str(code))
    run = step(load(APPLY_ENV)["jobs"]["apply"], "Re-plan, check against the review, apply")["run"]
    return run_step(
        run, tmp_path, plan_files.stacks_of(["staging"]), {"ENVIRONMENT": "staging"}, interrupt_when=interrupt_when
    )


def test_apply_applies_the_reviewed_plans_and_skips_a_stack_without_changes(tmp_path):
    empty = {"format_version": "1.2", "resource_changes": []}
    reviewed_file(
        tmp_path, {"core-staging": empty, "pipeline-staging": change("aws_x.a", "new"), "monitoring-staging": empty}
    )
    done = apply_run(tmp_path, {"pipeline-staging": change("aws_x.a", "new")}, {"pipeline-staging": 2})
    assert done.code == 0, done.stdout + done.stderr
    assert [c for c in done.terraform_calls if " apply " in f" {c} "] == [
        "pipeline-staging apply -input=false -no-color plan.tfplan"  # the saved plan that was checked
    ]
    assert "core-staging: no changes, nothing to apply" in done.stdout
    # With the state lock: the plan applied is made under it.
    assert all("-lock=false" not in c for c in done.terraform_calls)


def test_apply_refuses_a_plan_that_is_not_the_reviewed_one_and_stops(tmp_path):
    empty = {"format_version": "1.2", "resource_changes": []}
    reviewed_file(
        tmp_path, {"core-staging": empty, "pipeline-staging": change("aws_x.a", "new"), "monitoring-staging": empty}
    )
    done = apply_run(tmp_path, {"pipeline-staging": change("aws_x.a", "other")}, {"pipeline-staging": 2})
    assert done.code == 1 and done.outputs == {"refused": "true"}
    assert not any(" apply " in f" {c} " for c in done.terraform_calls)
    assert not any(c.startswith("monitoring-staging") for c in done.terraform_calls)  # stopped there
    refusal = (tmp_path / "plans" / "refusal.md").read_text()
    assert "`aws_x.a`: update with other values than reviewed" in refusal
    # ...and the refusal is said on the pull request.
    script = step(load(APPLY_ENV)["jobs"]["apply"], "Say on the pull request why the apply stopped")
    assert script["if"] == "failure() && steps.apply.outputs.refused == 'true'"
    said = run_script(
        script["with"]["script"], tmp_path, {"runId": 99}, {}, {"PULL_REQUEST": "12", "ENVIRONMENT": "staging"}
    )
    (comment,) = said.called("rest.issues.createComment")
    assert comment["issue_number"] == 12 and "`aws_x.a`: update with other values than reviewed" in comment["body"]


def test_apply_finds_the_merged_pull_request_and_refuses_a_direct_push(tmp_path):
    job = load(APPLY)["jobs"]["reviewed"]
    script = script_of(job)
    comment = plan_summary.MARKER + "\n" + plan_binding.record(HEAD, {})
    merged = {
        "number": 12,
        "merged_at": "2026-11-22T10:00:00Z",
        "merge_commit_sha": "m" * 40,
        "head": {"sha": HEAD},
        "base": {"ref": "main"},
        "merged_by": {"login": "alice"},
    }
    bot = {"login": "github-actions[bot]", "type": "Bot"}
    forged = {"user": {"login": "mallory", "type": "User"}, "body": comment.replace(HEAD, "f" * 40)}
    # The commit's list gives the short form ("pull-request-simple": no
    # merged_by); the full one (pulls.get) says who merged.
    short = {k: v for k, v in merged.items() if k != "merged_by"}
    responses = {
        "rest.repos.listPullRequestsAssociatedWithCommit": [short],
        "rest.pulls.get": merged,
        "rest.issues.listComments": [forged, {"user": bot, "body": comment}],
    }
    found = run_script(script, tmp_path, {"eventName": "push", "sha": "m" * 40}, responses)
    assert found.failed is None and found.outputs == {"pull-request": "12", "head": HEAD, "merged-by": "alice"}
    assert (tmp_path / "reviewed-comment.md").read_text() == comment
    read = run_step(step(job, "Read the reviewed plans")["run"], tmp_path, [], {"HEAD_SHA": HEAD})
    assert read.code == 0 and read.outputs["environments"] == "[]"
    # A commit on main that no pull request merged is never applied.
    direct = run_script(script, tmp_path, {"eventName": "push", "sha": "d" * 40}, responses)
    assert "no pull request merged into main" in direct.failed
    # Two plan comments from the workflow: which was reviewed is not known, so none is.
    twice = {**responses, "rest.issues.listComments": [{"user": bot, "body": comment}] * 2}
    assert "has 2 plan comments" in run_script(script, tmp_path, {"eventName": "push", "sha": "m" * 40}, twice).failed
    # A pull request merged into another branch is not applied.
    elsewhere = {
        **responses,
        "rest.repos.listPullRequestsAssociatedWithCommit": [{**short, "base": {"ref": "x"}}],
        "rest.pulls.get": {**merged, "base": {"ref": "x"}},
    }
    assert (
        "no pull request merged into main"
        in run_script(script, tmp_path, {"eventName": "push", "sha": "m" * 40}, elsewhere).failed
    )
    # A comment from an older push is refused.
    stale = run_step(step(job, "Read the reviewed plans")["run"], tmp_path, [], {"HEAD_SHA": "e" * 40})
    assert stale.code != 0 and "its last plan did not finish" in stale.stderr


# ---- drift ------------------------------------------------------------------


def test_drift_runs_nightly_with_a_refresh_only_plan(tmp_path):
    workflow = load(DRIFT)
    assert "schedule" in workflow[True] and "workflow_dispatch" in workflow[True]
    run = step(workflow["jobs"]["refresh"], "Refresh-only plan of each stack (read-only, no state lock)")["run"]
    assert "plan -refresh-only -detailed-exitcode -input=false -lock=false" in run and "apply" not in run
    fake = tmp_path / ".fake-terraform"
    fake.mkdir()
    (fake / "core-test.plan-exit").write_text("2")  # drift
    (fake / "pipeline-test.init-fails").write_text("")
    done = run_step(run, tmp_path, plan_files.stacks_of(["test"]), {"ENVIRONMENT": "test"})
    assert done.code == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "drift").iterdir()) == [
        "core-test.json",
        "monitoring-test.json",
        "pipeline-test.log",
    ]


def issue_script_run(tmp_path: Path, status: str, open_issues: list[dict]):
    (tmp_path / "drift.md").write_text(drift_report.MARKER + "\nreport")
    script = script_of(load(DRIFT)["jobs"]["report"])
    return run_script(script, tmp_path, {}, {"rest.issues.listForRepo": open_issues}, {"STATUS": status})


def test_a_night_with_drift_opens_the_issue_or_updates_the_open_one(tmp_path):
    opened = issue_script_run(tmp_path, "drift", [])
    (created,) = opened.called("rest.issues.create")
    assert created["title"] == drift_report.TITLE and created["labels"] == ["drift"]
    mine = {"number": 5, "body": drift_report.MARKER + "\nold"}
    someone_elses = {"number": 6, "body": "a drift label on another issue"}
    updated = issue_script_run(tmp_path, "drift", [someone_elses, mine])
    assert updated.called("rest.issues.create") == []
    assert [(p["issue_number"], p["body"]) for p in updated.called("rest.issues.update")] == [
        (5, drift_report.MARKER + "\nreport")
    ]


def test_a_clean_night_closes_the_issue_and_an_incomplete_one_leaves_it(tmp_path):
    mine = {"number": 5, "body": drift_report.MARKER + "\nold"}
    closed = issue_script_run(tmp_path, "clean", [mine])
    assert [p["state"] for p in closed.called("rest.issues.update")] == ["closed"]
    assert len(closed.called("rest.issues.createComment")) == 1
    left = issue_script_run(tmp_path, "incomplete", [mine])
    assert left.called("rest.issues.update") == [] and left.called("rest.issues.create") == []


@pytest.mark.parametrize("path", [PLAN, APPLY, APPLY_ENV, DRIFT], ids=lambda p: p.name)
def test_every_run_step_gets_the_shell_the_tests_run_it_in(path):
    """`shell: bash` is `bash --noprofile --norc -eo pipefail {0}`, the flags
    tests/support/workflow_steps.py runs each step with; a step with no shell
    named runs in `bash -e {0}` (no pipefail: a failed command before a pipe
    would pass unseen)."""
    workflow = load(path)
    assert workflow["defaults"] == {"run": {"shell": "bash"}}
    for job in workflow["jobs"].values():
        assert all(step.get("shell", "bash") == "bash" for step in job.get("steps", []))


def test_the_apply_step_times_out_before_its_job_so_the_record_step_still_runs():
    job = load(APPLY_ENV)["jobs"]["apply"]
    applying = step(job, "Re-plan, check against the review, apply")
    assert applying["timeout-minutes"] < job["timeout-minutes"]
    assert step(job, "Record the apply in the ledger")["if"] == "always() && steps.apply.outcome != 'skipped'"
