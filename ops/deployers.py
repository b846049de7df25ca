"""`deployer-roles ENV`: create or repair the roles the deploy projects assume.

    python -m ops deployer-roles production      (with the target account's credentials)

Like `cdk bootstrap --trust`: run it once in each account that hosts a deploy
target of the environment, with that account's credentials. Each role
`kiro-pipeline-{env}-{stage}-deployer`

- is trusted only by its own deploy project's role,
  `kiro-pipeline-{env}-deploy-{stage}-role` in the pipeline's account;
- may assume only the roles named in `deployer_assumes` in its own account:
  by default the CDK bootstrap roles (the application deploys as a CDK app,
  and `cdk deploy` works through them);
- is denied everything on the pipeline's own resources (its bucket, table,
  pipeline, projects, roles and log groups), whatever else it is ever given.

A command, not a stack: a target may live in another account than the
pipeline, and its role must be created with that account's credentials. Each
setting is read first and written only when it differs, so a second run
changes nothing and says so, and a role edited by hand is repaired.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments import DeployTarget, EnvironmentConfig
from ops import iam_roles
from ops.aws import AWS_ERRORS, OpsError, explain
from topology import naming

POLICY_NAME = "deployer"


@dataclass(frozen=True)
class Step:
    role: str
    setting: str
    changed: bool


def _account(arn: str) -> str:
    return arn.split(":")[4]


def project_role_arn(config: EnvironmentConfig, target: DeployTarget) -> str:
    """The role of the deploy project that assumes `target`'s deployer role."""
    name = config.names.role(f"deploy-{target.environment}")
    return naming.arn(config.partition, "iam", "", config.account_id, f"role/{name}")


def trust_policy(config: EnvironmentConfig, target: DeployTarget) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyItsDeployProject",
                "Effect": "Allow",
                "Principal": {"AWS": project_role_arn(config, target)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


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


class DeployerRoles:
    def __init__(self, config: EnvironmentConfig, boto_session):
        self.config = config
        self.iam = boto_session.client("iam")
        self.sts = boto_session.client("sts")
        self.steps: list[Step] = []

    def run(self) -> list[Step]:
        try:
            account = self.sts.get_caller_identity()["Account"]
        except AWS_ERRORS as error:
            raise explain(error, "checking which AWS account the credentials belong to") from error
        here = [t for t in self.config.deploy_targets if _account(t.role_arn) == account]
        for target in self.config.deploy_targets:
            if target not in here:
                self.steps.append(
                    Step(
                        target.role_arn,
                        f"in account {_account(target.role_arn)}: run this command with that account's credentials",
                        False,
                    )
                )
        if not here:
            raise OpsError(
                f"no deploy target of {self.config.name} is in account {account}: "
                "use the credentials of an account that hosts one"
            )
        for target in here:
            try:
                self._role(target)
            except OpsError:
                raise
            except AWS_ERRORS as error:
                raise explain(error, f"configuring {target.role_arn}") from error
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
        trusted = "created, trusted only by its deploy project" if created else "trusted only by its deploy project"
        self.steps.append(Step(name, trusted, changed))
        desired = permissions_policy(self.config, target)
        changed = iam_roles.ensure_inline_policy(self.iam, name, POLICY_NAME, desired)
        self.steps.append(Step(name, "may assume only deployer_assumes; denied the pipeline's resources", changed))


def report(config: EnvironmentConfig, steps: list[Step]) -> str:
    lines = [f"Deployer roles of {config.name}:"]
    lines += [f"  {'+' if s.changed else '='} {s.role}: {s.setting}" for s in steps]
    changes = sum(s.changed for s in steps)
    lines.append(f"{changes} change(s) made." if changes else "Nothing to change.")
    return "\n".join(lines)
