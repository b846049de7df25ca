"""The pipeline's invariants as policy (tools/policies/): each holds on every
synthesized pipeline, and each fails on a synthesized pipeline broken in the
way it guards against, both as plain Python and through checkov itself
(`make scan` loads them as custom checks)."""

from __future__ import annotations

import copy
import json

import pytest

from tools import scan
from tools.policies import invariants
from topology import naming

BY_ID = {i.id: i for i in invariants.INVARIANTS}


def pipeline_of(stacks, env: str) -> dict:
    return copy.deepcopy(stacks[naming.stack_id("pipeline", env)].resource("aws_codepipeline", "pipeline"))


def stage(pipeline: dict, name: str) -> dict:
    return next(s for s in pipeline["stage"] if s["name"] == name)


def no_approval(p):
    production = stage(p, "ProductionEnv")
    production["action"] = [a for a in production["action"] if a["category"] != "Approval"]


def approval_after_deploy(p):
    for action in stage(p, "ProductionEnv")["action"]:
        action["run_order"] = 3 if action["category"] == "Approval" else 1


def no_rollback(p):
    stage(p, "StagingEnv").pop("on_failure")


def no_bake(p):
    stage(p, "StagingEnv").pop("on_success")


def no_window(p):
    condition = stage(p, "ProductionEnv")["before_entry"]["condition"]
    condition["rule"] = [r for r in condition["rule"] if r["name"] != naming.CHANGE_WINDOW_RULE]


def no_incident_gate(p):
    stage(p, "TestEnv").pop("before_entry")


def parallel(p):
    p["execution_mode"] = "PARALLEL"


def unencrypted(p):
    p["artifact_store"][0].pop("encryption_key")


BREAKS = {
    "CKV_KIRO_1": [no_approval, approval_after_deploy],
    "CKV_KIRO_2": [no_rollback],
    "CKV_KIRO_3": [no_bake],
    "CKV_KIRO_4": [no_window],
    "CKV_KIRO_5": [no_incident_gate],
    "CKV_KIRO_6": [parallel],
    "CKV_KIRO_7": [unencrypted],
}


def test_every_invariant_has_a_break_that_it_catches():
    assert set(BREAKS) == set(BY_ID)


@pytest.mark.parametrize("env", ["test", "staging", "production"])
def test_every_invariant_holds_on_every_synthesized_pipeline(stacks, env):
    pipeline = pipeline_of(stacks, env)
    assert {i.id: i.check(pipeline) for i in invariants.INVARIANTS} == {i.id: [] for i in invariants.INVARIANTS}


# Removing production's approval also leaves its stage without the reason it
# may skip the on-failure rollback: two invariants fail, as they should.
ALSO_FAILS = {no_approval: {"CKV_KIRO_2"}}


@pytest.mark.parametrize("check_id, brk", [(c, b) for c, breaks in BREAKS.items() for b in breaks])
def test_each_invariant_fails_on_its_break_and_nothing_else_does(stacks, check_id, brk):
    pipeline = pipeline_of(stacks, "production")
    brk(pipeline)
    failing = {i.id for i in invariants.INVARIANTS if i.check(pipeline)}
    assert failing == {check_id, *ALSO_FAILS.get(brk, ())}, (brk.__name__, failing)


def test_production_only_rules_do_not_apply_to_other_pipelines(stacks):
    staging = pipeline_of(stacks, "staging")  # its ProductionEnv deploys staging's own target: no approval needed
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
    assert kiro == {("CKV_KIRO_1", "resource.pipeline"), ("CKV_KIRO_2", "resource.pipeline")}, scan.render(broken)


def test_the_plan_check_judges_created_and_updated_pipelines_and_exits_1_on_a_failure(stacks, tmp_path, capsys):
    from tools.policies import plan as policy

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
