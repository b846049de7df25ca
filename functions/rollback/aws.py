"""The rollback function's AWS calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize

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
        self.dynamodb = session.client("dynamodb")
        self.codepipeline = session.client("codepipeline")
        self.sns = session.client("sns")
        self.table, self.index, self.pipeline = table, index, pipeline
        self.topic_arn, self.environment = topic_arn, environment

    def claim(self, key: str, item: dict[str, Any]) -> dict[str, Any] | None:
        """Create the record `key`; None when this call created it, else the
        record that already exists (read consistently). A lost acknowledgement
        (the write applied, the SDK retried it) therefore returns our own
        claim, which the caller resumes instead of dropping."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={k: _serialize(v) for k, v in {**item, "deploymentId": key}.items()},
                ConditionExpression="attribute_not_exists(deploymentId)",
            )
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        found = self.dynamodb.get_item(TableName=self.table, Key={"deploymentId": {"S": key}}, ConsistentRead=True).get(
            "Item", {}
        )
        return {k: _deserialize(v) for k, v in found.items()}

    def update(self, key: str, **values: Any) -> None:
        names = {f"#k{i}": k for i, k in enumerate(sorted(values))}
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"deploymentId": {"S": key}},
            UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": _serialize(values[k]) for i, k in enumerate(sorted(values))},
        )

    def deployments(self, page_size: int = 50, fetch=None) -> Iterator[dict[str, Any]]:
        """The runbook's query, every page: this environment's records, newest
        first. A generator: the caller stops reading once it has its answer.
        `fetch(request)` reads one page (default: one Query call)."""
        fetch = fetch or self.page
        request = dict(
            TableName=self.table,
            IndexName=self.index,
            KeyConditionExpression="environment = :env",
            ExpressionAttributeValues={":env": {"S": self.environment}},
            ScanIndexForward=False,
            Limit=page_size,
        )
        while True:
            response = fetch(dict(request))
            for item in response.get("Items", []):
                yield {k: _deserialize(v) for k, v in item.items()}
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def page(self, request: dict) -> dict:
        return self.dynamodb.query(**request)

    def stage_state(self, stage: str) -> dict[str, Any] | None:
        state = self.codepipeline.get_pipeline_state(name=self.pipeline)
        return next((s for s in state.get("stageStates", []) if s.get("stageName") == stage), None)

    def roll_back(self, stage: str, target_execution: str) -> str:
        response = self.codepipeline.rollback_stage(
            pipelineName=self.pipeline, stageName=stage, targetPipelineExecutionId=target_execution
        )
        return response["pipelineExecutionId"]

    def notify(self, subject_and_message: dict[str, str]) -> None:
        self.sns.publish(TopicArn=self.topic_arn, **subject_and_message)


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        e = error.response.get("Error", {})
        return f"{e.get('Code')}: {e.get('Message')}"
    return str(error)


def parse_alarm_map(raw: str) -> dict[str, str]:
    value = json.loads(raw)
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("must be a JSON object mapping alarm names to stage names")
    return value
