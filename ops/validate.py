"""`validate ENV`: the deployment guide's post-deployment checklist.

Each check returns one line: ✓ with what it saw, or ✗ with why. Names come
from the naming helper, exactly as the stacks create them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from environments import EnvironmentConfig
from functions.shared import records
from functions.shared.contract.metrics import HEALTH_CHECK_STATUS
from ops.aws import AWS_ERRORS, code, explain
from topology import naming

# The probe runs every minute; five minutes without a status means it is not running.
PROBE_SILENCE = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckResult:
    label: str
    ok: bool
    reason: str = ""

    def line(self) -> str:
        return f"✓ {self.label}" if self.ok else f"✗ {self.label}: {self.reason}"


def _code(error: Exception) -> str:
    return code(error) if isinstance(error, ClientError) else type(error).__name__


class Validator:
    def __init__(self, config: EnvironmentConfig, session):
        self.config, self.names, self.session = config, config.names, session

    def client(self, service: str):
        return self.session.client(service, region_name=self.config.region)

    def arn(self, service: str, resource: str) -> str:
        return naming.arn(self.config.partition, service, self.config.region, self.config.account_id, resource)

    # Each check: (label, function returning a reason for failure or None).
    def checks(self) -> list[tuple[str, Callable[[], str | None]]]:
        names = self.names
        found = [
            (f"Pipeline {names.pipeline} exists with its stages", self.pipeline),
            *[
                (f"CodeBuild project {names.codebuild_project(k)} exists", self._project(k))
                for k in naming.CODEBUILD_PROJECTS
            ],
            (f"S3 bucket {names.artifacts_bucket} is KMS-encrypted, versioned and private", self.bucket),
            (
                f"DynamoDB table {names.deployments_table} has TTL on expiresAt and {names.deployments_index}",
                self.table,
            ),
            (
                f"Lambda function {names.lambda_function('rollback')} has TABLE_NAME, PIPELINE_ARN and TOPIC_ARN",
                self.function,
            ),
            *[
                (f"SNS topic {names.topic(p)} exists", self._topic(p))
                for p in ("deployments", "approvals", "rollbacks")
            ],
            (f"CloudWatch dashboard {names.dashboard} exists", self.dashboard),
            (f"EventBridge rule {names.alarm_rollback_rule} exists", self.rule),
            (
                f"Health probe {names.lambda_function('health-probe')} reported every target in the last "
                f"{int(PROBE_SILENCE.total_seconds() // 60)} minutes",
                self.health_probe,
            ),
            (f"KMS key {names.kms_alias} rotates yearly", self.key_rotation),
            (f"GitHub connection {names.github_connection} is AVAILABLE", self.connection),
        ]
        return found

    def run(self) -> list[CheckResult]:
        results = []
        for label, check in self.checks():
            try:
                reason = check()
            except AWS_ERRORS as error:
                # One line that names the call that failed and, if denied, the action.
                reason = str(explain(error))
            results.append(CheckResult(label, reason is None, reason or ""))
        return results

    # --- the checks ----------------------------------------------------------
    def pipeline(self) -> str | None:
        try:
            pipeline = self.client("codepipeline").get_pipeline(name=self.names.pipeline)["pipeline"]
        except ClientError as error:
            if _code(error) == "PipelineNotFoundException":
                return "not found: deploy pipeline-" + self.config.name
            raise
        stages = [s["name"] for s in pipeline.get("stages", [])]
        expected = list(
            naming.pipeline_stages(approval=self.config.approval_required, window=self.config.change_window.enabled)
        )
        if stages != expected:
            return f"stages are {', '.join(stages)}; expected {', '.join(expected)}"
        return None

    def _project(self, kind: str) -> Callable[[], str | None]:
        def check() -> str | None:
            name = self.names.codebuild_project(kind)
            response = self.client("codebuild").batch_get_projects(names=[name])
            return None if response.get("projects") else "not found"

        return check

    def bucket(self) -> str | None:
        s3, bucket = self.client("s3"), self.names.artifacts_bucket
        problems = []
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            algorithms = {r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
            if algorithms != {"aws:kms"}:
                problems.append(f"encrypted with {', '.join(sorted(algorithms))}, not KMS")
        except ClientError as error:
            if _code(error) == "NoSuchBucket":
                return "not found: deploy core-" + self.config.name
            if _code(error) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            problems.append("no default encryption")
        if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            problems.append("versioning is off")
        try:
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            if not all(block.values()):
                problems.append("public access is not fully blocked")
        except ClientError as error:
            if _code(error) != "NoSuchPublicAccessBlockConfiguration":
                raise
            problems.append("no public access block")
        return "; ".join(problems) or None

    def table(self) -> str | None:
        dynamodb, name = self.client("dynamodb"), self.names.deployments_table
        problems = []
        try:
            table = dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return "not found: deploy core-" + self.config.name
            raise
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != records.EXPIRES:
            problems.append(
                f"TTL is {ttl.get('TimeToLiveStatus', 'DISABLED')} on {ttl.get('AttributeName', 'nothing')}"
            )
        indexes = [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])]
        if self.names.deployments_index not in indexes:
            problems.append(f"no {self.names.deployments_index}")
        return "; ".join(problems) or None

    def function(self) -> str | None:
        name = self.names.lambda_function("rollback")
        try:
            configuration = self.client("lambda").get_function_configuration(FunctionName=name)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return "not found: deploy monitoring-" + self.config.name
            raise
        variables = configuration.get("Environment", {}).get("Variables", {})
        missing = [v for v in ("TABLE_NAME", "PIPELINE_ARN", "TOPIC_ARN") if not variables.get(v)]
        return f"missing {', '.join(missing)}" if missing else None

    def _topic(self, purpose: str) -> Callable[[], str | None]:
        def check() -> str | None:
            try:
                self.client("sns").get_topic_attributes(TopicArn=self.arn("sns", self.names.topic(purpose)))
            except ClientError as error:
                if _code(error) in ("NotFound", "NotFoundException"):
                    return "not found"
                raise
            return None

        return check

    def dashboard(self) -> str | None:
        try:
            self.client("cloudwatch").get_dashboard(DashboardName=self.names.dashboard)
        except ClientError as error:
            if _code(error) in ("ResourceNotFound", "ResourceNotFoundException"):
                return "not found"
            raise
        return None

    def rule(self) -> str | None:
        try:
            rule = self.client("events").describe_rule(Name=self.names.alarm_rollback_rule)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return "not found"
            raise
        return None if rule.get("State") == "ENABLED" else f"state is {rule.get('State')}"

    def health_probe(self, now: datetime | None = None) -> str | None:
        """The health alarms are only as good as the probe's data: each target
        must have a recent status (healthy or not: `ops alarms` shows which)."""
        now = now or datetime.now(UTC)
        cloudwatch, silent = self.client("cloudwatch"), []
        for target in naming.DEPLOY_STAGES:
            points = cloudwatch.get_metric_statistics(
                Namespace=naming.METRICS_NAMESPACE,
                MetricName=HEALTH_CHECK_STATUS.name,
                Dimensions=HEALTH_CHECK_STATUS.dimensions_of(self.config.name, target),
                StartTime=now - PROBE_SILENCE,
                # Past now: a round published this second still counts
                # (the API takes whole seconds).
                EndTime=now + timedelta(minutes=1),
                Period=60,
                Statistics=["SampleCount"],
            ).get("Datapoints", [])
            if not points:
                silent.append(target)
        if silent:
            return (
                f"no status for {', '.join(silent)}: see `python -m ops logs "
                f"{self.config.name} health-probe --since 15m`"
            )
        return None

    def key_rotation(self) -> str | None:
        kms = self.client("kms")
        try:
            key_id = kms.describe_key(KeyId=self.names.kms_alias)["KeyMetadata"]["KeyId"]
        except ClientError as error:
            if _code(error) == "NotFoundException":
                return "not found: deploy core-" + self.config.name
            raise
        return None if kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled") else "rotation is off"

    def connection(self) -> str | None:
        client = self.client("codeconnections")
        connections = client.list_connections(ProviderTypeFilter="GitHub").get("Connections", [])
        match = next((c for c in connections if c.get("ConnectionName") == self.names.github_connection), None)
        if match is None:
            return "not found: deploy pipeline-" + self.config.name
        status = match.get("ConnectionStatus")
        if status == "PENDING":
            return (
                "PENDING: an administrator must complete it once (AWS console > Developer Tools > Settings > "
                "Connections > Update pending connection; docs/operations.md: Completing the GitHub connection)"
            )
        return None if status == "AVAILABLE" else f"status is {status}"
