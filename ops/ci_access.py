"""`ci-roles ENV --repository OWNER/REPO`: the GitHub OIDC provider and the two
roles the review, apply and drift workflows assume (docs/review-and-apply.md).

    python -m ops ci-roles production --repository acme/kiro-pipeline           (creates or repairs)
    python -m ops ci-roles production --repository acme/kiro-pipeline --print   (only prints the policies)

* `kiro-pipeline-{env}-ci-plan-role`, read-only, for the pull-request plan and
  the nightly drift check. Trusted by this repository's pull-request jobs and
  jobs on main, nothing else. AWS's ReadOnlyAccess, minus reading data: no
  object outside the state bucket, no secret value. A pull request's code runs
  with this role, so it must not be able to read what the plan does not need.
* `kiro-pipeline-{env}-ci-apply-role`, for the apply workflow. Trusted only
  by jobs running in the GitHub environment of the same name, whose required
  reviewers approve each run. AWS's PowerUserAccess (everything but IAM and
  account management) plus IAM on this environment's own roles, and never on
  the CI roles themselves or the deployer roles, so it cannot widen itself.

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
# IAM writes the apply role may make on the environment's own roles.
ROLE_WRITES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
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
    partition = config.partition
    if kind == "plan":
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # A Deny with NotResource: every object but the state.
                    # terraform_remote_state reads the state; nothing else is read.
                    "Sid": "NoDataButTheState",
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "NotResource": f"arn:{partition}:s3:::{config.state_bucket}/*",
                },
                {
                    # A Deny on every secret: no stack reads a secret's value.
                    "Sid": "NoSecretValues",
                    "Effect": "Deny",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                },
            ],
        }
    own = [_role_arn(config, role_name(config, k)) for k in KINDS]
    deployers = _role_arn(config, f"{config.names.pipeline}-*-deployer")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheEnvironmentsOwnRoles",
                "Effect": "Allow",
                "Action": sorted((*ROLE_WRITES, *ROLE_READS, "iam:PassRole")),
                "Resource": _role_arn(config, f"{config.names.pipeline}-*"),
            },
            {
                # Never itself, the plan role or the deployer roles (made by
                # `ops ci-roles` and `ops deployer-roles`, not by a stack).
                "Sid": "NeverTheCiOrDeployerRoles",
                "Effect": "Deny",
                "Action": sorted((*ROLE_WRITES, "iam:PassRole")),
                "Resource": [*own, deployers],
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
        self.steps.append(Step(GITHUB_OIDC_HOST, f"OIDC provider, audience {AUDIENCE}", arn not in present))

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
