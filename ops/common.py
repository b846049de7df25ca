"""What every `python -m ops` command shares: the Context it runs with, and
the reads that several commands make (the pipeline's state, the newest
deployment records)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from environments import EnvironmentConfig
from functions.shared import records
from functions.shared.store import Store
from ops.aws import OpsError, session
from topology import naming

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Context:
    """What every command gets: the environment's config, names and clients."""

    def __init__(self, config: EnvironmentConfig, region: str, profile: str | None, as_json: bool):
        self.config, self.names = config, config.names
        self.region, self.as_json = region, as_json
        self.session = session(region, profile)

    def client(self, service: str):
        return self.session.client(service, region_name=self.region)

    def store(self) -> Store:
        """The deployment-record table, read and written as the functions do."""
        return Store(self.client("dynamodb"), self.names.deployments_table, self.names.deployments_index)

    def arn(self, service: str, resource: str) -> str:
        return naming.arn(self.config.partition, service, self.region, self.config.account_id, resource)

    def emit(self, data: Any, lines: list[str]) -> None:
        print(json.dumps(data, indent=2, default=str) if self.as_json else "\n".join(lines))


def code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return records.format_time(moment)
    return str(moment or "")


def pipeline_state(ctx: Context) -> dict:
    try:
        return ctx.client("codepipeline").get_pipeline_state(name=ctx.names.pipeline)
    except ClientError as error:
        if code(error) == "PipelineNotFoundException":
            raise OpsError(f"pipeline {ctx.names.pipeline} not found: deploy pipeline-{ctx.config.name}") from error
        raise


def query_deployments(ctx: Context, limit: int, status: str | None = None, since: str | None = None) -> list[dict]:
    """The environment's newest `limit` records (optionally of one status, from `since`)."""
    return list(itertools.islice(ctx.store().recent(ctx.config.name, since=since, status=status), limit))


def deployment_lines(items: list[dict]) -> list[str]:
    if not items:
        return ["(no deployment records)"]
    lines = [f"{'deploymentId':40} {'status':28} {'startTime':21} {'stage':14} commit"]
    for item in items:
        lines.append(
            f"{item.get('deploymentId', ''):40} {item.get('status', ''):28} {item.get('startTime', ''):21} "
            f"{item.get('stage', ''):14} {str(item.get('commitId', ''))[:12]}"
        )
    return lines
