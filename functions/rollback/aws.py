"""The rollback function's AWS calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from functions.shared import errors
from functions.shared.store import Store

AWS_ERRORS = (BotoCoreError, ClientError)


class Rollbacks:
    def __init__(
        self,
        *,
        table: str,
        index: str,
        pipeline: str,
        topic_arn: str,
        environment: str,
        session: boto3.Session | None = None,
    ):
        session = session or boto3.Session()
        self.store = Store(session.client("dynamodb"), table, index)
        self.codepipeline = session.client("codepipeline")
        self.sns = session.client("sns")
        self.pipeline = pipeline
        self.topic_arn, self.environment = topic_arn, environment
        self.stage_names: list[str] | None = None

    def claim(self, key: str, item: dict[str, Any]) -> dict[str, Any] | None:
        """The store's claim: None when this call created the record."""
        return self.store.claim(key, item)

    def update(self, key: str, **values: Any) -> None:
        self.store.update(key, **values)

    def settle(self, key: str, from_status: str, token: str, **values: Any) -> bool:
        return self.store.settle(key, from_status, token, **values)

    def deployments(self, page_size: int = 50, fetch=None) -> Iterator[dict[str, Any]]:
        """This environment's records, newest first, read page by page as the
        caller goes (the caller stops once it has its answer)."""
        return self.store.recent(self.environment, page_size=page_size, fetch=fetch)

    def page(self, request: dict) -> dict:
        """One Query page, so the handler can wrap it in its retry."""
        return self.store.dynamodb.query(**request)

    def stage_state(self, stage: str) -> dict[str, Any] | None:
        return self.state(stage)[0]

    def state(self, stage: str) -> tuple[dict[str, Any] | None, int | None]:
        """The stage's state, and the pipeline's structure version now (the
        stages' names are kept: the way back lists only their controls)."""
        state = self.codepipeline.get_pipeline_state(name=self.pipeline)
        self.stage_names = [s.get("stageName") for s in state.get("stageStates", [])]
        version = state.get("pipelineVersion")
        stage_state = next((s for s in state.get("stageStates", []) if s.get("stageName") == stage), None)
        return stage_state, version if isinstance(version, int) else None

    def roll_back(self, stage: str, target_execution: str) -> str:
        response = self.codepipeline.rollback_stage(
            pipelineName=self.pipeline, stageName=stage, targetPipelineExecutionId=target_execution
        )
        return response["pipelineExecutionId"]

    def notify(self, subject_and_message: dict[str, str]) -> None:
        self.sns.publish(TopicArn=self.topic_arn, **subject_and_message)


# An AWS error's code and text: one reader for every function (shared/errors.py).
error_code, error_text = errors.code, errors.text


def parse_alarm_map(raw: str) -> dict[str, str]:
    value = json.loads(raw)
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("must be a JSON object mapping alarm names to stage names")
    return value
