"""The rollback function's AWS calls."""

from __future__ import annotations

import json
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize

AWS_ERRORS = (BotoCoreError, ClientError)


class Rollbacks:
    def __init__(self, *, table: str, index: str, pipeline: str, topic_arn: str, namespace: str, environment: str,
                 session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.dynamodb = session.client("dynamodb")
        self.codepipeline = session.client("codepipeline")
        self.sns = session.client("sns")
        self.cloudwatch = session.client("cloudwatch")
        self.table, self.index, self.pipeline = table, index, pipeline
        self.topic_arn, self.namespace, self.environment = topic_arn, namespace, environment

    def claim(self, rollback_id: str, item: dict[str, Any]) -> bool:
        """Create the rollback record; False if this alarm transition already has one."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={k: _serialize(v) for k, v in {**item, "deploymentId": rollback_id}.items()},
                ConditionExpression="attribute_not_exists(deploymentId)",
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def update(self, rollback_id: str, **values: Any) -> None:
        names = {f"#k{i}": k for i, k in enumerate(sorted(values))}
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"deploymentId": {"S": rollback_id}},
            UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": _serialize(values[k]) for i, k in enumerate(sorted(values))},
        )

    def recent_deployments(self, limit: int = 50) -> list[dict[str, Any]]:
        """The runbook's query: this environment's records, newest first."""
        response = self.dynamodb.query(
            TableName=self.table,
            IndexName=self.index,
            KeyConditionExpression="environment = :env",
            ExpressionAttributeValues={":env": {"S": self.environment}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [{k: _deserialize(v) for k, v in item.items()} for item in response["Items"]]

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

    def count_rollback(self) -> None:
        self.cloudwatch.put_metric_data(
            Namespace=self.namespace,
            MetricData=[
                {
                    "MetricName": "RollbackCount",
                    "Dimensions": [{"Name": "Environment", "Value": self.environment}],
                    "Value": 1,
                    "Unit": "Count",
                }
            ],
        )


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
