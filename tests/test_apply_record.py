"""The apply workflow's record of an apply (issue 24, item 1): the step
"Record the apply in the ledger" of terraform-apply-environment.yml, run as
the workflow writes it, in real bash, with the real AWS CLI v1
(.venv-awscli, tests/support/aws_cli.py) against a moto server, and the
runner's bare python3 (tests/support/workflow_steps.py), which runs
tools/apply_record.py (standard library, topology and the record contract).

- After the apply step applied a stack, the record lands: pull request,
  stacks with their reviewed fingerprints, who merged, commit, run URL.
- The same run and attempt again (a replay) neither overwrites it nor fails
  the job: the step exits 0 with a notice and the first record stays.
- A table that is not there is a warning, never a failed job: the apply is done.
- Nothing applied: nothing recorded.
- An apply that stops after applying something (a stack's apply fails
  partway, a later stack's plan is refused, the step is cancelled during an
  apply or between stacks) is recorded with what was applied, the partly
  applied stack among it, and where and why it stopped.
- A cancel reaches Terraform: one SIGINT (a graceful stop), never a second.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from functions.shared import records
from tests.support import aws_cli
from tests.support.tables import create_contract_table
from tests.support.workflow_steps import REPO, bare_python
from tests.test_workflow import APPLY_ENV, apply_run, change, reviewed_file, step

TABLE = "kiro-pipeline-staging-deployments"
GITHUB = {
    "GITHUB_SHA": "c0ffee" + "1" * 34,
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "your-org/kiro-codebuild-worker",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "1",
}
EMPTY = {"format_version": "1.2", "resource_changes": []}


@pytest.fixture
def dynamodb(moto_url):
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if TABLE not in client.list_tables()["TableNames"]:
        create_contract_table(client, TABLE)
    yield client
    client.delete_table(TableName=TABLE)


def record_step() -> dict:
    found = step(yaml.safe_load(APPLY_ENV.read_text())["jobs"]["apply"], "Record the apply in the ledger")
    # After the apply step, whether it succeeded, failed or was cancelled;
    # never when it did not run (a failed checkout or synth changed nothing).
    assert found.get("if") == "always() && steps.apply.outcome != 'skipped'"
    return found


def run_record_step(
    workdir: Path, moto_url: str, merged_by: str = "bob", outcome: str = "success"
) -> subprocess.CompletedProcess:
    """The step's `run:` as the workflow has it, with the step's env as GitHub would fill it."""
    entry = record_step()
    assert entry["env"] == {
        "PULL_REQUEST": "${{ inputs.pull-request }}",
        "MERGED_BY": "${{ inputs.merged-by }}",
        "APPLY_OUTCOME": "${{ steps.apply.outcome }}",
    }
    bin_dir = workdir / ".bin"
    bare_python(bin_dir, workdir)  # review, topology and functions beside it
    if not (workdir / "tools").exists():
        (workdir / "tools").symlink_to(REPO / "tools", target_is_directory=True)
    (workdir / "canned.json").write_text("{}")  # nothing canned: every call reaches moto
    env = aws_cli.environment(moto_url, workdir, bin_dir, workdir / "canned.json", workdir / "calls")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", entry["run"]],
        cwd=workdir,
        env={
            **env,
            **GITHUB,
            "ENVIRONMENT": "staging",
            "PULL_REQUEST": "42",
            "MERGED_BY": merged_by,
            "APPLY_OUTCOME": outcome,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )


def applied_pipeline_stack(tmp_path: Path) -> None:
    """The apply step, run as the workflow writes it: it applies pipeline-staging only."""
    reviewed_file(
        tmp_path, {"core-staging": EMPTY, "pipeline-staging": change("aws_x.a", "new"), "monitoring-staging": EMPTY}
    )
    done = apply_run(tmp_path, {"pipeline-staging": change("aws_x.a", "new")}, {"pipeline-staging": 2})
    assert done.code == 0, done.stdout + done.stderr
    assert (tmp_path / "plans" / "applied").read_text() == "pipeline-staging\n"


def test_the_record_lands_and_a_replay_neither_overwrites_it_nor_fails_the_job(tmp_path, dynamodb, moto_url):
    applied_pipeline_stack(tmp_path)
    fingerprint = json.loads((tmp_path / "reviewed" / "reviewed.json").read_text())["stacks"]["pipeline-staging"]
    done = run_record_step(tmp_path, moto_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded the apply of pull request #42 in kiro-pipeline-staging-deployments" in done.stdout
    key = {records.KEY: {"S": f"{records.APPLY_PREFIX}42#4242#1"}}
    item = dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    assert item[records.ENVIRONMENT] == {"S": "staging"}
    assert item[records.PULL_REQUEST] == {"S": "42"}
    assert item[records.STACKS] == {"L": [{"S": "pipeline-staging"}]}
    assert item[records.PLAN_FINGERPRINTS] == {"M": {"pipeline-staging": {"S": fingerprint["fingerprint"]}}}
    assert item[records.MERGED_BY] == {"S": "bob"} and item[records.COMMIT_ID] == {"S": GITHUB["GITHUB_SHA"]}
    assert item[records.RUN_URL] == {"S": "https://github.com/your-org/kiro-codebuild-worker/actions/runs/4242"}
    assert set(item) == set(records.APPLY_ATTRIBUTES) - {records.APPLY_STOPPED}  # it did not stop
    # The same run and attempt again: not overwritten, and the job goes on.
    again = run_record_step(tmp_path, moto_url, merged_by="mallory")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "::notice::this apply (pull request #42, run 4242 attempt 1) is already recorded" in again.stdout
    assert dynamodb.get_item(TableName=TABLE, Key=key)["Item"][records.MERGED_BY] == {"S": "bob"}
    calls = [json.loads(line)["operation"] for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls == ["dynamodb.PutItem", "dynamodb.PutItem"]


def test_a_missing_table_is_a_warning_and_the_job_still_succeeds(tmp_path, moto_url):
    applied_pipeline_stack(tmp_path)
    done = run_record_step(tmp_path, moto_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::warning::the apply is done, but PutItem on kiro-pipeline-staging-deployments failed" in done.stdout
    assert "ResourceNotFoundException" in done.stdout


def test_nothing_applied_nothing_recorded(tmp_path, moto_url):
    reviewed_file(tmp_path, {"core-staging": EMPTY, "pipeline-staging": EMPTY, "monitoring-staging": EMPTY})
    assert apply_run(tmp_path, {}, {}).code == 0
    assert not (tmp_path / "plans" / "applied").exists()
    done = run_record_step(tmp_path, moto_url)
    assert done.returncode == 0 and done.stdout == "no stack was applied: nothing to record\n"


def test_the_record_says_in_words_what_the_applied_plan_did_to_the_delivery_controls(stacks):
    """The plan review's words for a weakened control (review/policies/controls.py)
    travel with the apply into the ledger, so `ops changes` can say them."""
    from datetime import UTC, datetime

    from tests.support import pipeline_edits as edits
    from tests.test_control_diff import pipeline, plan_of
    from tools import apply_record

    before, after = pipeline(stacks), pipeline(stacks)
    edits.remove_approval(after)
    common = {
        "pull_request": "7",
        "merged_by": "bob",
        "commit": "c0ffee",
        "run_url": "https://github.com/o/r/actions/runs/1",
        "run_id": "1",
        "attempt": "1",
        "now": datetime(2026, 12, 7, tzinfo=UTC),
    }
    applied = ["core-production", "pipeline-production"]
    reviewed = {"stacks": {}}
    weakened = apply_record.item(
        "production", reviewed, applied, plans={"pipeline-production": plan_of(before, after)}, **common
    )
    said = [entry["S"] for entry in weakened[records.CONTROL_CHANGES]["L"]]
    # Weakened first, as the review comment opens with it; then the new stage list.
    assert said[0] == "pipeline-production: WEAKENED ProductionEnv: manual approval removed"
    assert all(line.startswith("pipeline-production: ") for line in said) and len(said) == 2
    unchanged = apply_record.item("production", reviewed, applied, plans={}, **common)
    assert unchanged[records.CONTROL_CHANGES] == {"L": []}


def _three_changed_stacks(tmp_path: Path) -> dict[str, dict]:
    plans = {f"{concern}-staging": change(f"aws_x.{concern}", "new") for concern in ("core", "pipeline", "monitoring")}
    reviewed_file(tmp_path, plans)
    return plans


def test_an_apply_that_fails_partway_is_recorded_with_what_it_applied_and_where_it_stopped(
    tmp_path, dynamodb, moto_url
):
    """core-staging applies; pipeline-staging's apply fails partway (Terraform
    keeps in state what it made before the error); monitoring-staging is
    never reached. The record counts pipeline-staging among the applied, since
    some of its changes may be live, and says where it stopped."""
    plans = _three_changed_stacks(tmp_path)
    (tmp_path / ".fake-terraform").mkdir(exist_ok=True)
    (tmp_path / ".fake-terraform" / "pipeline-staging.apply-fails").touch()
    done = apply_run(tmp_path, plans, dict.fromkeys(plans, 2))
    assert done.code != 0
    assert [c.split()[0] for c in done.terraform_calls if " apply " in f" {c} "] == ["core-staging", "pipeline-staging"]
    recorded = run_record_step(tmp_path, moto_url)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    item = dynamodb.get_item(TableName=TABLE, Key={records.KEY: {"S": f"{records.APPLY_PREFIX}42#4242#1"}})["Item"]
    assert item[records.STACKS] == {"L": [{"S": "core-staging"}, {"S": "pipeline-staging"}]}
    assert set(item[records.PLAN_FINGERPRINTS]["M"]) == {"core-staging", "pipeline-staging"}
    assert item[records.APPLY_STOPPED] == {
        "S": "pipeline-staging: its apply failed partway (some of its changes may be applied)"
    }
    assert set(item) == set(records.APPLY_ATTRIBUTES)


def test_an_apply_refused_after_applying_a_stack_is_recorded_with_that_stack(tmp_path, dynamodb, moto_url):
    """core-staging applies; pipeline-staging's plan is not the reviewed one
    (refused); the record holds core-staging and the refusal."""
    plans = _three_changed_stacks(tmp_path)
    done = apply_run(
        tmp_path, {**plans, "pipeline-staging": change("aws_x.pipeline", "other")}, dict.fromkeys(plans, 2)
    )
    assert done.code != 0 and done.outputs.get("refused") == "true"
    assert run_record_step(tmp_path, moto_url).returncode == 0
    item = dynamodb.get_item(TableName=TABLE, Key={records.KEY: {"S": f"{records.APPLY_PREFIX}42#4242#1"}})["Item"]
    assert item[records.STACKS] == {"L": [{"S": "core-staging"}]}
    assert item[records.APPLY_STOPPED] == {
        "S": "pipeline-staging: refused before its apply (its plan is not the reviewed one)"
    }


def test_an_apply_that_stops_before_applying_anything_records_nothing(tmp_path, moto_url):
    plans = _three_changed_stacks(tmp_path)
    (tmp_path / ".fake-terraform").mkdir(exist_ok=True)
    (tmp_path / ".fake-terraform" / "core-staging.plan-fails").touch()
    assert apply_run(tmp_path, plans, dict.fromkeys(plans, 2)).code != 0
    assert (tmp_path / "plans" / "stopped").read_text().startswith("core-staging: stopped before its apply")
    done = run_record_step(tmp_path, moto_url)
    assert done.returncode == 0 and done.stdout == "no stack was applied: nothing to record\n"


def test_a_cancel_during_an_apply_reaches_terraform_once_and_the_record_says_so(tmp_path, dynamodb, moto_url):
    """The runner cancels the step while pipeline-staging applies: SIGINT to
    the step's shell, SIGTERM a moment later. Terraform gets exactly one
    SIGINT (its graceful stop; a second would stop it at once), the step
    fails, and the record holds core-staging and pipeline-staging, interrupted."""
    plans = _three_changed_stacks(tmp_path)
    fake = tmp_path / ".fake-terraform"
    fake.mkdir(exist_ok=True)
    (fake / "pipeline-staging.apply-runs").touch()
    done = apply_run(tmp_path, plans, dict.fromkeys(plans, 2), interrupt_when=fake / "pipeline-staging.apply-started")
    assert done.code != 0
    assert (fake / "pipeline-staging.interrupts").read_text().split() == ["int"]
    assert not any(c.startswith("monitoring-staging apply") for c in done.terraform_calls)
    assert run_record_step(tmp_path, moto_url, outcome="cancelled").returncode == 0
    item = dynamodb.get_item(TableName=TABLE, Key={records.KEY: {"S": f"{records.APPLY_PREFIX}42#4242#1"}})["Item"]
    assert item[records.STACKS] == {"L": [{"S": "core-staging"}, {"S": "pipeline-staging"}]}
    assert item[records.APPLY_STOPPED]["S"].startswith("pipeline-staging: its apply was interrupted")


def test_an_apply_step_cancelled_between_stacks_is_recorded_as_stopped():
    """No stack says where it stopped, but the step did not succeed."""
    from tools import apply_record

    assert apply_record.stopped_between_stacks("success") == ""
    said = apply_record.stopped_between_stacks("cancelled")
    assert said.startswith("the apply step's outcome was cancelled, between stacks")
