"""The synthesized pipeline, read as the CodePipeline API will receive it, and
checked against botocore's model of that API (moto has no CodePipeline
GetPipeline the provider can decode, so the rehearsal cannot create it).

botocore's ParamValidator checks required members, types and minimums; the
model's maximums (at most one condition per stage, at most five rules in it,
fifty actions) are checked here too, since ParamValidator skips them.
"""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from environments import ENVIRONMENT_NAMES
from topology import naming

MODEL = botocore.session.get_session().get_service_model("codepipeline")


def _type_id(block: dict) -> dict:
    return {k: block[k] for k in ("category", "owner", "provider", "version")}


def _condition(terraform: dict) -> dict:
    condition = {"result": terraform["result"]}
    if terraform.get("rule"):
        condition["rules"] = [
            {"name": r["name"], "ruleTypeId": _type_id(r["rule_type_id"]), "configuration": r["configuration"]}
            for r in terraform["rule"]
        ]
    return condition


def stage_declaration(stage: dict) -> dict:
    """aws_codepipeline's `stage` block as the API's StageDeclaration."""
    declaration = {
        "name": stage["name"],
        "actions": [
            {
                "name": a["name"],
                "actionTypeId": _type_id(a),
                "runOrder": a["run_order"],
                "configuration": a.get("configuration", {}),
                "inputArtifacts": [{"name": n} for n in a.get("input_artifacts", [])],
                "outputArtifacts": [{"name": n} for n in a.get("output_artifacts", [])],
                **({"namespace": a["namespace"]} if "namespace" in a else {}),
            }
            for a in stage["action"]
        ],
    }
    if "on_success" in stage:
        declaration["onSuccess"] = {"conditions": [_condition(stage["on_success"]["condition"])]}
    if "on_failure" in stage:
        failure = stage["on_failure"]
        declaration["onFailure"] = {"result": failure["result"]}
        if "condition" in failure:
            declaration["onFailure"]["conditions"] = [_condition(failure["condition"])]
    return declaration


def resolved(value):
    """Terraform references (`${...}`) stand in for values only known at
    apply: a short placeholder, so length limits judge our text, not a token."""
    if isinstance(value, str):
        return "resolved-at-apply" if "${" in value else value
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    return value


def over_maximum(shape, value, where="pipeline") -> list[str]:
    """Values longer than the model's `max` (lists, maps, strings), recursively."""
    found = []
    limit = shape.metadata.get("max")
    if limit is not None and isinstance(value, list | dict | str) and len(value) > limit:
        found.append(f"{where}: {len(value)} > {limit}")
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                found += over_maximum(member, value[name], f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            found += over_maximum(shape.member, item, f"{where}[{i}]")
    return found


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_the_pipeline_is_a_valid_update_pipeline_request(stacks, env):
    pipeline = stacks[naming.stack_id("pipeline", env)].resource("aws_codepipeline", "pipeline")
    request = resolved(
        {
            "pipeline": {
                "name": pipeline["name"],
                "roleArn": pipeline["role_arn"],
                "artifactStore": {"type": "S3", "location": pipeline["artifact_store"][0]["location"]},
                "stages": [stage_declaration(s) for s in pipeline["stage"]],
                "pipelineType": pipeline["pipeline_type"],
                "executionMode": pipeline["execution_mode"],
            }
        }
    )
    shape = MODEL.operation_model("UpdatePipeline").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert over_maximum(shape.members["pipeline"], request["pipeline"]) == []
    # The bakes: two CloudWatchAlarm rules in one condition, as the model allows.
    baking = [s for s in request["pipeline"]["stages"] if "onSuccess" in s]
    assert [s["name"] for s in baking] == [naming.DEPLOY_STAGES[t] for t in naming.BAKE_TARGETS]
    for stage in baking:
        assert len(stage["onSuccess"]["conditions"][0]["rules"]) == 2


def test_the_maximum_check_can_fail():
    shape = MODEL.shape_for("SuccessConditions")
    too_many = {"conditions": [{"result": "ROLLBACK"}, {"result": "ROLLBACK"}]}
    assert over_maximum(shape, too_many, "onSuccess") == ["onSuccess.conditions: 2 > 1"]
