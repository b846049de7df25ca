"""The deploy rehearsal (`make rehearse ENV=production`): the synthesized
stacks of production (the acceptance tier's one rehearsal, the
`production_rehearsal` fixture: approval and change window make it a superset
of the other environments), applied with real Terraform and the real
hashicorp/aws provider to a moto server on 127.0.0.1, re-planned, and checked
with `ops validate`.

What moto cannot do is listed in tools/emulator.py, and only there; these
tests hold the rehearsal to that list.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from review import plan_summary
from tests.conftest import REHEARSED
from tests.support import golden_plans
from tools import emulator
from tools.rehearse import RehearsalFailed, rehearse, summary
from topology import naming

pytestmark = [pytest.mark.slow, pytest.mark.terraform, pytest.mark.acceptance]
ENV = REHEARSED


@pytest.fixture
def rehearsal(production_rehearsal):
    return production_rehearsal


def reports(rehearsal):
    return {r.stack: r for r in rehearsal.reports}


def test_stacks_are_rehearsed_in_dependency_order(rehearsal):
    assert [r.stack for r in rehearsal.reports] == [naming.stack_id(c, ENV) for c in naming.STACK_CONCERNS]


def test_core_is_applied_in_full(rehearsal):
    core = reports(rehearsal)[naming.stack_id("core", ENV)]
    assert core.not_emulated == {}
    assert core.applied == core.planned > 0


def test_the_rest_is_applied_except_what_the_emulator_cannot_create(rehearsal):
    for report in rehearsal.reports:
        assert report.applied + len(report.not_emulated) == report.planned, report.stack
        for address, why in report.not_emulated.items():
            kind = address.split(".")[0]
            assert kind in emulator.NOT_EMULATED or why.startswith("depends on "), (address, why)
    assert rehearsal.not_emulated_types <= set(emulator.NOT_EMULATED)


def test_every_second_plan_is_clean_apart_from_listed_artifacts(rehearsal):
    assert [c for r in rehearsal.reports for c in r.second_plan] == []


def test_ops_validate_passes_for_everything_the_emulator_holds(rehearsal):
    assert rehearsal.validate_failures == []
    assert rehearsal.validate_output.count("✓") >= 10
    assert rehearsal.ok


def test_the_deployed_health_probe_runs_and_validate_sees_its_data(rehearsal):
    # The example URLs do not resolve here: each target is reported unhealthy,
    # which is the probe doing its job (published, not raised).
    assert rehearsal.probe_result == {
        "result": "published",
        "targets": 3,
        "unhealthy": ["production", "staging", "test"],
    }
    assert f"✓ Health probe kiro-pipeline-{ENV}-health-probe reported every target" in rehearsal.validate_output


def test_the_server_is_stopped(rehearsal):
    # Its time is a benchmark's business (`make bench-tests`), not a test's.
    assert rehearsal.server_pid
    with pytest.raises(ProcessLookupError):
        os.kill(rehearsal.server_pid, 0)


def test_the_summary_says_what_was_applied_and_what_was_not(rehearsal):
    text = summary(rehearsal)
    planned = sum(r.planned for r in rehearsal.reports)
    applied = sum(r.applied for r in rehearsal.reports)
    assert f"applied {applied} of {planned} resources" in text
    for kind in rehearsal.not_emulated_types:
        assert f"{kind}: {emulator.NOT_EMULATED[kind]}" in text
    assert "second plan: clean on every stack" in text and text.endswith("rehearsal passed")


def test_plan_summary_on_real_aws_plans_matches_terraforms_counts(rehearsal):
    for report in rehearsal.reports:
        stack_plan = plan_summary.summarize(report.stack, report.plan_json, report.plan_text)
        counts = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy", report.plan_text).groups()
        assert stack_plan.counts == tuple(map(int, counts)) == (report.planned, 0, 0), report.stack
        assert {c.kind for c in stack_plan.changes} == {"create"}
        # A first deploy creates every role and policy: all of them are flagged.
        roles = [c.address for c in stack_plan.changes if c.resource_type in ("aws_iam_role", "aws_iam_role_policy")]
        assert set(roles) <= {c.address for c in stack_plan.permission_changes}
    monitoring = reports(rehearsal)[naming.stack_id("monitoring", ENV)]
    comment = plan_summary.render([plan_summary.summarize(monitoring.stack, monitoring.plan_json)])
    assert "aws_lambda_permission.alarm_rollback_permission" in comment
    assert "aws_sns_topic_policy.rollbacks_topic_policy" in comment


def test_a_failed_rehearsal_stops_its_server(synth_dir, tmp_path):
    broken = tmp_path / "stacks"
    for concern in naming.STACK_CONCERNS:
        stack = naming.stack_id(concern, "test")
        (broken / stack).mkdir(parents=True)
        config = json.loads((synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
        config["resource"]["aws_kms_key"] = {"key": {"no_such_argument": True}}
        (broken / stack / "cdk.tf.json").write_text(json.dumps(config))
    log: list[str] = []
    with pytest.raises(RehearsalFailed, match="core-test: terraform plan failed"):
        rehearse("test", broken, tmp_path / "scratch", log=log.append)
    pid = int(re.search(r"moto server pid (\d+)", "\n".join(log)).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_deployer_roles_are_made_before_the_stacks_and_admit_the_deploy_project_roles_the_stack_made(rehearsal, stacks):
    """The rehearsal runs `ops deployer-roles` where the docs do, before any
    stack (tools/rehearse.before_stacks); the trust it wrote names the pipeline
    stack's project roles, and preflight's reading of it finds nothing wrong."""
    from environments import load

    config = load(ENV)
    project_roles = {r["name"] for r in stacks[naming.stack_id("pipeline", ENV)].resources("aws_iam_role").values()}
    assert set(rehearsal.deployer_roles) == {t.role_arn.split("/")[-1] for t in config.deploy_targets}
    assert rehearsal.deployer_trust_problems == []
    for name, admitted in rehearsal.deployer_roles.items():
        stage = name.removeprefix(f"kiro-pipeline-{ENV}-").removesuffix("-deployer")
        assert admitted == f"arn:aws:iam::{config.account_id}:role/kiro-pipeline-{ENV}-deploy-{stage}-role"
        assert admitted.split("/")[-1] in project_roles


def test_ctrl_c_stops_what_the_rehearsal_started_and_exits_130_with_one_line(synth_dir, tmp_path):
    """As a terminal delivers it: SIGINT to the rehearsal's process group,
    once its moto server runs. One line, exit 130, no traceback, and the
    server it started is gone (terraform runs in a process group the
    rehearsal kills itself, tools/terraform_cli.py)."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.rehearse",
            "test",
            "--stacks-dir",
            str(synth_dir / "stacks"),
            "--scratch-dir",
            str(tmp_path / "scratch"),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = None
    deadline = time.monotonic() + 120
    while started is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        started = re.search(r"moto server pid (\d+)", line)
    assert started, "the rehearsal did not start its moto server"
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines() == [
        "rehearsal interrupted: stopped the terraform and moto server processes it started"
    ], err
    with pytest.raises(ProcessLookupError):
        os.kill(int(started.group(1)), 0)


def test_the_pipeline_invariants_judge_a_real_plan(rehearsal):
    """The blocking CI check (review/policies/plan.py) on real Terraform's plan
    JSON: the planned pipeline passes every invariant, and the same plan with
    its execution mode weakened fails exactly that one."""
    import copy

    from review.policies import plan as policy

    pipeline_plan = reports(rehearsal)[naming.stack_id("pipeline", ENV)].plan_json
    verdicts = policy.verdicts(pipeline_plan)
    assert verdicts and all(v.passed for v in verdicts), policy.render({"pipeline": verdicts})
    weakened = copy.deepcopy(pipeline_plan)
    for change in weakened["resource_changes"]:
        if change["type"] == "aws_codepipeline":
            change["change"]["after"]["execution_mode"] = "PARALLEL"
    failed = [v.id for v in policy.verdicts(weakened) if not v.passed]
    assert failed == ["CKV_KIRO_6"]


# The golden plans (tests/fixtures/plans/golden/) against what Terraform plans
# today: the rehearsal planned every review scenario again
# (tests/support/plan_scenarios.py); each difference from the fixtures is
# named by scenario and resource address. `make plan-fixtures` regenerates
# them (KIRO_UPDATE_PLAN_FIXTURES=1): review the difference in the diff.
UPDATE = "KIRO_UPDATE_PLAN_FIXTURES"


def test_the_golden_plans_are_what_terraform_plans_today(rehearsal):
    fresh = rehearsal.then_result
    if os.environ.get(UPDATE) == "1":
        golden_plans.write(
            {name: (fresh.plans[name], fresh.texts[name]) for name in fresh.plans},
            {"stack": fresh.stack, "source": "the production rehearsal on moto (make plan-fixtures)", **fresh.versions},
        )
    made_with = golden_plans.manifest()["provider"]
    if made_with != fresh.versions["provider"]:
        # Plans of another provider differ in ways that say nothing about our
        # stacks; the unit tests still judge the fixtures.
        pytest.skip(f"the golden plans were made with {made_with}, this rehearsal ran {fresh.versions['provider']}")
    plans, _ = golden_plans.load()
    differences = golden_plans.differences(plans, fresh.plans)
    assert differences == [], (
        "the plans differ from tests/fixtures/plans/golden/: review, then run `make plan-fixtures`:\n"
        + "\n".join(differences)
    )


def test_preflight_runs_before_the_stacks_and_fails_only_where_the_emulator_or_the_fixtures_explain(rehearsal):
    # The documented order (docs/first-deployment.md): bootstrap, deployer
    # roles, preflight, then the stacks. The fixtures' sample values are
    # placeholders, which preflight must refuse; every other ✗ is one the
    # emulator cannot pass (tools/emulator.PREFLIGHT_NOT_EMULATED).
    assert rehearsal.preflight_code is not None
    assert "✓ State backend " in rehearsal.preflight_output
    assert [line for line in rehearsal.preflight_failures if not line.startswith("✗ No placeholder values")] == []
    assert any(line.startswith("✗ No placeholder values") for line in rehearsal.preflight_failures)
