"""What a plan does to the delivery controls (review/policies/controls.py), in
plain words, weakened first, and how the plan summary opens with it."""

from __future__ import annotations

import copy

from review import plan_summary
from review.policies import controls
from tests.support import pipeline_edits as edits
from tests.support.pipeline_edits import stage
from topology import naming


def pipeline(stacks, env="production") -> dict:
    return copy.deepcopy(stacks[naming.stack_id("pipeline", env)].resource("aws_codepipeline", "pipeline"))


def plan_of(before, after, kind="aws_codepipeline", address="aws_codepipeline.pipeline"):
    return {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": address,
                "type": kind,
                "mode": "managed",
                "change": {"actions": ["update"], "before": before, "after": after},
            }
        ],
    }


def test_an_unchanged_pipeline_changes_no_control(stacks):
    assert controls.pipeline_changes(pipeline(stacks), pipeline(stacks)) == []


def test_removing_productions_approval_opens_the_comment(stacks):
    before, after = pipeline(stacks), pipeline(stacks)
    edits.remove_approval(after)
    summary = plan_summary.summarize("pipeline-production", plan_of(before, after))
    assert controls.ControlChange("ProductionEnv: manual approval removed", weakened=True) in summary.controls
    comment = plan_summary.render([summary]).splitlines()
    # The marker is an HTML comment; the first line a reviewer sees says it.
    assert comment[0] == plan_summary.MARKER
    assert comment[1].startswith(
        "⛔ **Delivery control weakened**: `pipeline-production` ProductionEnv: manual approval removed"
    )
    assert "control-weakened" in plan_summary.labels([summary])


def test_each_kind_of_change_in_plain_words(stacks):
    before, after = pipeline(stacks), pipeline(stacks)
    edits.disable_rollback(after, "StagingEnv")
    bake = stage(after, "ProductionDeploy")["on_success"]["condition"]["rule"][0]["configuration"]
    bake["WaitTime"] = "2"  # a shorter bake
    edits.change_window(after)
    stage(after, "TestGate").pop("before_entry")  # the incident gate
    stage(after, "Build").pop("on_failure")  # no retry
    after["execution_mode"] = "PARALLEL"
    found = {c.text: c.weakened for c in controls.pipeline_changes(before, after)}
    assert found == {
        "execution mode changed from QUEUED to PARALLEL": True,
        "Build: automatic retry removed": False,
        "TestGate: incident gate removed": True,
        "StagingEnv: rollback on failure removed": True,
        "ProductionDeploy: bake alarms: watches kiro-pipeline-production-production-health "
        "for 2 instead of 10 minutes": True,
        "ProductionWindow: change window changed from ('* * 9-16 ? * MON-THU *', 'UTC') to "
        "('* * 8-18 ? * MON-FRI *', 'UTC')": False,
    }
    ordered = controls.plan_changes(plan_of(before, after))
    assert [c.weakened for c in ordered] == sorted((c.weakened for c in ordered), reverse=True)  # weakened first


def test_a_deploy_projects_role_change_is_named(stacks):
    project = stacks[naming.stack_id("pipeline", "production")].resource("aws_codebuild_project", "deploy_production")
    before, after = copy.deepcopy(project), copy.deepcopy(project)
    edits.change_deploy_role(after)
    (change,) = controls.plan_changes(
        plan_of(before, after, "aws_codebuild_project", "aws_codebuild_project.deploy_production")
    )
    assert "deploy role changed from arn:aws:iam::123456789012:role/" in change.text
    assert change.text.endswith(f"to {edits.OTHER_ROLE}")


def test_labels_follow_the_plan():
    create = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "a.b",
                "type": "a",
                "mode": "managed",
                "change": {"actions": ["create"], "before": None, "after": {}},
            }
        ],
    }
    gone = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "a.b",
                "type": "a",
                "mode": "managed",
                "change": {"actions": ["delete"], "before": {}, "after": None},
            }
        ],
    }
    empty = {"format_version": "1.2", "resource_changes": []}
    assert plan_summary.labels([plan_summary.summarize("s", create)]) == ["add-or-update"]
    assert plan_summary.labels([plan_summary.summarize("s", gone)]) == ["destroy"]
    assert plan_summary.labels([plan_summary.summarize("s", empty)]) == ["no-changes"]


def test_drift_gets_its_own_section_and_label():
    plan = {
        "format_version": "1.2",
        "resource_drift": [
            {
                "address": "aws_sns_topic.t",
                "type": "aws_sns_topic",
                "change": {"actions": ["update"], "before": {"display_name": "a"}, "after": {"display_name": "b"}},
            },
            {"address": "aws_sns_topic.u", "type": "aws_sns_topic", "change": {"actions": ["no-op"]}},
            {  # a null stored against the empty map AWS returns: not drift (review/drift_report.py)
                "address": "aws_sns_topic.v",
                "type": "aws_sns_topic",
                "change": {"actions": ["update"], "before": {"tags": None}, "after": {"tags": {}}},
            },
        ],
        "resource_changes": [],
    }
    summary = plan_summary.summarize("monitoring-test", plan)
    assert [c.address for c in summary.drift] == ["aws_sns_topic.t"]
    assert "drift" in plan_summary.labels([summary])
    assert "- `monitoring-test`: update `aws_sns_topic.t`" in plan_summary.render([summary])


def test_a_long_plan_is_shortened_whole_never_cut_inside_a_fold_or_fence():
    empty = {"format_version": "1.2", "resource_changes": []}
    huge = "\n".join(f"  # aws_thing.t{i} will be updated in-place ```not a fence```" for i in range(3000))
    plans = [plan_summary.summarize(s, empty, huge) for s in ("core-test", "pipeline-test", "monitoring-test")]
    comment = plan_summary.render(plans)
    assert len(comment) <= plan_summary.COMMENT_LIMIT
    assert comment.count("<details>") == comment.count("</details>") == 3
    fences = [line for line in comment.splitlines() if line == "```"]
    assert len(fences) == 6  # every fence opened is closed
    assert comment.count("shortened to fit the comment") >= 1
    small = plan_summary.render([plan_summary.summarize("core-test", empty, "short plan")])
    assert "short plan" in small and "shortened" not in small


def test_a_failed_stack_is_named_first_with_the_end_of_its_error(tmp_path, capsys):
    log = tmp_path / "pipeline-test.log"
    log.write_text("Initializing...\n" + "noise\n" * 100 + "Error: Unsupported argument\n  on cdk.tf.json line 9\n")
    out = tmp_path / "comment.md"
    assert plan_summary.main(["--failed", f"pipeline-test={log}", "--out", str(out)]) == 0
    comment = out.read_text().splitlines()
    assert comment[1] == "❌ **`pipeline-test`: terraform init or plan failed**"
    assert "Error: Unsupported argument" in out.read_text() and "Initializing..." not in out.read_text()
