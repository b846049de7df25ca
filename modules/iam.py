"""IAM policy documents as data, so tests and scanners can read every statement.

Policies are `aws_iam_policy_document` data sources: they are computed by
Terraform locally (no AWS call) and synthesize to plain JSON lists of
statements, which `tests/` walks to enforce least privilege.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.ids import keep_logical_id
from modules.literal import literal
from topology import naming


@dataclass(frozen=True)
class Statement:
    """One policy statement.

    `conditions` maps (test, variable) to the allowed values, for example
    `{("StringEquals", "aws:SourceAccount"): [account_id]}`.
    """

    sid: str
    actions: Sequence[str]
    resources: Sequence[str]
    effect: str = "Allow"
    service_principals: Sequence[str] = ()
    aws_principals: Sequence[str] = ()
    conditions: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)

    def render(self) -> DataAwsIamPolicyDocumentStatement:
        principals = []
        if self.service_principals:
            principals.append(
                DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=list(self.service_principals))
            )
        if self.aws_principals:
            principals.append(
                DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=list(self.aws_principals))
            )
        return DataAwsIamPolicyDocumentStatement(
            sid=self.sid,
            effect=self.effect,
            actions=list(self.actions),
            # A trust policy has no Resource element.
            resources=list(self.resources) or None,
            principals=principals or None,
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))
                for (test, variable), values in self.conditions.items()
            ]
            or None,
        )


def policy_document(scope: Construct, construct_id: str, statements: Sequence[Statement]) -> DataAwsIamPolicyDocument:
    return keep_logical_id(DataAwsIamPolicyDocument(scope, construct_id, statement=[s.render() for s in statements]))


def account_root(partition: str, account_id: str) -> str:
    return naming.arn(partition, "iam", "", account_id, "root")


# --- fragments: each statement written once, used by every role and policy --

# What a role needs to use the project key for its data (SQS, SNS, S3, Logs,
# Lambda environment variables).
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def deny_insecure_transport(bucket_arn: str) -> Statement:
    """Refuse every request to the bucket that does not use TLS.

    This is a Deny, not a grant: `s3:*` and the `*` principal are what make it
    cover every request, which is the point.
    """
    return deny_plain_http(["s3:*"], [bucket_arn, f"{bucket_arn}/*"])


def deny_plain_http(actions: Sequence[str], resources: Sequence[str]) -> Statement:
    """A resource policy's Deny of every request made without TLS."""
    return Statement(
        sid="DenyInsecureTransport",
        effect="Deny",
        actions=list(actions),
        resources=list(resources),
        aws_principals=["*"],
        conditions={("Bool", "aws:SecureTransport"): ["false"]},
    )


def write_logs(log_group_arn: str) -> Statement:
    """Write to the streams of one log group (the group itself is a resource of ours)."""
    return Statement(
        sid="WriteOwnLogs",
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[f"{log_group_arn}:log-stream:*"],
    )


def read_deployment_history(table_arn: str, index: str) -> Statement:
    """Query the deployment records through their index (the runbook's query)."""
    return Statement(sid="ReadDeploymentHistory", actions=["dynamodb:Query"], resources=[f"{table_arn}/index/{index}"])


def use_key(key_arn: str, actions: Sequence[str] = KEY_USE) -> Statement:
    return Statement(sid="UseProjectKey", actions=list(actions), resources=[key_arn])


def put_metrics(sid: str, namespace: str) -> Statement:
    return Statement(
        sid=sid,
        actions=["cloudwatch:PutMetricData"],
        # PutMetricData has no resource type: AWS requires "*". The namespace
        # condition is what limits it.
        resources=["*"],
        conditions={("StringEquals", "cloudwatch:namespace"): [namespace]},
    )


def send_traces() -> Statement:
    return Statement(
        sid="SendTraces",
        actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        # X-Ray's trace actions have no resource type: AWS requires "*".
        resources=["*"],
    )


def from_service(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    *,
    service: str,
    account_id: str,
    source_arn: str | None = None,
) -> Statement:
    """A statement for `service` acting for this account only
    (`aws:SourceAccount`) and, where given, for a resource matching
    `source_arn` only (`aws:SourceArn`): the guard against the confused
    deputy, another account's resource using the service to reach ours."""
    conditions = {("StringEquals", "aws:SourceAccount"): [account_id]}
    if source_arn:
        conditions[("ArnLike", "aws:SourceArn")] = [source_arn]
    return Statement(sid=sid, actions=actions, resources=resources, service_principals=[service], conditions=conditions)


def service_role(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    service: str,
    account_id: str,
    source_arn: str | None,
    statements: Sequence[Statement],
    description: str,
    permissions_boundary: str = "",
) -> IamRole:
    """A role that only `service` acting for `source_arn` in this account can assume.

    `aws:SourceAccount` and `aws:SourceArn` in the trust policy stop another
    account's resource from borrowing the role (the confused deputy). Lambda
    does not send `aws:SourceArn` when it assumes an execution role, so Lambda
    roles pass `source_arn=None` and keep the account condition only.
    Permissions are an inline policy, so they live and die with the role.
    `permissions_boundary` (the environment's `iam_permissions_boundary_arn`)
    caps what the role can ever be granted; it is written as a literal, since
    an IAM policy path may hold `%{` (and `${`), which Terraform would read.
    """
    trust = policy_document(
        scope,
        f"{construct_id}_trust",
        [
            from_service(
                "TrustOnlyThisResource",
                ["sts:AssumeRole"],
                [],
                service=service,
                account_id=account_id,
                source_arn=source_arn,
            )
        ],
    )
    role = keep_logical_id(
        IamRole(
            scope,
            construct_id,
            name=name,
            description=description,
            assume_role_policy=trust.json,
            permissions_boundary=literal(permissions_boundary) if permissions_boundary else None,
        )
    )
    keep_logical_id(
        IamRolePolicy(
            scope,
            f"{construct_id}_policy",
            name=f"{name}-policy",
            role=role.id,
            policy=policy_document(scope, f"{construct_id}_policy_document", statements).json,
        )
    )
    return role
