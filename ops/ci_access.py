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
  Only the pipeline moves a release: the role may not start, retry or stop
  a build or an execution, approve, override a condition, roll back, retry
  or unblock a stage, answer an action's job, set an alarm's state or
  publish a metric, invoke a function, write an object outside the state
  bucket or an item outside the lock table (but its own `apply#` records
  in the deployments table, apply_record_writes), send an event or make a
  schedule (release_denies; docs/security.md tables each way and its test).
  It passes each family of the stacks' roles only to that family's service
  (codebuild, codepipeline, lambda).
  Without `iam_permissions_boundary_arn` it can still create a role with any
  inline policy and pass it to a new function: in its account it is as
  strong as an administrator, which is why only a reviewed job in a
  protected GitHub environment may assume it, and the apply workflow
  applies only the reviewed plan. With the boundary, every role it creates
  or changes must carry it, and no role can hold more.

Each setting is read first and written only when it differs, as
`deployer-roles` does: a second run changes nothing and says so.
"""

from __future__ import annotations

import re

from environments import EnvironmentConfig
from functions.shared import records
from ops import iam_roles
from ops.aws import OpsError
from ops.reconcile import Reconciler, explained
from topology import naming, projects

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

# --- Only the pipeline moves a release --------------------------------------
# What PowerUserAccess would let the apply role do to a release by itself.
# Terraform calls none of these for the stacks (tests/test_ci_release_denies.py
# holds the stacks' resource types to the actions Terraform calls), so each is
# denied. Names as the Service Authorization Reference spells them, one page
# per service under https://docs.aws.amazon.com/service-authorization/latest/reference/
# (the page is named after each group below).
#
# Builds started, retried, stopped, or started by a webhook or in a sandbox
# with a project's role (list_awscodebuild.html).
BUILD_RUNS = (
    "codebuild:CreateWebhook",
    "codebuild:RetryBuild",
    "codebuild:RetryBuildBatch",
    "codebuild:StartBuild",
    "codebuild:StartBuildBatch",
    "codebuild:StartCommandExecution",
    "codebuild:StartSandbox",
    "codebuild:StartSandboxConnection",
    "codebuild:StopBuild",
    "codebuild:StopBuildBatch",
    "codebuild:UpdateWebhook",
)
# Executions started or stopped, a source revision put, or a webhook that
# starts them (list_awscodepipeline.html).
EXECUTION_RUNS = (
    "codepipeline:PutActionRevision",
    "codepipeline:PutWebhook",
    "codepipeline:RegisterWebhookWithThirdParty",
    "codepipeline:StartPipelineExecution",
    "codepipeline:StopPipelineExecution",
)
# The approval, and the entry conditions (change window, incident gate)
# (list_awscodepipeline.html, as are the next two).
GATE_PASSES = ("codepipeline:OverrideStageCondition", "codepipeline:PutApprovalResult")
# Stages rolled back, retried, or their transitions opened or closed.
STAGE_MOVES = (
    "codepipeline:DisableStageTransition",
    "codepipeline:EnableStageTransition",
    "codepipeline:RetryStageExecution",
    "codepipeline:RollbackStage",
)
# A job worker's answers: an action's job marked done or failed.
JOB_ANSWERS = (
    "codepipeline:AcknowledgeJob",
    "codepipeline:AcknowledgeThirdPartyJob",
    "codepipeline:PollForJobs",
    "codepipeline:PollForThirdPartyJobs",
    "codepipeline:PutJobFailureResult",
    "codepipeline:PutJobSuccessResult",
    "codepipeline:PutThirdPartyJobFailureResult",
    "codepipeline:PutThirdPartyJobSuccessResult",
)
# An alarm put in ALARM shuts an incident gate or fires a rollback; put in
# OK it lets a bake pass. A metric published in the alarms' namespace does
# the same through the alarm (list_amazoncloudwatch.html).
ALARM_FORGERIES = ("cloudwatch:PutMetricData", "cloudwatch:SetAlarmState")
# A function run by the caller: invoked, through a URL (an AuthType NONE URL
# needs no signature, so making one is denied too), or from a queue or
# stream mapping (list_awslambda.html). The rollback function calls
# RollbackStage with its own role.
INVOCATIONS = (
    "lambda:CreateEventSourceMapping",
    "lambda:CreateFunctionUrlConfig",
    "lambda:InvokeAsync",
    "lambda:InvokeFunction",
    "lambda:InvokeFunctionUrl",
    "lambda:UpdateEventSourceMapping",
    "lambda:UpdateFunctionUrlConfig",
)
# Objects written, overwritten (PutObject covers copies and multipart
# uploads), deleted, restored or re-permissioned (list_amazons3.html). The
# artifacts bucket holds what each deploy stage deploys and the builds' cache.
OBJECT_WRITES = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:RestoreObject",
)
# Items written (list_amazondynamodb.html). The rollback function picks its
# target from the deployment records and does nothing for a deployment
# whose record is already claimed.
ITEM_WRITES = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# Events sent to a bus (list_amazoneventbridge.html), and EventBridge
# Scheduler schedules, which call any target with a role
# (list_amazoneventbridgescheduler.html). The stacks' schedules are
# EventBridge rules; they make no Scheduler schedule.
EVENT_SENDS = ("events:PutEvents",)
SCHEDULES = ("scheduler:CreateSchedule", "scheduler:UpdateSchedule")
# The service each family of the stacks' roles is for (iam:PassedToService).
CODEBUILD = "codebuild.amazonaws.com"
CODEPIPELINE = "codepipeline.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"


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
            *_role_passes(config),
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
            *release_denies(config),
            *apply_record_writes(config),
        ],
    }


def role_families(config: EnvironmentConfig) -> dict[str, list[str]]:
    """The ARNs of the stacks' build roles and pipeline role, by the service
    they are for. Every other `kiro-pipeline-{env}-*-role` the stacks make is
    a function's (modules/function.py); the CI roles are never passed."""
    return {
        CODEBUILD: [_role_arn(config, config.names.role(name)) for name in projects.names()],
        CODEPIPELINE: [_role_arn(config, config.names.role("pipeline"))],
    }


def _role_passes(config: EnvironmentConfig) -> list[dict]:
    """iam:PassRole, which PowerUserAccess does not grant: each family of
    roles only to its own service. A build role given to a new function, or
    a function's role (the rollback function's may roll back a stage) given
    to a new project, would run it outside the pipeline."""
    families = role_families(config)
    functions = _role_arn(config, config.names.role("*"))
    statements = [
        {
            # The projects' roles, to CodeBuild (CreateProject, UpdateProject).
            "Sid": "PassBuildRolesOnlyToCodeBuild",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": families[CODEBUILD],
            "Condition": {"StringEquals": {"iam:PassedToService": CODEBUILD}},
        },
        {
            # The pipeline's role, to CodePipeline (CreatePipeline, UpdatePipeline).
            "Sid": "PassThePipelineRoleOnlyToCodePipeline",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": families[CODEPIPELINE],
            "Condition": {"StringEquals": {"iam:PassedToService": CODEPIPELINE}},
        },
        {
            # The functions' roles, to Lambda (CreateFunction,
            # UpdateFunctionConfiguration). The functions' purposes are not a
            # table here, so the pattern covers every stack role; the two
            # denies below take the build and pipeline roles back out, and
            # NeverTheCiOrDeployerRoles the CI roles.
            "Sid": "PassFunctionRolesOnlyToLambda",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": functions,
            "Condition": {"StringEquals": {"iam:PassedToService": LAMBDA}},
        },
    ]
    elsewhere = {CODEBUILD: "NeverPassBuildRolesElsewhere", CODEPIPELINE: "NeverPassThePipelineRoleElsewhere"}
    for service, sid in elsewhere.items():
        statements.append(
            {
                # Whatever else allows it: a build role only to CodeBuild, the
                # pipeline role only to CodePipeline (no key, no pass).
                "Sid": sid,
                "Effect": "Deny",
                "Action": "iam:PassRole",
                "Resource": families[service],
                "Condition": {"StringNotEquals": {"iam:PassedToService": service}},
            }
        )
    return statements


def release_denies(config: EnvironmentConfig) -> list[dict]:
    """Only the pipeline moves a release. Each statement is a row of the
    table in docs/security.md, tested in tests/test_ci_release_denies.py.
    `"Resource": "*"` where denying on everything is the point: the apply
    role runs no build, execution, stage or function of any pipeline in the
    account, this environment's or another's. Some of these actions take
    no resource at all: AcknowledgeJob, the Put*JobResult answers,
    PollForThirdPartyJobs, PutMetricData."""
    partition, region, account = config.partition, config.region, config.account_id
    return [
        {
            # A build of a deploy project deploys with its target's role; a
            # buildspec override or a sandbox would deploy anything.
            "Sid": "NoBuildRunsButThePipelines",
            "Effect": "Deny",
            "Action": list(BUILD_RUNS),
            "Resource": "*",
        },
        {
            # A release starts from a commit on the source branch, and stops
            # by failing or being rejected, nothing else.
            "Sid": "NoExecutionStartedOrStopped",
            "Effect": "Deny",
            "Action": list(EXECUTION_RUNS),
            "Resource": "*",
        },
        {
            # Approvals are a reviewer's, overrides the break-glass
            # `ops override`'s, each with a person's own credentials.
            "Sid": "NoApprovalNorConditionOverride",
            "Effect": "Deny",
            "Action": list(GATE_PASSES),
            "Resource": "*",
        },
        {
            # Rollbacks are the rollback function's and the on-failure
            # result's; retries the Build stage's own; transitions stay open.
            "Sid": "NoStageRolledBackRetriedOrUnblocked",
            "Effect": "Deny",
            "Action": list(STAGE_MOVES),
            "Resource": "*",
        },
        {
            # An action's job is answered by the service that runs it.
            "Sid": "NoActionJobAnswered",
            "Effect": "Deny",
            "Action": list(JOB_ANSWERS),
            "Resource": "*",
        },
        {
            # The incident gates, the bakes and the rollback rule read the
            # alarms; the alarms read the probe's and the services' metrics.
            "Sid": "NoAlarmStateNorMetricForged",
            "Effect": "Deny",
            "Action": list(ALARM_FORGERIES),
            "Resource": "*",
        },
        {
            # The functions run on their events only; the rollback function
            # rolls back whatever stage its event names.
            "Sid": "NoFunctionInvoked",
            "Effect": "Deny",
            "Action": list(INVOCATIONS),
            "Resource": "*",
        },
        {
            # Terraform writes one kind of object: its state (and the S3
            # lock file beside it). Every other bucket's objects, the
            # artifacts bucket's first, are the pipeline's.
            "Sid": "NoObjectWritesButTheState",
            "Effect": "Deny",
            "Action": list(OBJECT_WRITES),
            "NotResource": f"arn:{partition}:s3:::{config.state_bucket}/*",
        },
        {
            # Likewise items: only the lock table's (the S3 backend's
            # DynamoDB locking). The deployment records are the functions'.
            "Sid": "NoItemWritesButTheStateLock",
            "Effect": "Deny",
            "Action": [action for action in ITEM_WRITES if action != PUT_ITEM],
            "NotResource": naming.arn(partition, "dynamodb", region, account, f"table/{config.state_lock_table}"),
        },
        {
            # PutItem too, with one exception: the apply workflow's own
            # records in the deployments table, which apply_record_writes
            # limits to `apply#` keys and their attributes.
            "Sid": "NoPutItemButTheStateLockAndApplyRecords",
            "Effect": "Deny",
            "Action": PUT_ITEM,
            "NotResource": [
                naming.arn(partition, "dynamodb", region, account, f"table/{config.state_lock_table}"),
                _deployments_table(config),
            ],
        },
        {
            # The stacks' rules match only aws.* sources, which PutEvents
            # cannot send; denied anyway, as Terraform sends no event.
            "Sid": "NoEventsSent",
            "Effect": "Deny",
            "Action": list(EVENT_SENDS),
            "Resource": "*",
        },
        {
            # No stack makes a Scheduler schedule; one would call any API
            # on a timer (it needs a role passed to scheduler.amazonaws.com,
            # which no statement allows either).
            "Sid": "NoSchedules",
            "Effect": "Deny",
            "Action": list(SCHEDULES),
            "Resource": "*",
        },
    ]


PUT_ITEM = "dynamodb:PutItem"


def _deployments_table(config: EnvironmentConfig) -> str:
    return naming.arn(
        config.partition, "dynamodb", config.region, config.account_id, f"table/{config.names.deployments_table}"
    )


def apply_record_writes(config: EnvironmentConfig) -> list[dict]:
    """The one item write the apply role makes outside the lock table: its
    own record of each apply in the deployments table (tools/record-apply.sh),
    under an `apply#` key and with the contract's APPLY_ATTRIBUTES only. Never
    a deployment, rollback, override or incident record: it cannot forge what
    the rollback function chooses its target by, or DORA's figures.

    dynamodb:LeadingKeys: "Allows a user to access items that have a specific
    partition key value" (https://repost.aws/knowledge-center/dynamodb-table-restrict-attributes,
    the DynamoDB developer guide's "Using IAM policy conditions for
    fine-grained access control" names the same keys). A request's leading
    keys are a set, so the denies use ForAnyValue (any key not an apply
    record's) and the allow ForAllValues, which "also returns true if there
    are no context keys in the request"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html):
    a request without the key is denied by its own statement (Null).
    dynamodb:Attributes for PutItem ("only allows the request if the item has
    specific attributes in addition to the primary key", same knowledge-center
    page): assumed to list the item's top-level attribute names; were it
    absent, its deny would not apply and the key limit still holds.
    IAM cannot require the put's condition: the apply role could overwrite
    an `apply#` record (the script never does: attribute_not_exists)."""
    table = _deployments_table(config)
    prefix = f"{records.APPLY_PREFIX}*"
    return [
        {
            "Sid": "PutItemOnlyApplyRecords",
            "Effect": "Deny",
            "Action": PUT_ITEM,
            "Resource": table,
            "Condition": {"ForAnyValue:StringNotLike": {"dynamodb:LeadingKeys": [prefix]}},
        },
        {
            "Sid": "PutItemOnlyWithItsKey",
            "Effect": "Deny",
            "Action": PUT_ITEM,
            "Resource": table,
            "Condition": {"Null": {"dynamodb:LeadingKeys": "true"}},
        },
        {
            "Sid": "PutItemOnlyApplyAttributes",
            "Effect": "Deny",
            "Action": PUT_ITEM,
            "Resource": table,
            "Condition": {"ForAnyValue:StringNotEquals": {"dynamodb:Attributes": list(records.APPLY_ATTRIBUTES)}},
        },
        {
            "Sid": "WriteApplyRecords",
            "Effect": "Allow",
            "Action": PUT_ITEM,
            "Resource": table,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [prefix]}},
        },
    ]


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
                "Action": sorted((*OTHER_WRITES, *ROLE_READS)),
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
            "Action": sorted((*ROLE_WRITES, *ROLE_READS)),
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


class CiRoles(Reconciler):
    def __init__(self, config: EnvironmentConfig, repository: str, boto_session):
        self.repository = check_repository(repository)
        super().__init__(config, boto_session)
        self.iam = boto_session.client("iam")

    def title(self) -> str:
        return f"CI roles of {self.config.name}:"

    def run(self):
        doing = f"configuring the CI roles of {self.config.name}"
        self.require_account(self.config.name, ": use that account's credentials", doing)
        with explained(doing):
            self._provider()
            for kind in KINDS:
                self._role(kind)
        return self.steps

    def _provider(self) -> None:
        arn = provider_arn(self.config)
        present = {p["Arn"] for p in self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
        if arn not in present:
            # No thumbprint: IAM trusts GitHub's OIDC endpoint through its own CA library.
            self.iam.create_open_id_connect_provider(Url=f"https://{GITHUB_OIDC_HOST}", ClientIDList=[AUDIENCE])
            self.record(GITHUB_OIDC_HOST, f"OIDC provider created, audience {AUDIENCE}", True)
            return
        audiences = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"]
        if AUDIENCE not in audiences:
            self.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=AUDIENCE)
        self.record(GITHUB_OIDC_HOST, f"OIDC provider, audience {AUDIENCE}", AUDIENCE not in audiences)

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
        self.record(name, f"{'created, ' if created else ''}trusted by {trusted}", changed)
        managed = f"arn:{self.config.partition}:iam::aws:policy/{MANAGED_POLICY[kind]}"
        self.record(name, f"has {MANAGED_POLICY[kind]}", iam_roles.ensure_managed_policy(self.iam, name, managed))
        desired = permissions_policy(self.config, kind)
        changed = iam_roles.ensure_inline_policy(self.iam, name, INLINE_POLICY, desired)
        self.record(name, f"inline policy {INLINE_POLICY}", changed)


def trust_subjects(trust: dict) -> list[str]:
    return trust["Statement"][0]["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"]
