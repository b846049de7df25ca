"""A Python Lambda function that owns all its parts, as terraform-aws-lambda's
module does: its package, its role and inline policy, its log group (its own,
or one another stack made), the function, and the permissions that let its
triggers (an EventBridge rule, an SNS topic) invoke it.

No state moves: its elements keep their stack-level logical IDs (modules/ids.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from functions import package
from modules import iam
from modules.base_stack import BaseStack
from modules.checks import skip_checks
from modules.iam import Statement, service_role
from modules.ids import keep_logical_id
from topology.functions import reserved_concurrency
from topology.naming import METRICS_NAMESPACE

RUNTIME = "python3.13"


@dataclass(frozen=True)
class FunctionPackage:
    path: Path
    source_code_hash: str


def function_package(function: str) -> FunctionPackage:
    """The zip `make functions` built, with the hash Terraform compares."""
    package.require_packages()
    path = package.zip_path(function)
    return FunctionPackage(path, package.source_code_hash(path))


@dataclass(frozen=True)
class FunctionSpec:
    # The construct ID of the function (`aws_lambda_function.<id>`); its parts are `<id>_role`, `<id>_package`...
    function: str
    # The function's purpose: its name is `kiro-pipeline-{env}-{purpose}`,
    # and its row in topology/functions.py (its reserved concurrency).
    purpose: str
    timeout: int
    environment: dict[str, str]
    role_statements: Sequence[Statement] = ()
    # Whether it may PutMetricData in the project's namespace.
    publishes_metrics: bool = True
    # The zip it runs (default: `function`), and the module whose `handler` is the entry point.
    package_name: str | None = None
    entry: str = "handler"
    # A log group made elsewhere (its name), or None: the unit makes its own, with this construct ID.
    log_group_name: str | None = None
    log_group_id: str | None = None


CHECKOV_SKIPS = {
    "CKV_AWS_117": "the function calls only AWS APIs and reaches no private network; a VPC would "
    "add NAT or endpoint cost and no protection",
    "CKV_AWS_272": "the zip is built reproducibly from reviewed source in this repository and pinned "
    "by source_code_hash; there is no third-party code to verify",
}
# Only where the environment does not opt in to reserved concurrency.
UNRESERVED_SKIP = {
    "CKV_AWS_115": "reserved concurrency is opt-in (reserve_function_concurrency): a reservation leaves the "
    "account less than its 100 unreserved on a new account and fails the deploy (topology/functions.py)",
}


class PythonFunction(Construct):
    def __init__(self, stack: BaseStack, spec: FunctionSpec, *, key_arn: str, dead_letters_arn: str):
        super().__init__(stack, f"{spec.function}_unit")
        self.stack, self.spec = stack, spec
        names = stack.names
        name = names.lambda_function(spec.purpose)
        log_group_name = spec.log_group_name
        if log_group_name is None:
            log_group_name = stack.log_group(
                spec.log_group_id or f"{spec.function}_log_group",
                names.lambda_log_group(spec.purpose),
                key_arn,
                scope=self,
            ).name
        package_name = spec.package_name or spec.function
        built = function_package(package_name)
        reserved = reserved_concurrency(stack.config, spec.purpose)
        # In the stack's scope: an asset's directory under cdktf.out is named
        # by its construct path, and the function's `filename` with it.
        asset = TerraformAsset(stack, f"{spec.function}_package", path=str(built.path), type=AssetType.FILE)
        self.role = service_role(
            self,
            f"{spec.function}_role",
            name=names.role(spec.purpose),
            service="lambda.amazonaws.com",
            account_id=stack.config.account_id,
            permissions_boundary=stack.config.iam_permissions_boundary_arn,
            source_arn=None,
            statements=self._statements(key_arn, dead_letters_arn) + list(spec.role_statements),
            description=f"Runs Lambda function {name}",
        )
        self.function = keep_logical_id(
            LambdaFunction(
                self,
                spec.function,
                function_name=name,
                role=self.role.arn,
                runtime=RUNTIME,
                architectures=["arm64"],
                handler=f"functions.{package_name}.{spec.entry}.handler",
                filename=asset.path,
                source_code_hash=built.source_code_hash,
                timeout=spec.timeout,
                memory_size=256,
                # Left out (None) unless the environment opts in: topology/functions.py.
                reserved_concurrent_executions=reserved,
                kms_key_arn=key_arn,
                environment=LambdaFunctionEnvironment(variables=spec.environment),
                dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=dead_letters_arn),
                logging_config=LambdaFunctionLoggingConfig(log_format="Text", log_group=log_group_name),
                tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            )
        )
        skip_checks(self.function, CHECKOV_SKIPS if reserved else {**CHECKOV_SKIPS, **UNRESERVED_SKIP})

    def _statements(self, key_arn: str, dead_letters_arn: str) -> list[Statement]:
        """What every function may do: its own logs, the key, the dead-letter
        queue, traces, and (if it publishes) metrics in the project's namespace."""
        stack, spec = self.stack, self.spec
        statements = [
            iam.write_logs(stack.arn("logs", f"log-group:{stack.names.lambda_log_group(spec.purpose)}")),
            iam.use_key(key_arn),
            Statement(sid="KeepFailedEvents", actions=["sqs:SendMessage"], resources=[dead_letters_arn]),
            iam.send_traces(),
        ]
        if spec.publishes_metrics:
            statements.append(iam.put_metrics("PublishPipelineMetrics", METRICS_NAMESPACE))
        return statements

    @property
    def function_name(self) -> str:
        return self.function.function_name

    @property
    def arn(self) -> str:
        return self.function.arn

    def invoked_by_rule(self, rule: CloudwatchEventRule, construct_id: str) -> None:
        """The rule's target, and the permission for only that rule to invoke."""
        keep_logical_id(
            CloudwatchEventTarget(self, f"{construct_id}_target", rule=rule.name, arn=self.arn, target_id=construct_id)
        )
        keep_logical_id(
            LambdaPermission(
                self,
                f"{construct_id}_permission",
                statement_id="AllowThisEnvironmentsRule",
                action="lambda:InvokeFunction",
                function_name=self.function_name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                source_account=self.stack.config.account_id,
            )
        )

    def subscribed_to(self, topic: SnsTopic, construct_id: str, statement_id: str) -> None:
        """A subscription to `topic`, and the permission for only it to invoke."""
        keep_logical_id(
            SnsTopicSubscription(self, construct_id, topic_arn=topic.arn, protocol="lambda", endpoint=self.arn)
        )
        keep_logical_id(
            LambdaPermission(
                self,
                f"{construct_id}_permission",
                statement_id=statement_id,
                action="lambda:InvokeFunction",
                function_name=self.function_name,
                principal="sns.amazonaws.com",
                source_arn=topic.arn,
                source_account=self.stack.config.account_id,
            )
        )

    def asynchronous(self, construct_id: str, *, maximum_retry_attempts: int, maximum_event_age_in_seconds: int):
        """How Lambda treats a failed or throttled asynchronous invocation."""
        keep_logical_id(
            LambdaFunctionEventInvokeConfig(
                self,
                construct_id,
                function_name=self.function_name,
                maximum_retry_attempts=maximum_retry_attempts,
                maximum_event_age_in_seconds=maximum_event_age_in_seconds,
            )
        )
