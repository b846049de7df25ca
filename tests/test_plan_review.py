"""Plan review on real plans, as unit tests: the golden plans
(tests/fixtures/plans/golden/, `make plan-fixtures`) are what real Terraform
and the real provider planned against the production rehearsal on moto, once
per kind of change a reviewer must see (tests/support/plan_scenarios.py):
approval removed, rollback disabled, change window changed, deploy role
changed, and drift made behind Terraform's back. The summarizer, the control
diff, the blocking policy check, the apply binding and the drift report each
judge those plans. tests/test_rehearsal.py (acceptance tier) plans them
again and holds the fixtures to what Terraform plans today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from review import drift_report, plan_binding, plan_summary
from review.policies import controls
from review.policies import plan as policy
from tests.support import golden_plans, plan_scenarios
from tests.support import pipeline_edits as edits
from topology import naming

ENV = "production"
STACK = naming.stack_id("pipeline", ENV)
PRODUCTION = naming.APPROVAL_STAGE
STAGING = naming.DEPLOY_STAGES["staging"]


@dataclass
class Golden:
    plans: dict[str, dict]
    texts: dict[str, str]


@pytest.fixture(scope="module")
def scenarios() -> Golden:
    return Golden(*golden_plans.load())


def test_the_fixtures_hold_every_scenario_and_say_what_made_them(scenarios):
    expected = {"unchanged", "unchanged again", *plan_scenarios.CODE_CHANGES}
    expected |= {"refresh before drift", "drift", "unchanged after drift"}
    assert set(scenarios.plans) == expected
    manifest = golden_plans.manifest()
    assert manifest["stack"] == STACK and manifest["provider"].startswith("hashicorp/aws ")


def summarized(scenarios, name) -> plan_summary.StackPlan:
    return plan_summary.summarize(STACK, scenarios.plans[name], scenarios.texts[name])


def failed_invariants(plan: dict) -> list[str]:
    return [v.id for v in policy.verdicts(plan) if not v.passed]


def visible_lines(comment: str) -> list[str]:
    """The comment as a reader sees it: without the HTML comments."""
    return [line for line in comment.splitlines() if line and not line.startswith("<!--")]


def test_the_pipeline_is_deployed_so_changes_are_updates(scenarios):
    """Each plan runs against a deployed pipeline: its change is an update
    with a before to compare, never a create (as when moto could not hold one)."""
    for name in ("approval removed", "rollback disabled", "window changed"):
        kinds = {c.address: c.kind for c in summarized(scenarios, name).changes}
        assert kinds["aws_codepipeline.pipeline"] == "update", name
    role = {c.address: c.kind for c in summarized(scenarios, "role changed").changes}
    assert "aws_codepipeline.pipeline" not in role and role["aws_codebuild_project.deploy_production"] == "update"


def test_unchanged_code_changes_no_control_and_passes_every_invariant(scenarios):
    assert summarized(scenarios, "unchanged").controls == []
    assert failed_invariants(scenarios.plans["unchanged"]) == []


def test_removing_productions_approval_opens_the_comment_and_fails_the_policy(scenarios):
    plan = summarized(scenarios, "approval removed")
    assert controls.ControlChange(f"{PRODUCTION}: manual approval removed", weakened=True) in plan.controls
    reviewed = plan_binding.record("a" * 40, {STACK: scenarios.plans["approval removed"]})
    first = visible_lines(plan_summary.render([plan], reviewed=reviewed))[0]
    assert first.startswith(f"⛔ **Delivery control weakened**: `{STACK}` {PRODUCTION}: manual approval removed")
    assert "control-weakened" in plan_summary.labels([plan])
    assert failed_invariants(scenarios.plans["approval removed"]) == ["CKV_KIRO_1"]


def test_disabling_rollback_is_weakened_and_fails_the_policy(scenarios):
    plan = summarized(scenarios, "rollback disabled")
    assert [(c.text, c.weakened) for c in plan.controls] == [(f"{STAGING}: rollback on failure removed", True)]
    assert failed_invariants(scenarios.plans["rollback disabled"]) == ["CKV_KIRO_2"]


def test_a_changed_window_is_stated_not_weakened(scenarios):
    plan = summarized(scenarios, "window changed")
    (change,) = plan.controls
    assert change.text.startswith(f"{naming.WINDOW_STAGE}: change window changed from (")
    assert change.text.endswith(f"to ('{edits.OTHER_WINDOW}', 'UTC')") and not change.weakened
    assert failed_invariants(scenarios.plans["window changed"]) == []


def test_a_changed_deploy_role_is_named(scenarios):
    plan = summarized(scenarios, "role changed")
    (change,) = plan.controls
    assert change.text.startswith("aws_codebuild_project.deploy_production: deploy role changed from arn:aws:iam::")
    assert change.text.endswith(f"to {edits.OTHER_ROLE}")
    assert any(c.address == "aws_codebuild_project.deploy_production" for c in plan.changes)


def reviewed_unchanged(scenarios) -> plan_binding.Reviewed:
    """What the pull request's comment recorded: the unchanged plan."""
    comment = plan_summary.render(
        [summarized(scenarios, "unchanged")],
        reviewed=plan_binding.record("b" * 40, {STACK: scenarios.plans["unchanged"]}),
    )
    return plan_binding.read_record(comment)


def test_the_same_change_planned_again_is_applied(scenarios):
    assert plan_binding.fingerprint(scenarios.plans["unchanged"]) == plan_binding.fingerprint(
        scenarios.plans["unchanged again"]
    )
    # Not vacuous: the plan changes things (what moto cannot create, its known artifacts).
    assert plan_binding.resource_digests(scenarios.plans["unchanged again"])
    assert plan_binding.check(reviewed_unchanged(scenarios), STACK, scenarios.plans["unchanged again"]).matches


def test_any_other_plan_is_refused_naming_what_differs(scenarios):
    reviewed = reviewed_unchanged(scenarios)
    expected = {
        "approval removed": "aws_codepipeline.pipeline",
        "rollback disabled": "aws_codepipeline.pipeline",
        "window changed": "aws_codepipeline.pipeline",
        "role changed": "aws_codebuild_project.deploy_production",
    }
    for name, address in expected.items():
        verdict = plan_binding.check(reviewed, STACK, scenarios.plans[name])
        assert not verdict.matches, name
        assert [d.split("`")[1] for d in verdict.differences] == [address], (name, verdict.differences)
        assert "not applied" in verdict.explain()


def test_an_untouched_deployment_has_no_drift(scenarios):
    """The nightly check on a stack nobody changed reports nothing: what a
    refresh-only plan shows right after an apply (nulls stored against the
    empty lists AWS returns, a role's mirrored inline_policy) is not drift."""
    noise = [
        (r.address, [(a.path, a.before, a.after) for a in r.attributes])
        for r in drift_report.drifted(scenarios.plans["refresh before drift"])
    ]
    assert noise == []
    assert scenarios.plans["refresh before drift"]["resource_drift"]  # ...though Terraform listed some


def test_drift_is_reported_with_its_attributes_and_the_control_it_weakened(scenarios):
    drifted = {r.address: r for r in drift_report.drifted(scenarios.plans["drift"])}
    log_group = next(a for a in drifted if a.startswith("aws_cloudwatch_log_group."))
    retention = [a for a in drifted[log_group].attributes if a.path == "retention_in_days"]
    assert len(retention) == 1 and retention[0].after == str(plan_scenarios.DRIFTED_RETENTION_DAYS)
    pipeline = drifted["aws_codepipeline.pipeline"]
    # The approval stage is gone: the stage list itself changed.
    assert any(a.path == "stage" or a.path.startswith("stage[") for a in pipeline.attributes)
    assert controls.ControlChange(f"{PRODUCTION}: manual approval removed", weakened=True) in pipeline.controls
    assert set(drifted) == {log_group, "aws_codepipeline.pipeline"}
    body = drift_report.render({STACK: list(drifted.values())}, {})
    assert body.startswith(drift_report.MARKER) and f"⛔ delivery control weakened: {PRODUCTION}" in body
    assert drift_report.status({STACK: list(drifted.values())}, {}) == "drift"


def test_the_pull_request_plan_shows_drift_and_the_apply_refuses_after_it(scenarios):
    after = summarized(scenarios, "unchanged after drift")
    assert {c.address for c in after.drift} >= {"aws_codepipeline.pipeline"}
    assert "drift" in plan_summary.labels([after])
    # The plan puts production's approval back: stated, not weakened.
    assert controls.ControlChange(f"{PRODUCTION}: manual approval added") in after.controls
    verdict = plan_binding.check(reviewed_unchanged(scenarios), STACK, scenarios.plans["unchanged after drift"])
    assert not verdict.matches and "aws_codepipeline.pipeline" in " ".join(verdict.differences)


def test_normalising_replaces_emulator_values_consistently_and_keeps_them_distinct():
    first, second = "0b1e6f2e-1111-4c3a-9d1e-2f8a9b7c6d5e", "9b1e6f2e-1111-4c3a-9d1e-2f8a9b7c6d5e"
    plan = {
        "resource_changes": [
            {"address": f"a.{name}", "change": {"actions": ["update"], "before": {"id": value}}}
            for name, value in (("x", first), ("y", first), ("z", second))
        ],
        "timestamp": "2026-12-07T00:00:00Z",
        "configuration": {"provider_config": {}},
    }
    reduced, text = golden_plans.normalise(plan, f"key {first} at http://127.0.0.1:51234")
    assert set(reduced) == {"resource_changes"}
    assert [c["change"]["before"]["id"] for c in reduced["resource_changes"]] == ["<uuid-1>", "<uuid-1>", "<uuid-2>"]
    assert text == "key <uuid-1> at <endpoint-1>"


def test_a_plan_that_changes_differs_from_the_fixtures_by_address(scenarios):
    """The acceptance tier's comparison can fail, and names what differs."""
    golden = {"unchanged": scenarios.plans["unchanged"]}
    assert golden_plans.differences(golden, {"unchanged": scenarios.plans["unchanged again"]}) == []
    found = golden_plans.differences(golden, {"unchanged": scenarios.plans["window changed"]})
    assert found and all(line.startswith("unchanged: resource_changes: aws_codepipeline.pipeline") for line in found)
    assert golden_plans.differences(golden, {}) == ["scenario 'unchanged': only in the fixtures"]


def test_a_value_changed_along_a_path_that_already_changes_is_a_difference(scenarios):
    """The window scenario already changes the cron; a plan that changes it to
    another value differs from the fixtures, named by the path."""
    golden = {"window": scenarios.plans["window changed"]}
    other = json.loads(json.dumps(golden["window"]).replace(edits.OTHER_WINDOW, "* * 7-18 ? * MON-FRI *"))
    found = golden_plans.differences(golden, {"window": other})
    assert found and all("aws_codepipeline.pipeline: values differ at" in line for line in found)
    assert any("after.stage[" in line for line in found)
