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
    return DataAwsIamPolicyDocument(scope, construct_id, statement=[s.render() for s in statements])


def account_root(partition: str, account_id: str) -> str:
    return naming.arn(partition, "iam", "", account_id, "root")


def deny_insecure_transport(bucket_arn: str) -> Statement:
    """Refuse every request to the bucket that does not use TLS.

    This is a Deny, not a grant: `s3:*` and the `*` principal are what make it
    cover every request, which is the point.
    """
    return Statement(
        sid="DenyInsecureTransport",
        effect="Deny",
        actions=["s3:*"],
        resources=[bucket_arn, f"{bucket_arn}/*"],
        aws_principals=["*"],
        conditions={("Bool", "aws:SecureTransport"): ["false"]},
    )


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
) -> IamRole:
    """A role that only `service` acting for `source_arn` in this account can assume.

    `aws:SourceAccount` and `aws:SourceArn` in the trust policy stop another
    account's resource from borrowing the role (the confused deputy). Lambda
    does not send `aws:SourceArn` when it assumes an execution role, so Lambda
    roles pass `source_arn=None` and keep the account condition only.
    Permissions are an inline policy, so they live and die with the role.
    """
    conditions = {("StringEquals", "aws:SourceAccount"): [account_id]}
    if source_arn:
        conditions[("ArnLike", "aws:SourceArn")] = [source_arn]
    trust = policy_document(
        scope,
        f"{construct_id}_trust",
        [
            Statement(
                sid="TrustOnlyThisResource",
                actions=["sts:AssumeRole"],
                resources=[],
                service_principals=[service],
                conditions=conditions,
            )
        ],
    )
    role = IamRole(scope, construct_id, name=name, description=description, assume_role_policy=trust.json)
    IamRolePolicy(
        scope,
        f"{construct_id}_policy",
        name=f"{name}-policy",
        role=role.id,
        policy=policy_document(scope, f"{construct_id}_policy_document", statements).json,
    )
    return role
