"""`ci-roles ENV --repository OWNER/REPO`: the GitHub OIDC provider and the two
roles the review, apply and drift workflows assume (docs/review-and-apply.md).

    python -m ops ci-roles production --repository acme/kiro-pipeline           (creates or repairs)
    python -m ops ci-roles production --repository acme/kiro-pipeline --print   (only prints the policies)

* `kiro-pipeline-{env}-ci-plan-role`, read-only, for the pull-request plan and
  the nightly drift check. Trusted by this repository's pull-request jobs and
  jobs on main, nothing else. AWS's ReadOnlyAccess, minus reading data: no
  object but the state, no table item but the state's digest, no log event,
  no secret value. A pull request's code runs with this role, so it must not
  read what the plan does not need.
* `kiro-pipeline-{env}-ci-apply-role`, for the apply workflow. Trusted only
  by jobs running in the GitHub environment of the same name, whose required
  reviewers approve each run. AWS's PowerUserAccess (everything but IAM and
  account management) plus inline-policy IAM on this environment's own roles.
  It may not touch the CI or deployer roles, nor assume any role it creates.
  Without `iam_permissions_boundary_arn` it can still create a role with any
  inline policy and pass it to a service it runs: in its account it is as
  strong as an administrator, which is why only a reviewed job in a
  protected GitHub environment may assume it. With the boundary, every role
  it creates or changes must carry it, and no role can hold more.

Each setting is read first and written only when it differs, as
`deployer-roles` does: a second run changes nothing and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from environments import EnvironmentConfig
from ops import iam_roles
from ops.aws import AWS_ERRORS, OpsError, explain
from topology import naming

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
KINDS = ("plan", "apply")
MANAGED_POLICY = {"plan": "ReadOnlyAccess", "apply": "PowerUserAccess"}
INLINE_POLICY = "kiro-pipeline-ci"
# GitHub's owner and repository name rules; no wildcard may reach a trust policy.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# IAM writes the apply role may make on the environment's own roles: what the
# stacks do (inline policies only; no stack attaches a managed policy).
# BOUNDED_WRITES accept the iam:PermissionsBoundary condition key: with a
# boundary configured they are allowed only when it is set.
BOUNDED_WRITES = ("iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy")
OTHER_WRITES = (
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
ROLE_WRITES = (*BOUNDED_WRITES, *OTHER_WRITES)
ROLE_READS = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)


def check_repository(repository: str) -> str:
    if not REPOSITORY.match(repository or ""):
        raise OpsError(
            f"--repository: {repository!r} is not OWNER/REPO (letters, digits, '-', and '.' or '_' in the name; "
            "no wildcards), e.g. --repository acme/kiro-pipeline"
        )
    return repository


def role_name(config: EnvironmentConfig, kind: str) -> str:
    return config.names.role(f"ci-{kind}")


def provider_arn(config: EnvironmentConfig) -> str:
    return naming.arn(config.partition, "iam", "", config.account_id, f"oidc-provider/{GITHUB_OIDC_HOST}")


def subjects(config: EnvironmentConfig, repository: str, kind: str) -> list[str]:
    """The OIDC `sub` claims that may assume the role. A job in a GitHub
    environment gets `repo:O/R:environment:NAME`; a pull request's job gets
    `repo:O/R:pull_request`; a scheduled job on main, `repo:O/R:ref:refs/heads/main`."""
    if kind == "apply":
        return [f"repo:{repository}:environment:{config.name}"]
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]


def trust_policy(config: EnvironmentConfig, repository: str, kind: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"GitHubActions{kind.capitalize()}Jobs",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn(config)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subjects(config, repository, kind),
                    }
                },
            }
        ],
    }


def _role_arn(config: EnvironmentConfig, name: str) -> str:
    return naming.arn(config.partition, "iam", "", config.account_id, f"role/{name}")


def permissions_policy(config: EnvironmentConfig, kind: str) -> dict:
    """The inline policy next to the managed one (MANAGED_POLICY)."""
    if kind == "plan":
        return plan_policy(config)
    own = [_role_arn(config, role_name(config, k)) for k in KINDS]
    environment_roles = _role_arn(config, f"{config.names.pipeline}-*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_role_writes(config, environment_roles),
            {
                # Never itself, the plan role or the deployer roles (made by
                # `ops ci-roles` and `ops deployer-roles`, not by a stack).
                "Sid": "NeverTheCiOrDeployerRoles",
                "Effect": "Deny",
                "Action": sorted((*ROLE_WRITES, "iam:DeleteRolePermissionsBoundary", "iam:PassRole")),
                "Resource": [*own, _role_arn(config, f"{config.names.pipeline}-*-deployer")],
            },
            {
                # Terraform never assumes the roles it creates: a role made
                # to trust the apply role cannot be used to step around it.
                "Sid": "NeverAssumeTheEnvironmentsRoles",
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Resource": environment_roles,
            },
        ],
    }


def _role_writes(config: EnvironmentConfig, environment_roles: str) -> list[dict]:
    """The apply role's IAM on the environment's roles: under the boundary
    when one is configured."""
    boundary = config.iam_permissions_boundary_arn
    if boundary:
        # The roles the stacks make carry the boundary (modules/iam.py), so
        # no role this one creates can hold more than the boundary allows.
        return [
            {
                "Sid": "TheEnvironmentsOwnRoles",
                "Effect": "Allow",
                "Action": sorted((*OTHER_WRITES, *ROLE_READS, "iam:PassRole")),
                "Resource": environment_roles,
            },
            {
                "Sid": "OnlyUnderTheBoundary",
                "Effect": "Allow",
                "Action": sorted(BOUNDED_WRITES),
                "Resource": environment_roles,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
            },
            {
                "Sid": "NeverDropTheBoundary",
                "Effect": "Deny",
                "Action": "iam:DeleteRolePermissionsBoundary",
                "Resource": environment_roles,
            },
        ]
    return [
        {
            "Sid": "TheEnvironmentsOwnRoles",
            "Effect": "Allow",
            "Action": sorted((*ROLE_WRITES, *ROLE_READS, "iam:PassRole")),
            "Resource": environment_roles,
        }
    ]


# Reads of data, not of settings: a plan refreshes settings only.
LOG_DATA_READS = (
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:StartQuery",
)
ITEM_READS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")


def plan_policy(config: EnvironmentConfig) -> dict:
    """ReadOnlyAccess reads data too; a pull request's code runs with this
    role, so every read of data is denied but the state (and the state's
    digest in the lock table). The one allow: Lambda shows a function's
    environment variables, encrypted with the project key, only to a caller
    that may decrypt them; without it a refresh would see them as empty and
    every plan would differ from the apply role's."""
    partition, region, account = config.partition, config.region, config.account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoObjectsButTheState",
                "Effect": "Deny",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "NotResource": f"arn:{partition}:s3:::{config.state_bucket}/*",
            },
            {
                "Sid": "NoItemsButTheStateDigest",
                "Effect": "Deny",
                "Action": list(ITEM_READS),
                "NotResource": naming.arn(partition, "dynamodb", region, account, f"table/{config.state_lock_table}"),
            },
            {
                # Denies: "*" covers every log group and secret, whatever exists later.
                "Sid": "NoLogData",
                "Effect": "Deny",
                "Action": list(LOG_DATA_READS),
                "Resource": "*",
            },
            {"Sid": "NoSecretValues", "Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
            {
                # The key's ARN is not known before core is deployed; the
                # conditions bind the decrypt to Lambda reading this
                # environment's functions.
                "Sid": "ReadOwnFunctionsEnvironment",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": [f"lambda.{region}.amazonaws.com", "lambda.amazonaws.com"]},
                    "StringLike": {
                        "kms:EncryptionContext:aws:lambda:FunctionArn": naming.arn(
                            partition, "lambda", region, account, f"function:{config.names.pipeline}-*"
                        )
                    },
                },
            },
        ],
    }


def documents(config: EnvironmentConfig, repository: str) -> dict:
    """Everything `ci-roles` would set, for `--print` and for review."""
    return {
        "oidc_provider": {"arn": provider_arn(config), "url": f"https://{GITHUB_OIDC_HOST}", "client_ids": [AUDIENCE]},
        "roles": {
            role_name(config, kind): {
                "trust_policy": trust_policy(config, repository, kind),
                "managed_policy": f"arn:{config.partition}:iam::aws:policy/{MANAGED_POLICY[kind]}",
                "inline_policy": {INLINE_POLICY: permissions_policy(config, kind)},
            }
            for kind in KINDS
        },
    }


@dataclass(frozen=True)
class Step:
    subject: str
    setting: str
    changed: bool


class CiRoles:
    def __init__(self, config: EnvironmentConfig, repository: str, boto_session):
        self.config = config
        self.repository = check_repository(repository)
        self.iam = boto_session.client("iam")
        self.sts = boto_session.client("sts")
        self.steps: list[Step] = []

    def run(self) -> list[Step]:
        try:
            account = self.sts.get_caller_identity()["Account"]
            if account != self.config.account_id:
                raise OpsError(
                    f"the credentials are for account {account}, but {self.config.name} lives in "
                    f"{self.config.account_id}: use that account's credentials"
                )
            self._provider()
            for kind in KINDS:
                self._role(kind)
        except OpsError:
            raise
        except AWS_ERRORS as error:
            raise explain(error, f"configuring the CI roles of {self.config.name}") from error
        return self.steps

    def _provider(self) -> None:
        arn = provider_arn(self.config)
        present = {p["Arn"] for p in self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
        if arn not in present:
            # No thumbprint: IAM trusts GitHub's OIDC endpoint through its own CA library.
            self.iam.create_open_id_connect_provider(Url=f"https://{GITHUB_OIDC_HOST}", ClientIDList=[AUDIENCE])
            self.steps.append(Step(GITHUB_OIDC_HOST, f"OIDC provider created, audience {AUDIENCE}", True))
            return
        audiences = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"]
        if AUDIENCE not in audiences:
            self.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=AUDIENCE)
        self.steps.append(Step(GITHUB_OIDC_HOST, f"OIDC provider, audience {AUDIENCE}", AUDIENCE not in audiences))

    def _role(self, kind: str) -> None:
        name, trust = role_name(self.config, kind), trust_policy(self.config, self.repository, kind)
        created, changed = iam_roles.ensure_role(
            self.iam,
            name,
            trust,
            f"kiro-pipeline {self.config.name}: GitHub Actions {kind}",
            {"project": "kiro-pipeline", "environment": self.config.name},
        )
        trusted = ", ".join(trust_subjects(trust))
        self.steps.append(Step(name, f"{'created, ' if created else ''}trusted by {trusted}", changed))
        managed = f"arn:{self.config.partition}:iam::aws:policy/{MANAGED_POLICY[kind]}"
        self.steps.append(
            Step(name, f"has {MANAGED_POLICY[kind]}", iam_roles.ensure_managed_policy(self.iam, name, managed))
        )
        desired = permissions_policy(self.config, kind)
        changed = iam_roles.ensure_inline_policy(self.iam, name, INLINE_POLICY, desired)
        self.steps.append(Step(name, f"inline policy {INLINE_POLICY}", changed))


def trust_subjects(trust: dict) -> list[str]:
    return trust["Statement"][0]["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"]


def report(config: EnvironmentConfig, steps: list[Step]) -> str:
    lines = [f"CI roles of {config.name}:"]
    lines += [f"  {'+' if s.changed else '='} {s.subject}: {s.setting}" for s in steps]
    changes = sum(s.changed for s in steps)
    lines.append(f"{changes} change(s) made." if changes else "Nothing to change.")
    return "\n".join(lines)
