"""The nightly drift report's rules (review/drift_report.py). Its run on a real
refresh-only plan with drift made behind Terraform's back is in
tests/test_plan_review.py."""

from __future__ import annotations

import json

from review import drift_report, plan_files


def drift_plan(*entries) -> dict:
    return {"format_version": "1.2", "resource_drift": list(entries), "resource_changes": []}


def entry(address, actions, before=None, after=None, **sensitive) -> dict:
    return {
        "address": address,
        "type": address.split(".")[0],
        "change": {"actions": actions, "before": before, "after": after, **sensitive},
    }


def test_each_changed_leaf_is_named_and_a_sensitive_value_never_shown():
    plan = drift_plan(
        entry(
            "aws_lambda_function.f",
            ["update"],
            before={"timeout": 30, "environment": [{"variables": {"A": "1", "TOKEN": "old"}}], "tags": {}},
            after={"timeout": 60, "environment": [{"variables": {"A": "1", "TOKEN": "new"}}], "tags": {"x": "y"}},
            before_sensitive={"environment": [{"variables": {"TOKEN": True}}]},
            after_sensitive={"environment": [{"variables": {"TOKEN": True}}]},
        ),
        entry("aws_sns_topic.gone", ["delete"], before={"name": "t"}),
        entry("aws_sns_topic.same", ["no-op"], before={}, after={}),
    )
    (function, gone) = drift_report.drifted(plan)
    assert [(a.path, a.before, a.after) for a in function.attributes] == [
        ("environment[0].variables.TOKEN", "(sensitive)", "(sensitive)"),
        ("tags.x", "null", '"y"'),
        ("timeout", "30", "60"),
    ]
    assert (gone.address, gone.action, gone.attributes) == ("aws_sns_topic.gone", "deleted outside Terraform", [])
    body = drift_report.render({"core-test": [function, gone]}, {})
    assert '"old"' not in body and '"new"' not in body
    assert "found 2 resources" in body


def test_a_list_that_changed_length_and_a_long_value_are_reported_whole_and_cut():
    long = "x" * 500
    plan = drift_plan(entry("aws_s3_bucket.b", ["update"], before={"rules": [1]}, after={"rules": [1, long]}))
    ((attribute,),) = [r.attributes for r in drift_report.drifted(plan)]
    assert attribute.path == "rules" and attribute.before == "[1]"
    assert len(attribute.after) == drift_report.VALUE_LIMIT and attribute.after.endswith("...")


def test_status_opens_closes_or_leaves_the_issue():
    some = drift_report.drifted(drift_plan(entry("aws_sns_topic.t", ["delete"], before={})))
    assert drift_report.status({"core-test": some}, {}) == "drift"
    assert drift_report.status({"core-test": some}, {"pipeline-test": "error"}) == "drift"
    assert drift_report.status({"core-test": []}, {}) == "clean"
    # Nothing found, but not everything was checked: the open issue stays open.
    assert drift_report.status({"core-test": []}, {"pipeline-test": "error"}) == "incomplete"


def test_a_stack_that_left_no_plan_is_not_checked(tmp_path):
    plans = tmp_path / "drift"
    plans.mkdir()
    clean = json.dumps(drift_plan())
    stacks = plan_files.stacks_of(["test", "staging", "production"])
    for stack in stacks[:-2]:
        (plans / f"{stack}.json").write_text(clean)
    (plans / f"{stacks[-2]}.log").write_text("Error: AccessDenied")
    out, status = tmp_path / "drift.md", tmp_path / "status.txt"
    assert drift_report.main(["--dir", str(plans), "--out", str(out), "--status", str(status)]) == 0
    assert status.read_text() == "incomplete\n"
    body = out.read_text()
    assert f"- `{stacks[-2]}`: the refresh-only plan failed" in body
    assert f"- `{stacks[-1]}`: the refresh-only plan failed" in body  # left nothing at all
    (plans / f"{stacks[-2]}.log").unlink()
    for stack in stacks[-2:]:
        (plans / f"{stack}.json").write_text(clean)
    assert drift_report.main(["--dir", str(plans), "--out", str(out), "--status", str(status)]) == 0
    assert status.read_text() == "clean\n"


def test_not_a_plan_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out, status = tmp_path / "o", tmp_path / "s"
    assert drift_report.main(["--plan", f"core-test={bad}", "--out", str(out), "--status", str(status)]) == 2
    assert "not `terraform show -json` plan output" in capsys.readouterr().err
    assert not out.exists() and not status.exists()


def test_a_value_shown_whole_is_hidden_when_any_part_of_it_is_sensitive():
    """A list that changed length is shown whole: a secret inside it must not be."""
    plan = drift_plan(
        entry(
            "aws_thing.t",
            ["update"],
            before={"blocks": [{"token": "S3CRET", "x": 1}]},
            after={"blocks": [{"token": "S3CRET", "x": 1}, {"token": "OTHER", "x": 2}]},
            before_sensitive={"blocks": [{"token": True}]},
            after_sensitive={"blocks": [{"token": True}, {"token": True}]},
        )
    )
    ((attribute,),) = [r.attributes for r in drift_report.drifted(plan)]
    assert (attribute.path, attribute.before, attribute.after) == ("blocks", "(sensitive)", "(sensitive)")
    assert "S3CRET" not in drift_report.render({"core-test": drift_report.drifted(plan)}, {})


def test_empty_against_empty_and_mirrored_attributes_are_not_drift():
    """What a refresh-only plan of an untouched, just-deployed stack reports
    (seen in the rehearsal): a null the provider stored against the empty
    list or map AWS returns, and a role's inline_policy mirroring its
    aws_iam_role_policy. None of it is a change in AWS."""
    plan = drift_plan(
        entry(
            "aws_iam_role.r",
            ["update"],
            before={"tags": None, "inline_policy": []},
            after={"tags": {}, "inline_policy": [{"name": "p", "policy": "{}"}]},
        ),
        entry(
            "aws_codepipeline.p",
            ["update"],
            before={"stage": [{"action": [{"input_artifacts": None}]}]},
            after={"stage": [{"action": [{"input_artifacts": []}]}]},
        ),
        entry("aws_sns_topic.t", ["update"], before={"tags": None, "name": "a"}, after={"tags": {}, "name": "b"}),
    )
    (topic,) = drift_report.drifted(plan)
    assert topic.address == "aws_sns_topic.t" and [a.path for a in topic.attributes] == ["name"]
    assert (
        drift_report.status({"core-test": drift_report.drifted(drift_plan(*plan["resource_drift"][:2]))}, {}) == "clean"
    )
