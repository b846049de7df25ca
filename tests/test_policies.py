"""The pipeline's invariants as policy (review/policies/): each holds on every
synthesized pipeline, and each fails on a synthesized pipeline broken in the
way it guards against, both as plain Python and through checkov itself
(`make scan` loads them as custom checks)."""

from __future__ import annotations

import copy
import json

import pytest

from review.policies import invariants
from tools import scan
from topology import naming

BY_ID = {i.id: i for i in invariants.INVARIANTS}


def pipeline_of(stacks, env: str) -> dict:
    return copy.deepcopy(stacks[naming.stack_id("pipeline", env)].resource("aws_codepipeline", "pipeline"))


def stage(pipeline: dict, name: str) -> dict:
    return next(s for s in pipeline["stage"] if s["name"] == name)


def move(p, name, before):
    """Stage `name` moved to just before stage `before` (None: to the end)."""
    moved = stage(p, name)
    rest = [s for s in p["stage"] if s is not moved]
    at = next((i for i, s in enumerate(rest) if s["name"] == before), len(rest))
    p["stage"] = [*rest[:at], moved, *rest[at:]]


def no_approval(p):
    p["stage"] = [s for s in p["stage"] if s["name"] != naming.APPROVAL_STAGE]


def approval_after_deploy(p):
    move(p, naming.APPROVAL_STAGE, None)


def approval_rolls_back(p):
    stage(p, naming.APPROVAL_STAGE)["on_failure"] = {"result": "ROLLBACK"}


def no_rollback(p):
    stage(p, "StagingEnv").pop("on_failure")


def no_bake(p):
    stage(p, "StagingEnv").pop("on_success")


def no_window(p):
    p["stage"] = [s for s in p["stage"] if s["name"] != naming.WINDOW_STAGE]


def window_before_approval(p):
    move(p, naming.WINDOW_STAGE, naming.APPROVAL_STAGE)


def no_incident_gate(p):
    stage(p, "TestGate").pop("before_entry")


def gate_not_last(p):
    move(p, naming.INCIDENT_GATE_STAGES["production"], naming.WINDOW_STAGE)


def mixed_condition(p):
    window = stage(p, naming.WINDOW_STAGE)["before_entry"]["condition"]["rule"]
    stage(p, naming.INCIDENT_GATE_STAGES["production"])["before_entry"]["condition"]["rule"] += window


def gated_rollback(p):
    gate = stage(p, naming.INCIDENT_GATE_STAGES["production"])["before_entry"]
    stage(p, naming.DEPLOY_STAGES["production"])["before_entry"] = copy.deepcopy(gate)


def parallel(p):
    p["execution_mode"] = "PARALLEL"


def unencrypted(p):
    p["artifact_store"][0].pop("encryption_key")


BREAKS = {
    "CKV_KIRO_1": [no_approval, approval_after_deploy],
    "CKV_KIRO_2": [no_rollback, approval_rolls_back],
    "CKV_KIRO_3": [no_bake],
    "CKV_KIRO_4": [no_window, window_before_approval],
    "CKV_KIRO_5": [no_incident_gate, gate_not_last],
    "CKV_KIRO_6": [parallel],
    "CKV_KIRO_7": [unencrypted],
    "CKV_KIRO_8": [mixed_condition],
    "CKV_KIRO_9": [gated_rollback],
}


def test_every_invariant_has_a_break_that_it_catches():
    assert set(BREAKS) == set(BY_ID)


@pytest.mark.parametrize("env", ["test", "staging", "production"])
def test_every_invariant_holds_on_every_synthesized_pipeline(stacks, env):
    pipeline = pipeline_of(stacks, env)
    assert {i.id: i.check(pipeline) for i in invariants.INVARIANTS} == {i.id: [] for i in invariants.INVARIANTS}


# An approval after the deploy also leaves the window before the approval.
ALSO_FAILS = {approval_after_deploy: {"CKV_KIRO_4"}}


@pytest.mark.parametrize("check_id, brk", [(c, b) for c, breaks in BREAKS.items() for b in breaks])
def test_each_invariant_fails_on_its_break_and_nothing_else_does(stacks, check_id, brk):
    pipeline = pipeline_of(stacks, "production")
    brk(pipeline)
    failing = {i.id for i in invariants.INVARIANTS if i.check(pipeline)}
    assert failing == {check_id, *ALSO_FAILS.get(brk, ())}, (brk.__name__, failing)


def test_production_only_rules_do_not_apply_to_other_pipelines(stacks):
    staging = pipeline_of(stacks, "staging")  # its ProductionDeploy deploys staging's own target: no approval needed
    assert BY_ID["CKV_KIRO_1"].check(staging) == [] and BY_ID["CKV_KIRO_4"].check(staging) == []


def test_checkovs_parsed_form_unwraps_to_the_synthesized_form():
    parsed = {
        "name": ["p"],
        "stage": [{"name": ["S"], "action": [{"input_artifacts": [["A", "B"]]}], "__startline__": 1}],
    }
    assert invariants.unwrap(parsed) == {
        "name": "p",
        "stage": [{"name": "S", "action": [{"input_artifacts": ["A", "B"]}]}],
    }


@pytest.mark.slow
@pytest.mark.acceptance
@pytest.mark.scan
def test_checkov_runs_the_invariants_and_fails_a_broken_pipeline(stacks, synth_dir, tmp_path):
    """Through checkov itself, as `make scan` runs it: the production
    pipeline without its approval fails CKV_KIRO_1 (and only the invariants
    it breaks); the real one passes them all."""
    if not scan.DEFAULT_CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make install-scan` (make acceptance does)")
    source = synth_dir / "stacks" / naming.stack_id("pipeline", "production") / "cdk.tf.json"
    for name, brk in (("intact", None), ("broken", no_approval)):
        document = json.loads(source.read_text())
        if brk:
            brk(document["resource"]["aws_codepipeline"]["pipeline"])
        target = tmp_path / name / "pipeline-production" / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(document))
    intact = scan.scan(tmp_path / "intact")
    assert [f for f in intact.failed if f.check_id.startswith("CKV_KIRO")] == []
    broken = scan.scan(tmp_path / "broken")
    kiro = {(f.check_id, f.resource) for f in broken.failed if f.check_id.startswith("CKV_KIRO")}
    # checkov names a Python check's resource by block and name.
    assert kiro == {("CKV_KIRO_1", "resource.pipeline")}, scan.render(broken)


def test_the_plan_check_judges_created_and_updated_pipelines_and_exits_1_on_a_failure(stacks, tmp_path, capsys):
    from review.policies import plan as policy

    good, bad = pipeline_of(stacks, "production"), pipeline_of(stacks, "production")
    no_window(bad)
    plan = {
        "resource_changes": [
            {"address": "aws_codepipeline.pipeline", "type": "aws_codepipeline", "change": {"after": good}},
            {"address": "aws_codepipeline.old", "type": "aws_codepipeline", "change": {"after": None}},  # deleted
        ]
    }
    path = tmp_path / "pipeline-production.json"
    path.write_text(json.dumps(plan))
    assert policy.main([str(path)]) == 0
    plan["resource_changes"][0]["change"]["after"] = bad
    path.write_text(json.dumps(plan))
    assert policy.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "CKV_KIRO_4" in out and "production has no change window" in out
    assert "aws_codepipeline.old" not in out
