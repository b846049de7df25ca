"""The recorder's AWS calls: conditional DynamoDB updates, metrics, commit lookup."""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from deployment_recorder.logic import Update

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class Recorder:
    def __init__(self, table: str, namespace: str, environment: str, session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.dynamodb = session.client("dynamodb")
        self.cloudwatch = session.client("cloudwatch")
        self.codepipeline = session.client("codepipeline")
        self.table = table
        self.namespace = namespace
        self.environment = environment

    def apply(self, update: Update) -> dict[str, Any] | None:
        """The record after `update`, or None when its condition did not hold
        (a duplicate or an older event: nothing to do)."""
        names, values, assignments = {}, {}, []
        for index, (attribute, value) in enumerate(sorted(update.set_values.items())):
            names[f"#s{index}"] = attribute
            values[f":s{index}"] = _serialize(value)
            assignments.append(f"#s{index} = :s{index}")
        for index, (attribute, value) in enumerate(sorted(update.set_if_absent.items())):
            names[f"#a{index}"] = attribute
            values[f":a{index}"] = _serialize(value)
            assignments.append(f"#a{index} = if_not_exists(#a{index}, :a{index})")
        values.update({k: _serialize(v) for k, v in update.condition_values.items()})
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key={"deploymentId": {"S": update.deployment_id}},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=update.condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return {k: _deserialize(v) for k, v in response["Attributes"].items()}

    def set_commit(self, deployment_id: str, pipeline: str) -> str | None:
        """Record the source commit of the execution; None if CodePipeline has none yet."""
        execution = self.codepipeline.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=deployment_id
        )["pipelineExecution"]
        revisions = [r for r in execution.get("artifactRevisions", []) if r.get("revisionId")]
        if not revisions:
            return None
        commit = revisions[0]["revisionId"]
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"deploymentId": {"S": deployment_id}},
            UpdateExpression="SET commitId = :c",
            ExpressionAttributeValues={":c": {"S": commit}},
        )
        return commit

    def publish(self, metrics: dict[str, float], unit: str = "Count") -> None:
        if not metrics:
            return
        self.cloudwatch.put_metric_data(
            Namespace=self.namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "Environment", "Value": self.environment}],
                    "Value": value,
                    "Unit": unit,
                }
                for name, value in sorted(metrics.items())
            ],
        )


AWS_ERRORS = (BotoCoreError, ClientError)
