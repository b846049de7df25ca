"""A synthesized `aws_codepipeline` resource (as CDKTF writes it in
cdk.tf.json), read into the declarations the simulation runs.

Values such as `${aws_codebuild_project.x.name}` stay opaque strings. A nested
block may come as an object or as a list of objects (CDKTF writes either).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rules import Mode, allowed_results, count_problem


class InvalidPipeline(ValueError):
    """The declaration would be refused by CodePipeline (InvalidStageDeclarationException)."""


@dataclass(frozen=True)
class ActionDecl:
    name: str
    category: str
    provider: str
    run_order: int = 1
    owner: str = "AWS"
    version: str = "1"
    configuration: dict[str, str] = field(default_factory=dict)
    input_artifacts: tuple[str, ...] = ()
    output_artifacts: tuple[str, ...] = ()
    namespace: str | None = None

    def type_id(self) -> dict[str, str]:
        return {"category": self.category, "owner": self.owner, "provider": self.provider, "version": self.version}


@dataclass(frozen=True)
class RuleDecl:
    name: str
    provider: str
    configuration: dict[str, str] = field(default_factory=dict)
    category: str = "Rule"
    owner: str = "AWS"
    version: str = "1"


@dataclass(frozen=True)
class ConditionDecl:
    result: str
    rules: tuple[RuleDecl, ...]


@dataclass(frozen=True)
class FailureDecl:
    result: str | None
    retry_mode: str | None = None
    condition: ConditionDecl | None = None


@dataclass(frozen=True)
class StageDecl:
    name: str
    actions: tuple[ActionDecl, ...]
    before_entry: ConditionDecl | None = None
    on_success: ConditionDecl | None = None
    on_failure: FailureDecl | None = None

    @property
    def is_source(self) -> bool:
        return any(a.category == "Source" for a in self.actions)

    def run_orders(self) -> list[int]:
        return sorted({a.run_order for a in self.actions})


@dataclass(frozen=True)
class PipelineDecl:
    name: str
    pipeline_type: str
    execution_mode: str
    stages: tuple[StageDecl, ...]
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    def stage(self, name: str) -> StageDecl | None:
        return next((s for s in self.stages if s.name == name), None)


def _blocks(value: Any) -> list[dict]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _condition(block: Any, kind: str, mode: Mode) -> ConditionDecl | None:
    conditions = _blocks(block)
    if not conditions:
        return None
    rules = [_blocks(c.get("rule")) for c in conditions]
    problem = count_problem(mode, len(conditions), [len(r) for r in rules])
    if problem:
        raise InvalidPipeline(f"{kind}: {problem}")
    condition = conditions[0]
    result = condition.get("result", "FAIL" if kind == "before_entry" else "ROLLBACK")
    if result not in allowed_results(mode, kind):
        raise InvalidPipeline(f"{kind}: result {result} is not allowed")
    return ConditionDecl(
        result=result,
        rules=tuple(
            RuleDecl(
                name=r["name"],
                provider=r["rule_type_id"]["provider"],
                configuration=dict(r.get("configuration") or {}),
                category=r["rule_type_id"].get("category", "Rule"),
                owner=r["rule_type_id"].get("owner", "AWS"),
                version=str(r["rule_type_id"].get("version", "1")),
            )
            for r in rules[0]
        ),
    )


def _failure(block: Any, mode: Mode) -> FailureDecl | None:
    blocks = _blocks(block)
    if not blocks:
        return None
    failure = blocks[0]
    result = failure.get("result")
    if result is not None and result not in allowed_results(mode, "on_failure"):
        raise InvalidPipeline(f"on_failure: result {result} is not allowed")
    retry = _blocks(failure.get("retry_configuration"))
    condition = None
    if failure.get("condition") is not None:
        conditions = _blocks(failure["condition"])
        condition = _condition(
            [{**c, "result": c.get("result", result or "ROLLBACK")} for c in conditions], "on_failure", mode
        )
    return FailureDecl(result=result, retry_mode=retry[0].get("retry_mode") if retry else None, condition=condition)


def _action(block: dict) -> ActionDecl:
    return ActionDecl(
        name=block["name"],
        category=block["category"],
        provider=block["provider"],
        run_order=int(block.get("run_order", 1)),
        owner=block.get("owner", "AWS"),
        version=str(block.get("version", "1")),
        configuration=dict(block.get("configuration") or {}),
        input_artifacts=tuple(block.get("input_artifacts") or ()),
        output_artifacts=tuple(block.get("output_artifacts") or ()),
        namespace=block.get("namespace"),
    )


def load_pipeline(resource: dict[str, Any], mode: Mode | None = None) -> PipelineDecl:
    """One `resource.aws_codepipeline.<id>` object (or a whole cdk.tf.json
    holding exactly one) as a PipelineDecl, checked as CodePipeline would."""
    mode = mode or Mode()
    if "resource" in resource:
        pipelines = list(resource["resource"].get("aws_codepipeline", {}).values())
        if len(pipelines) != 1:
            raise InvalidPipeline(f"expected one aws_codepipeline, found {len(pipelines)}")
        resource = pipelines[0]
    stages = tuple(
        StageDecl(
            name=s["name"],
            actions=tuple(_action(a) for a in _blocks(s.get("action"))),
            before_entry=_condition((s.get("before_entry") or {}).get("condition"), "before_entry", mode)
            if s.get("before_entry")
            else None,
            on_success=_condition((s.get("on_success") or {}).get("condition"), "on_success", mode)
            if s.get("on_success")
            else None,
            on_failure=_failure(s.get("on_failure"), mode),
        )
        for s in _blocks(resource.get("stage"))
    )
    if not stages:
        raise InvalidPipeline("a pipeline has stages")
    return PipelineDecl(
        name=resource["name"],
        pipeline_type=resource.get("pipeline_type", "V1"),
        execution_mode=resource.get("execution_mode", "SUPERSEDED"),
        stages=stages,
        raw=resource,
    )


# --- the API's view of the declaration (GetPipeline) ----------------------------------


def _api_condition(condition: ConditionDecl) -> dict:
    return {
        "result": condition.result,
        "rules": [
            {
                "name": r.name,
                "ruleTypeId": {"category": r.category, "owner": r.owner, "provider": r.provider, "version": r.version},
                "configuration": dict(r.configuration),
            }
            for r in condition.rules
        ],
    }


def _api_stage(stage: StageDecl) -> dict:
    declaration: dict[str, Any] = {
        "name": stage.name,
        "actions": [
            {
                "name": a.name,
                "actionTypeId": a.type_id(),
                "runOrder": a.run_order,
                "configuration": dict(a.configuration),
                "inputArtifacts": [{"name": n} for n in a.input_artifacts],
                "outputArtifacts": [{"name": n} for n in a.output_artifacts],
                **({"namespace": a.namespace} if a.namespace else {}),
            }
            for a in stage.actions
        ],
    }
    if stage.before_entry:
        declaration["beforeEntry"] = {"conditions": [_api_condition(stage.before_entry)]}
    if stage.on_success:
        declaration["onSuccess"] = {"conditions": [_api_condition(stage.on_success)]}
    if stage.on_failure:
        failure: dict[str, Any] = {}
        if stage.on_failure.result:
            failure["result"] = stage.on_failure.result
        if stage.on_failure.retry_mode:
            failure["retryConfiguration"] = {"retryMode": stage.on_failure.retry_mode}
        if stage.on_failure.condition:
            failure["conditions"] = [_api_condition(stage.on_failure.condition)]
        declaration["onFailure"] = failure
    return declaration


def api_declaration(pipeline: PipelineDecl, version: int) -> dict[str, Any]:
    """The pipeline as GetPipeline's PipelineDeclaration."""
    raw = pipeline.raw
    store = _blocks(raw.get("artifact_store"))
    declaration: dict[str, Any] = {
        "name": pipeline.name,
        "roleArn": raw.get("role_arn", "arn:aws:iam::123456789012:role/pipeline"),
        "stages": [_api_stage(s) for s in pipeline.stages],
        "version": version,
        "executionMode": pipeline.execution_mode,
        "pipelineType": pipeline.pipeline_type,
    }
    if store:
        declaration["artifactStore"] = {"type": store[0].get("type", "S3"), "location": store[0].get("location", "")}
    return declaration
