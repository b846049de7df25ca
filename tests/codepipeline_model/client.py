"""A botocore-shaped CodePipeline client answering from a Simulation.

Every call's parameters are validated against botocore's service model, as
the real client validates them before sending; refusals are ClientErrors of
the model's exception classes (`client.exceptions.ConflictException`, ...)
with the documented codes. Faults are injected per operation as in
tests/support/fake_codepipeline.py: an error raised N times unapplied, or a
call applied whose response is then lost (a read timeout).
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.validate import ParamValidator

from .events import pipeline_arn
from .pipeline import api_declaration
from .rules import FAILED, IN_PROGRESS, SUCCEEDED, listed_as_succeeded, outdated_target_error, retry_refusal
from .rules import rollback_refusal as rollback_refusal_rule

if TYPE_CHECKING:
    from .simulation import ActionRun, ConditionRun, Execution, Simulation, StageRun

MODEL = botocore.session.get_session().get_service_model("codepipeline")
EXCEPTIONS = ClientExceptionsFactory().create_client_exceptions(MODEL)
_VALIDATOR = ParamValidator()


class ModelError(Exception):
    """A call the simulation refuses: `code` is the documented error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def client_error(code: str, message: str, operation: str) -> ClientError:
    """The ClientError botocore would raise for `code` (its modeled subclass)."""
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return EXCEPTIONS.from_code(code)(response, operation)


def operation_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


# DisableStageTransition's reason: "Length Constraints: Minimum length of 1.
# Maximum length of 300. Pattern: [a-zA-Z0-9!@ \(\)\.\*\?\-]+" (API reference).
TRANSITION_REASON = re.compile(r"[a-zA-Z0-9!@ \(\)\.\*\?\-]{1,300}")


class ModelClient:
    def __init__(self, simulation: Simulation):
        self._sim = simulation
        # Who the calls are made as (a transition's lastChangedBy).
        self.caller = f"arn:aws:sts::{simulation.account}:assumed-role/model/simulation"
        self.calls: list[tuple[str, dict]] = []
        self._faults: dict[str, deque] = defaultdict(deque)
        self.exceptions = EXCEPTIONS
        self.meta = SimpleNamespace(service_model=MODEL, region_name=simulation.region)

    # --- fault injection -------------------------------------------------------------

    def fail(self, operation: str, error: Exception | str, times: int = 1) -> None:
        """The next `times` calls of `operation` raise `error` (an exception, or
        an error code), unapplied."""
        if isinstance(error, str):
            error = client_error(error, error, operation_name(operation))
        self._faults[operation].extend([("raise", error)] * times)

    def apply_then_time_out(self, operation: str) -> None:
        """The next call of `operation` takes effect, but its response is lost."""
        self._faults[operation].append(("timeout", None))

    def _call(self, operation: str, params: dict, answer) -> Any:
        shape = MODEL.operation_model(operation_name(operation)).input_shape
        report = _VALIDATOR.validate(params, shape)
        if report.has_errors():
            raise AssertionError(f"{operation}: invalid parameters for AWS: {report.generate_report()}")
        self.calls.append((operation, params))
        fault = self._faults[operation].popleft() if self._faults[operation] else None
        if fault and fault[0] == "raise":
            raise fault[1]
        name = params.get("pipelineName", params.get("name"))
        if name != self._sim.pipeline.name:
            raise client_error("PipelineNotFoundException", f"no pipeline {name}", operation_name(operation))
        try:
            response = answer()
        except ModelError as error:
            raise client_error(error.code, error.message, operation_name(operation)) from None
        if fault:
            raise ReadTimeoutError(endpoint_url=f"https://codepipeline.{self._sim.region}.amazonaws.com")
        return response

    # --- lookups ---------------------------------------------------------------------

    def _stage(self, name: str):
        stage = self._sim.pipeline.stage(name)
        if stage is None:
            raise ModelError("StageNotFoundException", f"no stage {name}")
        return stage

    def _run(self, execution: Execution, stage: str, code: str) -> StageRun:
        run = execution.runs.get(stage)
        if run is None:
            raise ModelError(code, f"execution {execution.id} has not run stage {stage}")
        return run

    # --- reads ------------------------------------------------------------------------

    def get_pipeline(self, **params) -> dict:
        def answer():
            version = params.get("version", self._sim.version)
            if version != self._sim.version:
                raise ModelError("PipelineVersionNotFoundException", f"version {version} is not kept by the model")
            return {
                "pipeline": api_declaration(self._sim.pipeline, self._sim.version),
                "metadata": {
                    "pipelineArn": pipeline_arn(self._sim.pipeline.name, self._sim.account, self._sim.region),
                    "created": self._sim.created,
                    "updated": self._sim.updated,
                },
            }

        return self._call("get_pipeline", params, answer)

    def get_pipeline_state(self, **params) -> dict:
        def answer():
            return {
                "pipelineName": self._sim.pipeline.name,
                "pipelineVersion": self._sim.version,
                "stageStates": [stage_state(self._sim, s) for s in self._sim.pipeline.stages],
                "created": self._sim.created,
                "updated": self._sim.updated,
            }

        return self._call("get_pipeline_state", params, answer)

    def get_pipeline_execution(self, **params) -> dict:
        def answer():
            return {"pipelineExecution": execution_view(self._sim, self._sim.execution(params["pipelineExecutionId"]))}

        return self._call("get_pipeline_execution", params, answer)

    def list_pipeline_executions(self, **params) -> dict:
        def answer():
            found = sorted(self._sim.executions, key=lambda e: e.number, reverse=True)
            stage = (params.get("filter") or {}).get("succeededInStage", {}).get("stageName")
            if stage:
                found = [
                    e
                    for e in found
                    if e.runs.get(stage) is not None
                    and e.runs[stage].status == SUCCEEDED
                    and listed_as_succeeded(self._sim.mode, e.version, self._sim.version)
                ]
            page, token = _page(found, params.get("nextToken"), params.get("maxResults", 100))
            return {"pipelineExecutionSummaries": [summary_view(self._sim, e) for e in page], **token}

        return self._call("list_pipeline_executions", params, answer)

    def list_action_executions(self, **params) -> dict:
        def answer():
            criteria = params.get("filter") or {}
            wanted = criteria.get("pipelineExecutionId") or (criteria.get("latestInPipelineExecution") or {}).get(
                "pipelineExecutionId"
            )
            if wanted:
                self._sim.execution(wanted)
            found = [a for a in reversed(self._sim.timeline.actions) if not wanted or a.execution.id == wanted]
            page, token = _page(found, params.get("nextToken"), params.get("maxResults", 100))
            return {"actionExecutionDetails": [action_detail(self._sim, a) for a in page], **token}

        return self._call("list_action_executions", params, answer)

    # --- changes ------------------------------------------------------------------------

    def start_pipeline_execution(self, **params) -> dict:
        def answer():
            commit = next(
                (s["revisionValue"] for s in params.get("sourceRevisions", []) if s["revisionType"] == "COMMIT_ID"),
                None,
            )
            return {"pipelineExecutionId": self._sim.start_execution(commit).id}

        return self._call("start_pipeline_execution", params, answer)

    def rollback_stage(self, **params) -> dict:
        def answer():
            sim, name = self._sim, params["stageName"]
            stage = self._stage(name)
            target = sim.execution(params["targetPipelineExecutionId"])
            run = target.runs.get(name)
            refusal = rollback_refusal_rule(
                sim.mode,
                source_stage=stage.is_source,
                execution_mode=sim.pipeline.execution_mode,
                target_type=target.type,
                target_succeeded=run is not None and run.status == SUCCEEDED,
                target_version=target.version,
                current_version=sim.version,
                stage_running=sim.occupied(name),
            )
            if refusal:
                code = outdated_target_error(sim.mode) if refusal[0] == "outdated" else refusal[0]
                raise ModelError(code, refusal[1])
            rollback = sim.start_rollback(name, target, automated=False)
            sim.settle()
            return {"pipelineExecutionId": rollback.id}

        return self._call("rollback_stage", params, answer)

    def override_stage_condition(self, **params) -> dict:
        def answer():
            self._stage(params["stageName"])
            execution = self._sim.execution(params["pipelineExecutionId"])
            run = self._run(execution, params["stageName"], "ConditionNotOverridableException")
            self._sim.override(run, params["conditionType"])
            return {}

        return self._call("override_stage_condition", params, answer)

    def put_approval_result(self, **params) -> dict:
        def answer():
            stage = self._stage(params["stageName"])
            if not any(a.name == params["actionName"] for a in stage.actions):
                raise ModelError("ActionNotFoundException", f"no action {params['actionName']}")
            action = next((a for a in self._sim.timeline.actions if a.token == params["token"]), None)
            if action is None or action.decl.name != params["actionName"] or action.stage != stage.name:
                raise ModelError("InvalidApprovalTokenException", "no open approval has this token")
            if action.status != IN_PROGRESS:
                answered = action.answer is not None and action.answer.status is not None and action.end is not None
                code = "ApprovalAlreadyCompletedException" if answered else "InvalidApprovalTokenException"
                raise ModelError(code, "the approval request already received a response or has expired")
            self._sim.answer_approval(action, params["result"]["status"], params["result"]["summary"])
            return {"approvedAt": self._sim.now}

        return self._call("put_approval_result", params, answer)

    def retry_stage_execution(self, **params) -> dict:
        def answer():
            sim, name = self._sim, params["stageName"]
            self._stage(name)
            execution = sim.execution(params["pipelineExecutionId"])
            run = self._run(execution, name, "StageNotRetryableException")
            if sim.occupied(name) and not (execution.run is run and run.status in ("InProgress", "Stopping")):
                raise ModelError("ConflictException", "the stage is busy with another execution")
            refusal = retry_refusal(
                sim.mode,
                status=run.status,
                has_failed_actions=any(a.status in (FAILED, "Abandoned") for a in run.actions.values()),
                latest=all(x.runs.get(name) is None or x.runs[name].started <= run.started for x in sim.executions),
                same_version=execution.version == sim.version,
            )
            if refusal:
                raise ModelError(*refusal)
            sim.retry(run, params["retryMode"])
            return {"pipelineExecutionId": execution.id}

        return self._call("retry_stage_execution", params, answer)

    def disable_stage_transition(self, **params) -> dict:
        def answer():
            self._inbound(params)
            reason = params["reason"]
            # DisableStageTransition, reason: "Pattern: [a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]+"
            # (API reference); botocore's validator checks lengths, not patterns.
            if not TRANSITION_REASON.fullmatch(reason):
                raise ModelError("ValidationException", f"reason {reason!r} does not match the documented pattern")
            self._sim.set_transition(params["stageName"], False, self.caller, reason)
            return {}

        return self._call("disable_stage_transition", params, answer)

    def enable_stage_transition(self, **params) -> dict:
        def answer():
            self._inbound(params)
            self._sim.set_transition(params["stageName"], True, self.caller)
            return {}

        return self._call("enable_stage_transition", params, answer)

    def _inbound(self, params: dict) -> None:
        self._stage(params["stageName"])
        if params["transitionType"] != "Inbound":
            raise ModelError("ValidationException", "the model has inbound transitions only")
        if params["stageName"] == self._sim.pipeline.stages[0].name:
            # Assumed: the first stage has no transition into it.
            raise ModelError("ValidationException", "the first stage has no inbound transition")

    def stop_pipeline_execution(self, **params) -> dict:
        def answer():
            execution = self._sim.execution(params["pipelineExecutionId"])
            abandon = params.get("abandon", False)
            if execution.status == "Stopping" and not abandon:
                raise ModelError("DuplicatedStopRequestException", "the execution is already stopping")
            if execution.status not in ("InProgress", "Stopping"):
                raise ModelError("PipelineExecutionNotStoppableException", "the execution is not in progress")
            self._sim.stop(execution, abandon, params.get("reason", ""))
            return {"pipelineExecutionId": execution.id}

        return self._call("stop_pipeline_execution", params, answer)


def _page(items: list, token: str | None, size: int) -> tuple[list, dict]:
    start = int(token) if token else 0
    end = start + size
    return items[start:end], ({"nextToken": str(end)} if end < len(items) else {})


# --- response views --------------------------------------------------------------------


def _condition_state(condition: ConditionRun) -> dict:
    changed = condition.changed or condition.started
    return {
        "latestExecution": {"status": condition.status, "summary": condition.kind},
        "conditionStates": [
            {
                "latestExecution": {"status": condition.status, "summary": "", "lastStatusChange": changed},
                "ruleStates": [
                    {
                        "ruleName": r.decl.name,
                        "latestExecution": {
                            "ruleExecutionId": r.id,
                            "status": r.status,
                            "lastStatusChange": r.changed or condition.started,
                        },
                    }
                    for r in condition.rules.values()
                ],
            }
        ],
    }


def _action_state(action: ActionRun) -> dict:
    latest: dict[str, Any] = {
        "actionExecutionId": action.id,
        "status": action.status,
        "lastStatusChange": action.end or action.start,
        "lastUpdatedBy": action.updated_by,
    }
    if action.summary:
        latest["summary"] = action.summary
    if action.token and action.status == IN_PROGRESS:
        latest["token"] = action.token
    return {"actionName": action.decl.name, "latestExecution": latest}


def stage_state(sim: Simulation, stage) -> dict:
    runs = [r for r in sim.timeline.stage_runs if r.decl.name == stage.name]
    state: dict[str, Any] = {"stageName": stage.name, "actionStates": []}
    if stage is not sim.pipeline.stages[0]:
        t = sim.transition(stage.name)
        state["inboundTransitionState"] = {"enabled": t.enabled}
        if t.changed_at is not None:
            state["inboundTransitionState"].update(lastChangedBy=t.changed_by, lastChangedAt=t.changed_at)
        if not t.enabled:
            state["inboundTransitionState"]["disabledReason"] = t.reason
    latest = runs[-1] if runs else None
    waiting = [
        e
        for e in sim.executions
        if e.status == "InProgress" and e.run is None and e.stages[e.position : e.position + 1] == [stage.name]
    ]
    if waiting:
        inbound = [{"pipelineExecutionId": e.id, "status": "InProgress", "type": e.type} for e in waiting]
        state["inboundExecution"], state["inboundExecutions"] = inbound[0], inbound
    for action in stage.actions:
        run = latest.actions.get(action.name) if latest else None
        state["actionStates"].append(_action_state(run) if run else {"actionName": action.name})
    if latest is None:
        return state
    state["latestExecution"] = {
        "pipelineExecutionId": latest.execution.id,
        "status": latest.status,
        "type": latest.execution.type,
    }
    if latest.entry is not None:
        state["beforeEntryConditionState"] = _condition_state(latest.entry)
    if latest.success is not None:
        state["onSuccessConditionState"] = _condition_state(latest.success)
    if latest.retry_trigger:
        metadata: dict[str, Any] = {"latestRetryTrigger": latest.retry_trigger}
        if latest.auto_retries:
            metadata["autoStageRetryAttempt"] = latest.auto_retries
        if latest.manual_retries:
            metadata["manualStageRetryAttempt"] = latest.manual_retries
        state["retryStageMetadata"] = metadata
    return state


def _source_artifact(e: Execution) -> str:
    source = next((a for s in e.pipeline.stages for a in s.actions if a.category == "Source"), None)
    return source.output_artifacts[0] if source and source.output_artifacts else "SourceArtifact"


def execution_view(sim: Simulation, e: Execution) -> dict:
    view: dict[str, Any] = {
        "pipelineName": e.pipeline.name,
        "pipelineVersion": sim.reported_version(e),
        "pipelineExecutionId": e.id,
        "status": e.status,
        "artifactRevisions": (
            [{"name": _source_artifact(e), "revisionId": e.revision, "created": e.start}] if e.source_done else []
        ),
        "variables": [],
        "trigger": {"triggerType": e.trigger_type, "triggerDetail": e.trigger_detail},
        "executionMode": e.pipeline.execution_mode,
        "executionType": e.type,
    }
    if e.summary:
        view["statusSummary"] = e.summary
    if e.rollback_target:
        view["rollbackMetadata"] = {"rollbackTargetPipelineExecutionId": e.rollback_target}
    return view


def summary_view(sim: Simulation, e: Execution) -> dict:
    """A ListPipelineExecutions summary: it has no pipelineVersion (botocore's
    PipelineExecutionSummary has no such member)."""
    view: dict[str, Any] = {
        "pipelineExecutionId": e.id,
        "status": e.status,
        "startTime": e.start,
        "lastUpdateTime": e.last_update or e.start,
        "trigger": {"triggerType": e.trigger_type, "triggerDetail": e.trigger_detail},
        "executionMode": e.pipeline.execution_mode,
        "executionType": e.type,
    }
    if e.source_done:
        view["sourceRevisions"] = [{"actionName": e.source_action, "revisionId": e.revision}]
    if e.summary:
        view["statusSummary"] = e.summary
    if e.stop_reason:
        view["stopTrigger"] = {"reason": e.stop_reason}
    if e.rollback_target:
        view["rollbackMetadata"] = {"rollbackTargetPipelineExecutionId": e.rollback_target}
    return view


def action_detail(sim: Simulation, a: ActionRun) -> dict:
    detail: dict[str, Any] = {
        "pipelineExecutionId": a.execution.id,
        "actionExecutionId": a.id,
        "pipelineVersion": sim.reported_version(a.execution),
        "stageName": a.stage,
        "actionName": a.decl.name,
        "startTime": a.start,
        "lastUpdateTime": a.end or a.start,
        "updatedBy": a.updated_by,
        "status": a.status,
        "input": {
            "actionTypeId": a.decl.type_id(),
            "configuration": dict(a.decl.configuration),
            "resolvedConfiguration": dict(a.decl.configuration),
            "inputArtifacts": [{"name": n} for n in a.decl.input_artifacts],
        },
    }
    if a.end is not None:
        result = {"externalExecutionId": a.id}
        if a.summary:
            result["externalExecutionSummary"] = a.summary
        outputs = [{"name": n} for n in a.decl.output_artifacts]
        detail["output"] = {"executionResult": result, "outputArtifacts": outputs}
        if a.decl.category == "Source" and a.status == "Succeeded":
            # CodeStarSourceConnection's output variables (action reference,
            # "CodeStarSourceConnection", Output variables): CommitId, AuthorDate, ...
            detail["output"]["outputVariables"] = {
                "CommitId": a.execution.revision,
                "AuthorDate": a.execution.start.isoformat(),
                "BranchName": a.decl.configuration.get("BranchName", "main"),
                "FullRepositoryName": a.decl.configuration.get("FullRepositoryId", ""),
                "ConnectionArn": a.decl.configuration.get("ConnectionArn", ""),
                "CommitMessage": f"commit {a.execution.revision}",
            }
    return detail
