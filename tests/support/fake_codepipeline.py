"""A stand-in for the CodePipeline client, for the APIs moto lacks
(GetPipelineState, RollbackStage, ListPipelineExecutions, ListActionExecutions).

Every call's parameters are validated against botocore's own service model,
exactly as the real client validates them before sending, so a misspelled or
mistyped parameter fails here as it would against AWS. Answers come from a
small model of one pipeline's stages; faults are injected per operation:
an error raised N times, or a call that is applied and then times out (the
"lost response").
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.validate import ParamValidator

_MODEL = botocore.session.get_session().get_service_model("codepipeline")
_VALIDATOR = ParamValidator()
_LOCK = threading.Lock()


def client_error(code: str, message: str = "", operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


def timeout() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="https://codepipeline.us-east-1.amazonaws.com")


@dataclass
class StageRun:
    execution_id: str
    status: str = "Succeeded"
    type: str = "STANDARD"


@dataclass
class FakeCodePipeline:
    pipeline: str
    stages: dict[str, StageRun] = field(default_factory=dict)
    executions: list[dict[str, Any]] = field(default_factory=list)
    actions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    # The pipeline's structure version (GetPipelineState's pipelineVersion).
    version: int | None = None
    _faults: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    _ids: Any = field(default_factory=lambda: (f"rb-{n}" for n in itertools.count(1)))

    # --- fault injection ---------------------------------------------------
    def fail(self, operation: str, error: Exception, times: int = 1) -> None:
        """The next `times` calls of `operation` raise `error`, unapplied."""
        self._faults[operation].extend([("raise", error)] * times)

    def apply_then_time_out(self, operation: str) -> None:
        """The next call of `operation` takes effect, but its response is lost."""
        self._faults[operation].append(("apply-then-timeout", None))

    def _call(self, operation: str, params: dict) -> tuple[str, Any] | None:
        shape = _MODEL.operation_model(_operation_name(operation)).input_shape
        report = _VALIDATOR.validate(params, shape)
        if report.has_errors():
            raise AssertionError(f"{operation}: invalid parameters for AWS: {report.generate_report()}")
        self.calls.append((operation, params))
        if self._faults[operation]:
            kind, error = self._faults[operation].popleft()
            if kind == "raise":
                raise error
            return kind, None
        return None

    # --- the API -------------------------------------------------------------
    def get_pipeline_state(self, **params) -> dict:
        self._call("get_pipeline_state", params)
        assert params["name"] == self.pipeline
        return {
            **({"pipelineVersion": self.version} if self.version is not None else {}),
            "pipelineName": self.pipeline,
            "stageStates": [
                {
                    "stageName": name,
                    "latestExecution": {
                        "pipelineExecutionId": run.execution_id,
                        "status": run.status,
                        "type": run.type,
                    },
                }
                for name, run in self.stages.items()
            ],
        }

    def rollback_stage(self, **params) -> dict:
        # CodePipeline applies one RollbackStage at a time per stage (a second
        # is refused while the first runs): atomic here too, for threads.
        with _LOCK:
            return self._rollback_stage(params)

    def _rollback_stage(self, params: dict) -> dict:
        fault = self._call("rollback_stage", params)
        stage = params["stageName"]
        current = self.stages.get(stage)
        if current is None or current.status in ("InProgress", "Stopping"):
            raise client_error("ConflictException", "the stage is in progress", "RollbackStage")
        rollback_id = next(self._ids)
        self.stages[stage] = StageRun(rollback_id, status="InProgress", type="ROLLBACK")
        if fault and fault[0] == "apply-then-timeout":
            raise timeout()
        return {"pipelineExecutionId": rollback_id}

    def list_pipeline_executions(self, **params) -> dict:
        self._call("list_pipeline_executions", params)
        return {"pipelineExecutionSummaries": list(self.executions)}

    def list_action_executions(self, **params) -> dict:
        self._call("list_action_executions", params)
        return {"actionExecutionDetails": self.actions.get(params["filter"]["pipelineExecutionId"], [])}

    def get_pipeline_execution(self, **params) -> dict:
        self._call("get_pipeline_execution", params)
        return {"pipelineExecution": {"pipelineExecutionId": params["pipelineExecutionId"], "artifactRevisions": []}}

    def rollbacks(self) -> list[dict]:
        return [params for operation, params in self.calls if operation == "rollback_stage"]


def _operation_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))
