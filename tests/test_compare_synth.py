"""tools/compare_synth.py: two syntheses differ only in metadata and a
function's code (a structure change moves no state)."""

from __future__ import annotations

import copy
import json

import pytest

from tools import compare_synth

pytestmark = pytest.mark.unit

STACK = {
    "//": {"metadata": {"path": "monitoring-test"}},
    "resource": {
        "aws_lambda_function": {
            "recorder": {
                "//": {"metadata": {"path": "monitoring-test/recorder"}},
                "function_name": "kiro-pipeline-test-deployment-recorder",
                "handler": "functions.deployment_recorder.handler.handler",
                "filename": "dist/deployment_recorder.zip",
                "source_code_hash": "abc",
                "environment": [{"variables": {"TABLE_NAME": "t"}}],
            }
        },
        "aws_cloudwatch_metric_alarm": {"failures": {"alarm_name": "kiro-pipeline-test-failures", "threshold": 1}},
    },
}


def write(root, name, stack):
    (root / name).mkdir(parents=True)
    (root / name / "cdk.tf.json").write_text(json.dumps(stack))


def test_metadata_and_a_functions_code_may_differ(tmp_path):
    after = copy.deepcopy(STACK)
    function = after["resource"]["aws_lambda_function"]["recorder"]
    function.update(
        handler="functions.deployment_recorder.handler.handler2", filename="dist/x.zip", source_code_hash="def"
    )
    function["//"] = {"metadata": {"path": "elsewhere"}}
    write(tmp_path / "before", "monitoring-test", STACK)
    write(tmp_path / "after", "monitoring-test", after)
    assert compare_synth.compare(tmp_path / "before", tmp_path / "after") == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda s: s["resource"]["aws_cloudwatch_metric_alarm"]["failures"].update(threshold=2),
            "monitoring-test: $.resource.aws_cloudwatch_metric_alarm.failures.threshold: 1 -> 2",
        ),
        (
            lambda s: s["resource"]["aws_lambda_function"]["recorder"]["environment"][0]["variables"].pop("TABLE_NAME"),
            "monitoring-test: $.resource.aws_lambda_function.recorder.environment[0].variables.TABLE_NAME: removed",
        ),
        (
            lambda s: s["resource"]["aws_lambda_function"].update(
                moved=s["resource"]["aws_lambda_function"].pop("recorder")
            ),
            "monitoring-test: $.resource.aws_lambda_function.moved: added",
        ),
    ],
    ids=["alarm threshold", "function setting", "address moved"],
)
def test_anything_else_is_named_by_stack_and_path(tmp_path, change, expected):
    after = copy.deepcopy(STACK)
    change(after)
    write(tmp_path / "before", "monitoring-test", STACK)
    write(tmp_path / "after", "monitoring-test", after)
    assert expected in compare_synth.compare(tmp_path / "before", tmp_path / "after")


def test_a_missing_stack_is_a_difference(tmp_path):
    write(tmp_path / "before", "monitoring-test", STACK)
    write(tmp_path / "before", "core-test", {"resource": {}})
    write(tmp_path / "after", "monitoring-test", STACK)
    assert compare_synth.compare(tmp_path / "before", tmp_path / "after") == ["core-test: stack removed"]


def test_the_command_exits_1_on_a_difference_and_0_without(tmp_path, capsys):
    after = copy.deepcopy(STACK)
    write(tmp_path / "before", "monitoring-test", STACK)
    write(tmp_path / "same", "monitoring-test", after)
    after["resource"]["aws_cloudwatch_metric_alarm"]["failures"]["alarm_name"] = "renamed"
    write(tmp_path / "after", "monitoring-test", after)
    before = str(tmp_path / "before")
    assert compare_synth.main(["--before-dir", before, "--stacks-dir", str(tmp_path / "same")]) == 0
    assert "identical apart from metadata" in capsys.readouterr().out
    assert compare_synth.main(["--before-dir", before, "--stacks-dir", str(tmp_path / "after")]) == 1
    assert "alarm_name" in capsys.readouterr().out
