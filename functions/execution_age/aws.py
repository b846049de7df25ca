"""The execution-age function's AWS calls: the pipeline's executions and
state (CodePipeline), and the published age (CloudWatch)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from functions.execution_age.logic import IN_PROGRESS
from functions.shared.contract import metrics as published

AWS_ERRORS = (BotoCoreError, ClientError)
# At most this many running executions are examined (QUEUED mode keeps few).
MAX_EXECUTIONS = 10


class Pipeline:
    def __init__(self, name: str, session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.codepipeline = session.client("codepipeline")
        self.name = name

    def running(self) -> list[dict[str, Any]]:
        found, token = [], None
        while len(found) < MAX_EXECUTIONS:
            request = {"pipelineName": self.name, "maxResults": 25, **({"nextToken": token} if token else {})}
            response = self.codepipeline.list_pipeline_executions(**request)
            found += [e for e in response.get("pipelineExecutionSummaries", []) if e.get("status") == IN_PROGRESS]
            token = response.get("nextToken")
            if not token:
                break
        return found[:MAX_EXECUTIONS]

    def actions(self, execution_id: str) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            request = {
                "pipelineName": self.name,
                "filter": {"pipelineExecutionId": execution_id},
                **({"nextToken": token} if token else {}),
            }
            response = self.codepipeline.list_action_executions(**request)
            found += response.get("actionExecutionDetails", [])
            token = response.get("nextToken")
            if not token:
                return found

    def state(self) -> dict[str, Any]:
        return self.codepipeline.get_pipeline_state(name=self.name)

    def state_or_why_not(self) -> tuple[dict[str, Any], str | None]:
        """GetPipelineState, or nothing and the error when it cannot be read:
        then no wait at a condition, in a bake or in line is known, and they
        count from the last action's progress (the caller says so, loudly)."""
        try:
            return self.state(), None
        except AWS_ERRORS as error:
            return {}, str(error)


def cloudwatch_client():
    return boto3.client("cloudwatch")


def publish_age(cloudwatch, *, namespace: str, environment: str, seconds: int) -> None:
    """PutMetricData of `ExecutionAge` for the environment."""
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[published.EXECUTION_AGE.datum(seconds, environment)],
    )
