"""The recorder's AWS calls: conditional DynamoDB updates, metrics, commit lookup."""

from __future__ import annotations

from decimal import Decimal
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
        expression = "SET " + ", ".join(assignments)
        if update.add_to_sets:
            additions = []
            for index, (attribute, members) in enumerate(sorted(update.add_to_sets.items())):
                names[f"#d{index}"] = attribute
                values[f":d{index}"] = {"SS": sorted(set(members))}
                additions.append(f"#d{index} :d{index}")
            expression += " ADD " + ", ".join(additions)
        if update.remove:
            removals = []
            for index, attribute in enumerate(update.remove):
                names[f"#r{index}"] = attribute
                removals.append(f"#r{index}")
            expression += " REMOVE " + ", ".join(removals)
        values.update({k: _serialize(v) for k, v in update.condition_values.items()})
        request = dict(
            TableName=self.table,
            Key={"deploymentId": {"S": update.deployment_id}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        if update.condition:
            request["ConditionExpression"] = update.condition
        try:
            response = self.dynamodb.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _item(response["Attributes"])

    def get(self, deployment_id: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(
            TableName=self.table, Key={"deploymentId": {"S": deployment_id}}, ConsistentRead=True
        ).get("Item")
        return _item(found) if found else None

    def claim_metrics(self, deployment_id: str, key: str, token: str, status: str, updated_at: str) -> bool:
        """Take the publication of the record's metrics for `key`.

        Only while the record is still at that final state (a stale delivery
        cannot overwrite a newer claim), and only if nobody claimed it, or we
        did (`token`, the event's ID, is the same on every retry of the event)
        and it is not yet published. So a resent request after a lost
        response, and a retry after a failed publication, both go on.
        """
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"deploymentId": {"S": deployment_id}},
                UpdateExpression="SET metricsFor = :k, metricsToken = :t",
                ConditionExpression="#s = :s AND updatedAt = :u AND (attribute_not_exists(metricsFor) "
                "OR metricsFor <> :k OR (metricsToken = :t AND (attribute_not_exists(metricsPublished) "
                "OR metricsPublished <> :k)))",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":k": {"S": key},
                    ":t": {"S": token},
                    ":s": {"S": status},
                    ":u": {"S": updated_at},
                },
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def mark_published(self, deployment_id: str, key: str, token: str) -> None:
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"deploymentId": {"S": deployment_id}},
            UpdateExpression="SET metricsPublished = :k",
            ConditionExpression="metricsFor = :k AND metricsToken = :t",
            ExpressionAttributeValues={":k": {"S": key}, ":t": {"S": token}},
        )

    def set_commit(self, deployment_id: str, pipeline: str) -> str | None:
        """Record the source commit of the execution; None if CodePipeline has none yet."""
        execution = self.codepipeline.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=deployment_id)[
            "pipelineExecution"
        ]
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

    def publish(self, counts: dict[str, float], duration_seconds: int | None = None) -> None:
        """One PutMetricData call, so a publication happens whole or not at all."""
        entries = [(name, value, "Count") for name, value in sorted(counts.items())]
        if duration_seconds is not None:
            entries.append(("DeploymentDuration", duration_seconds, "Seconds"))
        if not entries:
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
                for name, value, unit in entries
            ],
        )


AWS_ERRORS = (BotoCoreError, ClientError)


def _item(attributes: dict) -> dict[str, Any]:
    """A DynamoDB item as plain values; numbers become int where whole."""
    item = {k: _deserialize(v) for k, v in attributes.items()}
    return {k: int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v for k, v in item.items()}
