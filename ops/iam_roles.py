"""Idempotent IAM role settings, shared by `deployer-roles` and `ci-roles`:
each reads the setting first and writes it only when it differs, so a second
run changes nothing and a role edited by hand is repaired. Each returns
whether it changed anything."""

from __future__ import annotations

import json
from urllib.parse import unquote

from ops.reconcile import read_or_none

# What GetRole and GetRolePolicy answer for a role or policy not made yet:
# "The request was rejected because it referenced a resource entity that does
# not exist." (https://docs.aws.amazon.com/botocore/latest/reference/services/iam/client/exceptions/NoSuchEntityException.html);
# that its error code is "NoSuchEntity" is assumed (moto answers so).
MISSING = "NoSuchEntity"


def document(value) -> dict:
    """IAM returns policy documents URL-encoded (boto3 decodes some, not all)."""
    return json.loads(unquote(value)) if isinstance(value, str) else value


def ensure_role(iam, name: str, trust: dict, description: str, tags: dict[str, str]) -> tuple[bool, bool]:
    """(created, changed): the role exists with exactly this trust policy."""
    current = read_or_none(lambda: iam.get_role(RoleName=name)["Role"], MISSING)
    if current is None:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description,
            MaxSessionDuration=3600,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        return True, True
    same = document(current["AssumeRolePolicyDocument"]) == trust
    if not same:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    return False, not same


def ensure_inline_policy(iam, role: str, policy_name: str, policy: dict) -> bool:
    """The role's inline policy `policy_name` is exactly `policy`."""
    existing = read_or_none(
        lambda: document(iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]), MISSING
    )
    if existing != policy:
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    return existing != policy


def ensure_managed_policy(iam, role: str, policy_arn: str) -> bool:
    """The managed policy is attached (others attached by hand are left alone)."""
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    if policy_arn not in attached:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    return policy_arn not in attached
