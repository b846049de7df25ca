"""The recorder's AWS calls: the record store, outcome metrics, commit lookup."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from functions.shared import records
from functions.shared.records import Metrics, Update
from functions.shared.store import Store


class Recorder:
    def __init__(self, table: str, namespace: str, environment: str, session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.store = Store(session.client("dynamodb"), table)
        # One attempt: PutMetricData is not idempotent, and the SDK's own retry
        # of a timed-out call could publish twice; the store's protocol decides
        # (at most once) whether the event's retry may publish.
        self.cloudwatch = session.client("cloudwatch", config=Config(retries={"total_max_attempts": 1}))
        self.codepipeline = session.client("codepipeline")
        self.namespace = namespace
        self.environment = environment

    def apply(self, update: Update) -> dict[str, Any] | None:
        return self.store.apply(update)

    def get(self, deployment_id: str) -> dict[str, Any] | None:
        return self.store.get(deployment_id)

    def publish(self, deployment_id: str, metrics: Metrics, token: str) -> bool:
        return self.store.publish_metrics(
            self.cloudwatch,
            deployment_id,
            metrics,
            token=token,
            namespace=self.namespace,
            environment=self.environment,
        )

    def action_details(self, deployment_id: str, pipeline: str) -> list[dict[str, Any]]:
        """The execution's action details (one page: a run has a handful of actions)."""
        return self.codepipeline.list_action_executions(
            pipelineName=pipeline, filter={"pipelineExecutionId": deployment_id}, maxResults=100
        ).get("actionExecutionDetails", [])

    def keep_facts(self, update: Update) -> None:
        self.store.apply(update)

    def set_commit(self, deployment_id: str, pipeline: str) -> str | None:
        """Record the source commit of the execution; None if CodePipeline has none yet."""
        execution = self.codepipeline.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=deployment_id)[
            "pipelineExecution"
        ]
        revisions = [r for r in execution.get("artifactRevisions", []) if r.get("revisionId")]
        if not revisions:
            return None
        commit = revisions[0]["revisionId"]
        self.store.update(deployment_id, **{records.COMMIT_ID: commit})
        return commit


AWS_ERRORS = (BotoCoreError, ClientError)
