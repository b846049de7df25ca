"""The one place where kiro-pipeline's physical names are made.

Every name follows `kiro-pipeline-{env}-{resource}`, exactly as the deployment
guide spells them. Stacks, bootstrap, the operations tools and the tests all
use this module, so a name can only ever change in one place.

Pure Python: no cdktf, no boto3.
"""

from __future__ import annotations

from dataclasses import dataclass

# Pipeline stages and actions: their one home is the functions' contract
# (the Lambda zips carry it); every name is re-exported here for the stacks
# and ops, and those this module composes are named.
from functions.shared.contract.stages import *  # noqa: F403
from functions.shared.contract.stages import (
    APPROVAL_STAGE,
    BUILD_STAGE,
    DEPLOY_STAGES,
    INCIDENT_GATE_STAGES,
    SOURCE_STAGE,
    WINDOW_STAGE,
    WINDOW_TARGET,
)
from topology import projects

PROJECT = "kiro-pipeline"

STACK_CONCERNS = ("core", "pipeline", "monitoring")

# The namespace of every custom metric: the recorder's, the build's test
# coverage, the execution age, the health probe's.
METRICS_NAMESPACE = "KiroPipeline"

# The deployments table and its index are named by the runbook's queries.
DEPLOYMENTS_INDEX = "EnvironmentStatusIndex"

# The rules of the gate stages' entry conditions, by name (the console, the
# override audit and the docs show them).
INCIDENT_GATE_RULE = "NotDuringAnIncident"
CHANGE_WINDOW_RULE = "InChangeWindow"


def pipeline_stages(*, approval: bool, window: bool) -> tuple[str, ...]:
    """Every stage, in order, for an environment with or without production's
    approval and change window."""
    stages = [SOURCE_STAGE, BUILD_STAGE]
    for target, deploy in DEPLOY_STAGES.items():
        if target == "production" and approval:
            stages.append(APPROVAL_STAGE)
        if target == WINDOW_TARGET and window:
            stages.append(WINDOW_STAGE)
        stages += [INCIDENT_GATE_STAGES[target], deploy]
    return tuple(stages)


# Stages that retry their failed actions once, automatically, instead of
# rolling back (a stage has one on-failure result; deploy stages roll back).
RETRY_STAGES = (BUILD_STAGE,)

# The CodeBuild projects, by name (`kiro-pipeline-{env}-{name}`): snapshots of
# topology/projects.py's table, for readers that want a constant. The stacks
# read the table itself.
CODEBUILD_PROJECTS = projects.names()
BUILD_PROJECT = next(p.name for p in projects.PROJECTS if p.kind == projects.Kind.BUILD)
TEST_PROJECTS = {p.target: p.name for p in projects.PROJECTS if p.kind == projects.Kind.TEST}
DEPLOY_PROJECTS = {p.target: p.name for p in projects.PROJECTS if p.kind == projects.Kind.DEPLOY}
# The pipeline action that runs each project.
PROJECT_ACTIONS = {p.name: p.action for p in projects.PROJECTS if p.action}
GATE_PROJECT = next(p.name for p in projects.PROJECTS if p.kind == projects.Kind.GATE)


HEALTH_PROBE_SILENT = "health-probe-silent"


def health_alarm_suffix(target: str) -> str:
    return f"{target}-health"


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """The one ARN builder: `arn:{partition}:{service}:{region}:{account}:{resource}`
    (region and account empty for global resources such as IAM roles and S3 buckets)."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def resource_name(env: str, resource: str = "") -> str:
    """`kiro-pipeline-{env}` or `kiro-pipeline-{env}-{resource}`."""
    base = f"{PROJECT}-{env}"
    return f"{base}-{resource}" if resource else base


def stack_parts(stack: str) -> tuple[str, str]:
    """(concern, env) of a stack ID, the inverse of stack_id."""
    concern, _, env = stack.partition("-")
    if concern not in STACK_CONCERNS or not env:
        raise ValueError(f"not a stack ID: {stack!r}; expected CONCERN-ENV, CONCERN one of {', '.join(STACK_CONCERNS)}")
    return concern, env


def stack_id(concern: str, env: str) -> str:
    """Stack IDs are `{concern}-{env}`: `cdktf deploy core-test pipeline-test ...`."""
    if concern not in STACK_CONCERNS:
        raise ValueError(f"unknown stack concern {concern!r}: expected one of {', '.join(STACK_CONCERNS)}")
    return f"{concern}-{env}"


def state_key(stack: str) -> str:
    """Object key of one stack's Terraform state inside the environment's state bucket."""
    return f"{stack}/terraform.tfstate"


@dataclass(frozen=True)
class ResourceNames:
    """Every physical name of one environment.

    `artifacts_bucket_suffix` exists because S3 bucket names are global: an
    organisation whose `kiro-pipeline-test-artifacts` is taken elsewhere sets a
    suffix in its environment config rather than renaming by hand.
    """

    env: str
    account_id: str
    artifacts_bucket_suffix: str = ""

    # --- core ------------------------------------------------------------
    @property
    def kms_key(self) -> str:
        return resource_name(self.env, "key")

    @property
    def kms_alias(self) -> str:
        return f"alias/{self.kms_key}"

    @property
    def signing_key(self) -> str:
        """The asymmetric key the build signs artifact digests with."""
        return resource_name(self.env, "signing-key")

    @property
    def signing_key_alias(self) -> str:
        return f"alias/{self.signing_key}"

    @property
    def artifacts_bucket(self) -> str:
        name = resource_name(self.env, "artifacts")
        return f"{name}-{self.artifacts_bucket_suffix}" if self.artifacts_bucket_suffix else name

    @property
    def access_logs_bucket(self) -> str:
        name = resource_name(self.env, "access-logs")
        return f"{name}-{self.artifacts_bucket_suffix}" if self.artifacts_bucket_suffix else name

    @property
    def deployments_table(self) -> str:
        return resource_name(self.env, "deployments")

    @property
    def deployments_index(self) -> str:
        return DEPLOYMENTS_INDEX

    @property
    def pipeline_log_group(self) -> str:
        return f"/aws/codepipeline/{self.pipeline}"

    def lambda_log_group(self, function: str) -> str:
        return f"/aws/lambda/{self.lambda_function(function)}"

    @property
    def rollback_log_group(self) -> str:
        return self.lambda_log_group("rollback")

    # --- pipeline --------------------------------------------------------
    @property
    def pipeline(self) -> str:
        return resource_name(self.env)

    def lambda_function(self, function: str) -> str:
        return resource_name(self.env, function)

    @property
    def github_connection(self) -> str:
        return resource_name(self.env, "github")

    def codebuild_project(self, project: str) -> str:
        projects.project(project)  # refuses an unknown project, naming the known ones
        return resource_name(self.env, project)

    def codebuild_log_group(self, project: str) -> str:
        return f"/aws/codebuild/{self.codebuild_project(project)}"

    def report_group(self, project: str, report: str) -> str:
        """CodeBuild names a buildspec's report `{project}-{report}`; the stack
        creates the group under that name first, encrypted and with retention.
        AWS: "If you specify a name, CodeBuild creates a report group for you
        using your project name, and the name you specified, in the format
        <project-name>-<report-group-name>. If the named report group already
        exists, CodeBuild uses that report group."
        https://docs.aws.amazon.com/codebuild/latest/userguide/report-create.html"""
        return f"{self.codebuild_project(project)}-{report}"

    def role(self, purpose: str) -> str:
        """IAM roles are `kiro-pipeline-{env}-{purpose}-role`; the KMS key policy
        trusts `kiro-pipeline-{env}-*` roles through their services."""
        return resource_name(self.env, f"{purpose}-role")

    def topic(self, purpose: str) -> str:
        return resource_name(self.env, purpose)

    def notification_rule(self, purpose: str) -> str:
        return resource_name(self.env, purpose)

    @property
    def dashboard(self) -> str:
        return resource_name(self.env, "dashboard")

    @property
    def alarm_rollback_rule(self) -> str:
        return resource_name(self.env, "alarm-rollback")

    @property
    def pipeline_events_rule(self) -> str:
        return resource_name(self.env, "pipeline-events")

    @property
    def execution_age_schedule(self) -> str:
        return resource_name(self.env, "execution-age")

    @property
    def incident_rule(self) -> str:
        return resource_name(self.env, "incidents")

    @property
    def dora_metrics_schedule(self) -> str:
        return resource_name(self.env, "dora-metrics")

    @property
    def health_probe_schedule(self) -> str:
        return resource_name(self.env, "health-probe")

    @property
    def freeze_gate_schedule(self) -> str:
        return resource_name(self.env, "freeze-gate")

    @property
    def freeze_calendar(self) -> str:
        """The SSM Change Calendar of one-off freezes (python -m ops freeze).
        SSM document names: "Pattern: ^[a-zA-Z0-9_\\-.]{3,128}$", and "You can't
        use the following strings as document name prefixes ... aws, amazon,
        amzn" (CreateDocument, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html)."""
        return resource_name(self.env, "freezes")

    @property
    def functions_dlq(self) -> str:
        return resource_name(self.env, "functions-dlq")

    def resource_secret(self, purpose: str) -> str:
        """Secrets Manager names, e.g. `kiro-pipeline-{env}-slack-webhook`."""
        return resource_name(self.env, purpose)

    def deployer_role(self, stage: str) -> str:
        """The role a deploy project assumes to deploy this environment's `stage`
        target: namespaced by environment, so no two pipelines share one."""
        return resource_name(self.env, f"{stage}-deployer")

    def alarm(self, suffix: str) -> str:
        """Every alarm is `kiro-pipeline-{env}-{suffix}`: the alarm factory, the
        pipeline's bake conditions and ops all name alarms here."""
        return resource_name(self.env, suffix)

    @property
    def health_probe_silent_alarm(self) -> str:
        """ALARM while the health probe does not report; every bake watches it."""
        return self.alarm(HEALTH_PROBE_SILENT)

    def health_alarm(self, target: str) -> str:
        """The alarm a deploy stage watches during its bake time (monitoring creates it)."""
        return self.alarm(health_alarm_suffix(target))

    # --- state backend (created by `make bootstrap`, not by a stack) -------
    @property
    def state_bucket(self) -> str:
        # The account ID makes the name globally unique without a random suffix.
        return resource_name(self.env, f"tfstate-{self.account_id}")

    @property
    def state_lock_table(self) -> str:
        return resource_name(self.env, "tfstate-lock")
