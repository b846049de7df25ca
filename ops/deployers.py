"""`deployer-roles ENV`: create or repair the roles the deploy projects assume.

    python -m ops deployer-roles production      (with the target account's credentials)

What `cdk bootstrap --trust` was for in the guide: run it once in each account that hosts a deploy
target of the environment, with that account's credentials, before or after
`make deploy`: it names the pipeline's roles but needs none of them to exist,
so the documented order (bootstrap, deployer roles, deploy) works on a new
account. Each role `kiro-pipeline-{env}-{stage}-deployer`

- is trusted only by its own deploy project's role,
  `kiro-pipeline-{env}-deploy-{stage}-role` in the pipeline's account. The
  trust names the pipeline's account as principal and the project role's ARN
  in an `ArnEquals` condition on `aws:PrincipalArn` (see `trust_policy`), so
  the role can be made before `pipeline-{env}` creates the project role, and
  keeps working when that stack recreates it;
- may assume only the roles named in `deployer_assumes` in its own account:
  by default the CDK bootstrap roles (the application deploys as a CDK app,
  and `cdk deploy` works through them);
- is denied everything on the pipeline's own resources (its bucket, table,
  pipeline, projects, roles and log groups), whatever else it is ever given.

A command, not a stack: a target may live in another account than the
pipeline, and its role must be created with that account's credentials. Each
setting is read first and written only when it differs, so a second run
changes nothing and says so, and a role edited by hand, or made with an
earlier trust policy, is repaired. Preflight judges an existing role's trust
with `trust_problems`.
"""

from __future__ import annotations

import re

from environments import EnvironmentConfig
from environments.config import DeployTarget
from ops import iam_roles
from ops.aws import OpsError
from ops.reconcile import Reconciler, explained
from topology import naming

POLICY_NAME = "deployer"


def _account(arn: str) -> str:
    return arn.split(":")[4]


def project_role_arn(config: EnvironmentConfig, target: DeployTarget) -> str:
    """The role of the deploy project that assumes `target`'s deployer role."""
    name = config.names.role(f"deploy-{target.environment}")
    return naming.arn(config.partition, "iam", "", config.account_id, f"role/{name}")


def pipeline_account_principal(config: EnvironmentConfig) -> str:
    """The pipeline's account as a policy principal: `arn:{partition}:iam::{account}:root`."""
    return naming.arn(config.partition, "iam", "", config.account_id, "root")


def trust_policy(config: EnvironmentConfig, target: DeployTarget) -> dict:
    """Only the deploy project's role may assume the deployer role: the
    pipeline's account is the principal, and a condition narrows it to the
    project role's ARN.

    Not the role's ARN as principal. IAM reference, "AWS JSON policy elements:
    Principal" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
    "If your Principal element in a role trust policy contains an ARN that
    points to a specific IAM role, then that ARN transforms to the role unique
    principal ID when you save the policy." and "if you delete the role, then
    you break the relationship. The policy no longer applies, even if you
    recreate the role because the new role has a new principal ID". And a
    principal that does not exist yet is refused outright: "This error message
    indicates that the value of a Principal element in your IAM trust policy
    isn't valid. [...] If the IAM role trust policy uses IAM identities (users,
    user groups, and roles) as principals, then confirm that the user or role
    wasn't deleted." (https://repost.aws/knowledge-center/iam-trust-policy-error),
    so the role could not be made before `pipeline-{env}`.

    The account as principal, same page: "This delegates authority to the
    account. When you allow access to a different account, an administrator in
    that account must then grant access to an identity (IAM user or role) in
    that account." The project role's identity policy does that
    (AssumeTargetDeployRole, modules/build_project.py), and nothing else in the
    account gets past the condition. Same page: "Because AWS does not convert
    condition key ARNs to IDs, permissions granted to the role ARN persist if
    you delete the role and then create a new role with the same name."
    Global condition keys (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
    aws:PrincipalArn: "For IAM roles, the request context returns the ARN of
    the role, not the ARN of the user that assumed the role." and "This key is
    always included in the request context." ArnEquals: "Case-sensitive
    matching of the ARN" (reference_policies_elements_condition_operators.html#Conditions_ARN).

    tests/test_iam_trust_eval.py judges this policy with an evaluator of
    exactly these rules (tests/support/iam_trust_eval.py).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyItsDeployProject",
                "Effect": "Allow",
                "Principal": {"AWS": pipeline_account_principal(config)},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": project_role_arn(config, target)}},
            }
        ],
    }


# How a trust shows a principal whose role (or user) was deleted: "the
# principal ID appears in resource-based policies because AWS can no longer
# map it back to a valid ARN" (Principal page above). "IAM uses the following
# prefixes to indicate what type of resource each unique ID applies to":
# AROA for a role, AIDA for an IAM user
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes).
_UNIQUE_ID = re.compile(r"^A[A-Z]{3}[A-Z0-9]{12,}$")


def _aws_principals(document: dict) -> list[str]:
    statements = document.get("Statement", [])
    found = []
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal", {})
        values = principal.get("AWS", []) if isinstance(principal, dict) else [principal]
        found += [values] if isinstance(values, str) else list(values)
    return found


def trust_problems(config: EnvironmentConfig, target: DeployTarget, role: dict) -> list[str]:
    """What is wrong with the trust policy of `role` (the `Role` of
    iam.get_role for `target`'s deployer role), one line each with its fix;
    [] when it is the policy `deployer-roles` writes. The documents are
    compared parsed: IAM returns them URL-encoded, boto3 decodes some."""
    try:
        current = iam_roles.document(role.get("AssumeRolePolicyDocument") or {})
    except ValueError:
        current = None
    desired = trust_policy(config, target)
    if current == desired:
        return []
    account, name = _account(target.role_arn), target.role_arn.split("/")[-1]
    fix = f"run python -m ops deployer-roles {config.name} --profile <a profile of account {account}>"
    project = project_role_arn(config, target)
    principals = _aws_principals(current) if isinstance(current, dict) else []
    if project in principals:
        why = (
            f"trusts {project} by ARN as principal (the form before this version): IAM pinned it to that "
            f"role's unique ID, so it stops working when pipeline-{config.name} recreates the role"
        )
    elif any(_UNIQUE_ID.match(p) for p in principals):
        gone = next(p for p in principals if _UNIQUE_ID.match(p))
        why = f"trusts {gone}, the unique ID of a role that was deleted: no role can assume it"
    else:
        why = f"has a trust policy other than the one deployer-roles writes (only {project} may assume it)"
    return [f"deployer role {name}: {why}; {fix}"]


def permissions_policy(config: EnvironmentConfig, target: DeployTarget) -> dict:
    partition, account, prefix = config.partition, _account(target.role_arn), config.names.pipeline
    pipeline_account = config.account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeTheApplicationsDeployRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": sorted(
                    naming.arn(partition, "iam", "", account, f"role/{n}") for n in config.deployer_assumes
                ),
            },
            {
                # A Deny: `*` makes it cover every action on these resources,
                # whatever the role is later given.
                "Sid": "NeverThePipelinesOwnResources",
                "Effect": "Deny",
                "Action": "*",
                "Resource": [
                    f"arn:{partition}:s3:::{prefix}-*",
                    f"arn:{partition}:s3:::{prefix}-*/*",
                    f"arn:{partition}:dynamodb:*:{pipeline_account}:table/{prefix}-*",
                    f"arn:{partition}:codepipeline:*:{pipeline_account}:{prefix}",
                    f"arn:{partition}:codebuild:*:{pipeline_account}:project/{prefix}-*",
                    f"arn:{partition}:iam::{pipeline_account}:role/{prefix}-*-role",
                    f"arn:{partition}:logs:*:{pipeline_account}:log-group:/aws/*/{prefix}*",
                    f"arn:{partition}:lambda:*:{pipeline_account}:function:{prefix}-*",
                ],
            },
        ],
    }


class DeployerRoles(Reconciler):
    NOUN = "role"

    def __init__(self, config: EnvironmentConfig, boto_session):
        super().__init__(config, boto_session)
        self.iam = boto_session.client("iam")

    def title(self) -> str:
        return f"Deployer roles of {self.config.name}:"

    def run(self):
        # Not the environment's account: any account that hosts a target.
        account = self.caller_account()
        here = [t for t in self.config.deploy_targets if _account(t.role_arn) == account]
        for target in self.config.deploy_targets:
            if target not in here:
                self.record(
                    target.role_arn,
                    f"in account {_account(target.role_arn)}: run this command with that account's credentials",
                    False,
                )
        if not here:
            raise OpsError(
                f"no deploy target of {self.config.name} is in account {account}: "
                "use the credentials of an account that hosts one"
            )
        for target in here:
            with explained(f"configuring {target.role_arn}"):
                self._role(target)
        return self.steps

    def _role(self, target: DeployTarget) -> None:
        name = target.role_arn.split("/")[-1]
        created, changed = iam_roles.ensure_role(
            self.iam,
            name,
            trust_policy(self.config, target),
            f"Deploys {self.config.name}'s {target.environment} target for kiro-pipeline",
            {"project": "kiro-pipeline", "environment": self.config.name},
        )
        trusted = f"trusted only by {project_role_arn(self.config, target)}"
        trusted = f"created, {trusted}" if created else trusted
        self.record(name, trusted, changed)
        desired = permissions_policy(self.config, target)
        changed = iam_roles.ensure_inline_policy(self.iam, name, POLICY_NAME, desired)
        self.record(name, "may assume only deployer_assumes; denied the pipeline's resources", changed)
