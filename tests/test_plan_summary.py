"""The plan summarizer, on plan JSON from real Terraform core and on a
hand-written AWS fixture."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from review import plan_summary
from tests.support.terraform import terraform, write_config

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plans"
NO_INPUT = ("-input=false", "-no-color")


def data(**resources) -> dict:
    return {"resource": {"terraform_data": resources}} if resources else {}


@pytest.fixture(scope="module")
def real_plan(tmp_path_factory, monkeypatch_module):
    """Apply v1 with local state, then plan v2: an update, a replacement,
    a deletion and a creation, as Terraform itself plans them."""
    workdir = tmp_path_factory.mktemp("plan")
    monkeypatch_module.setenv("TF_IN_AUTOMATION", "1")
    monkeypatch_module.setenv("TF_CLI_CONFIG_FILE", str(workdir / "terraformrc"))
    (workdir / "terraformrc").write_text("")
    version_one = data(
        keep={"input": "same"},
        update_me={"input": "one"},
        replace_me={"triggers_replace": "one"},
        remove_me={"input": "gone soon"},
    )
    write_config(workdir, version_one)
    for command in (("init",), ("apply", "-auto-approve")):
        result = terraform(workdir, *command, *NO_INPUT)
        assert result.code == 0, result.stderr
    version_two = data(
        keep={"input": "same"},
        update_me={"input": "two"},
        replace_me={"triggers_replace": "two"},
        added={"input": "new"},
    )
    write_config(workdir, version_two)
    planned = terraform(workdir, "plan", "-out=plan.tfplan", *NO_INPUT)
    assert planned.code == 0, planned.stderr
    shown = terraform(workdir, "show", "-json", "plan.tfplan")
    text = terraform(workdir, "show", "-no-color", "plan.tfplan")
    return json.loads(shown.stdout), text.stdout


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_counts_match_terraforms_own_summary(real_plan):
    plan_json, text = real_plan
    summary = plan_summary.summarize("core-test", plan_json, text)
    add, change, destroy = map(int, re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy", text).groups())
    assert summary.counts == (add, change, destroy) == (2, 1, 2)
    assert {c.address: c.kind for c in summary.changes} == {
        "terraform_data.added": "create",
        "terraform_data.update_me": "update",
        "terraform_data.replace_me": "replace",
        "terraform_data.remove_me": "delete",
    }
    assert {c.address for c in summary.destructive} == {"terraform_data.replace_me", "terraform_data.remove_me"}
    assert summary.permission_changes == []


def test_the_comment_for_a_real_plan(real_plan):
    plan_json, text = real_plan
    comment = plan_summary.render([plan_summary.summarize("core-test", plan_json, text)])
    assert comment.startswith(plan_summary.MARKER + "\n")
    assert "| `core-test` | 2 | 1 | 2 | 0 |" in comment
    assert "- `core-test`: replace `terraform_data.replace_me`" in comment
    assert "- `core-test`: delete `terraform_data.remove_me`" in comment
    assert "Permissions may change" not in comment
    assert "<details><summary>Full plan: <code>core-test</code></summary>" in comment
    assert "Plan: 2 to add, 1 to change, 2 to destroy." in comment


def test_the_hand_written_aws_fixture_flags_permission_changes():
    plan = json.loads((FIXTURES / "aws_hand_written.json").read_text())
    assert plan["//"].startswith("HAND-WRITTEN")
    summary = plan_summary.summarize("pipeline-test", plan)
    assert summary.counts == (2, 3, 2)
    assert [c.address for c in summary.permission_changes] == [
        "aws_iam_role_policy.build_role_policy",
        "aws_kms_key.key",  # its policy attribute changed
        "aws_security_group.functions",
    ]  # the topic changed only its display name: not a permission change
    assert [(c.kind, c.address) for c in summary.destructive] == [
        ("replace", "aws_s3_bucket.artifacts_bucket"),
        ("delete", "aws_cloudwatch_log_group.old"),
    ]
    comment = plan_summary.render([summary])
    assert "**Permissions may change**" in comment and "**Destroyed or replaced**" in comment


def test_no_changes_says_so():
    comment = plan_summary.render(
        [plan_summary.summarize("core-test", {"format_version": "1.2", "resource_changes": []})]
    )
    assert "No changes." in comment and "Review before merging" not in comment


def test_cli_writes_the_comment_and_rejects_bad_input(tmp_path, capsys):
    fixture = FIXTURES / "aws_hand_written.json"
    out = tmp_path / "comment.md"
    assert plan_summary.main(["--plan", f"pipeline-test={fixture}", "--out", str(out)]) == 0
    assert out.read_text().startswith(plan_summary.MARKER)
    (tmp_path / "bad.json").write_text("{}")
    assert plan_summary.main(["--plan", f"core-test={tmp_path / 'bad.json'}"]) == 2
    assert "not `terraform show -json` plan output" in capsys.readouterr().err


def test_forget_is_counted_and_flagged_never_dropped(tmp_path, monkeypatch):
    """A `removed` block with `destroy = false`, planned by real Terraform:
    the object stays in AWS and leaves state ("forget", Terraform 1.7+)."""
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "terraformrc"))
    (tmp_path / "terraformrc").write_text("")
    write_config(tmp_path, data(keep={"input": "same"}, orphan={"input": "left behind"}))
    for command in (("init",), ("apply", "-auto-approve")):
        result = terraform(tmp_path, *command, *NO_INPUT)
        assert result.code == 0, result.stderr
    write_config(
        tmp_path,
        {
            **data(keep={"input": "same"}),
            "removed": [{"from": "terraform_data.orphan", "lifecycle": [{"destroy": False}]}],
        },
    )
    planned = terraform(tmp_path, "plan", "-out=plan.tfplan", *NO_INPUT)
    assert planned.code == 0, planned.stderr
    plan_json = json.loads(terraform(tmp_path, "show", "-json", "plan.tfplan").stdout)
    summary = plan_summary.summarize("core-test", plan_json, planned.stdout)
    assert [(c.address, c.kind) for c in summary.changes] == [("terraform_data.orphan", "forget")]
    # Terraform's own text: nothing to add, change or destroy, one object let go.
    counts = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy", planned.stdout).groups()
    assert summary.counts == tuple(map(int, counts)) == (0, 0, 0)
    assert "will no longer manage these objects" in planned.stdout and summary.forgotten == 1
    comment = plan_summary.render([summary])
    assert "| `core-test` | 0 | 0 | 0 | 1 |" in comment
    assert "- `core-test`: forget `terraform_data.orphan`" in comment
    assert "No changes." not in comment


def test_an_unknown_action_list_is_shown_not_dropped():
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_s3_bucket.b",
                "type": "aws_s3_bucket",
                "mode": "managed",
                "change": {"actions": ["teleport"]},
            }
        ],
    }
    summary = plan_summary.summarize("core-test", plan)
    assert [c.kind for c in summary.unmanaged] == ["teleport"]
    assert "teleport `aws_s3_bucket.b`" in plan_summary.render([summary])
