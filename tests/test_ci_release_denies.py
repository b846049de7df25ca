"""Only the pipeline moves a release: the CI apply role's merged policy
(AWS's PowerUserAccess plus the inline policy `ops ci-roles` writes) denies
every way it could start, approve, unblock, roll back, stop or alter a
release by itself, and still allows what Terraform needs to apply the stacks.

The policies are judged by the small evaluator below, not by AWS:

* it evaluates identity policies only: Allow and Deny statements, Action or
  NotAction, Resource or NotResource with `*` and `?` wildcards (actions
  case-insensitive), an explicit Deny winning over any Allow, and no Allow
  meaning an implicit deny;
* conditions: StringEquals, StringNotEquals, StringLike and ArnLike on the
  keys a test puts in the request context; any other operator raises, so a
  condition is never silently taken as met;
* not evaluated: resource policies, permission boundaries, SCPs, session
  policies, and what AWS itself puts into a request's context (a test
  states `iam:PassedToService` as the service would send it).

moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) is not used: moto
authorizes every non-S3 request against the resource "*", so a deny scoped
to an ARN never matches there; it evaluates conditions only as trust-policy
conditions (an Allow whose condition fails counts as a Deny); and it does
not implement several of the actions denied here (OverrideStageCondition,
RollbackStage, PutActionRevision...).

PowerUserAccess is moto's copy of AWS's managed policy (moto ships the
documents of AWS's managed policies, `moto.iam.aws_managed_policies`):
everything but `iam:*`, `organizations:*` and `account:*`, with a few
exceptions, none of them iam:PassRole. The first test holds that copy to that
shape, so a newer moto with a different document says so here.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from functools import cache
from pathlib import Path

import pytest

from environments import load
from ops import ci_access
from topology import naming, projects

REPO = Path(__file__).resolve().parent.parent
ENV = "production"
BOUNDARY = "arn:aws:iam::123456789012:policy/kiro-pipeline-boundary"

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit deny", "implicit deny"


# --- the evaluator -----------------------------------------------------------


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    actual = {k.lower(): v for k, v in context.items()}.get(key.lower())
    expected = _listed(expected)
    if operator == "Null":
        # "true": the key is absent from the request (or empty); "false": present.
        return (actual is None or actual == []) == (expected == ["true"])
    if operator.startswith(("ForAllValues:", "ForAnyValue:")):
        # A multivalued key: ForAllValues holds when every value of the request
        # meets the operator, and "also returns true if there are no context
        # keys in the request"; ForAnyValue when at least one does, never
        # without the key (IAM User Guide, multivalued context keys).
        qualifier, _, inner = operator.partition(":")
        values = [] if actual is None else _listed(actual)
        held = [_condition_holds(inner, key, expected, {key: value}) for value in values]
        return all(held) if qualifier == "ForAllValues" else any(held)
    if operator == "StringEquals":
        return actual is not None and actual in expected
    if operator == "StringNotEquals":
        # A negated operator holds when the key is absent (IAM's rule).
        return actual is None or actual not in expected
    if operator in ("StringLike", "ArnLike"):
        return actual is not None and any(_glob(e, actual) for e in expected)
    if operator == "StringNotLike":
        # Negated: matches none of the patterns (or the key is absent).
        return actual is None or not any(_glob(e, actual) for e in expected)
    raise NotImplementedError(f"the test evaluator does not know the condition operator {operator}")


def _applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    if "Action" in statement:
        if not any(_glob(a, action, ignore_case=True) for a in _listed(statement["Action"])):
            return False
    elif any(_glob(a, action, ignore_case=True) for a in _listed(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_glob(r, resource) for r in _listed(statement["Resource"])):
            return False
    elif any(_glob(r, resource) for r in _listed(statement["NotResource"])):
        return False
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def decide(policies: list[dict], action: str, resource: str, context: dict[str, str] | None = None):
    """(decision, Sids of the statements that decided it)."""
    matching = [s for p in policies for s in p["Statement"] if _applies(s, action, resource, context or {})]
    denies = [s.get("Sid", "?") for s in matching if s["Effect"] == "Deny"]
    if denies:
        return EXPLICIT_DENY, denies
    allows = [s.get("Sid", "?") for s in matching if s["Effect"] == "Allow"]
    return (ALLOW, allows) if allows else (IMPLICIT_DENY, [])


# --- the policies ------------------------------------------------------------


@cache
def power_user_access() -> dict:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)["PowerUserAccess"]["Document"]


def config(boundary: bool = False):
    base = load(ENV)
    return dataclasses.replace(base, iam_permissions_boundary_arn=BOUNDARY) if boundary else base


def apply_role(boundary: bool = False) -> list[dict]:
    """The apply role's merged policy: the managed policy and the inline one."""
    return [power_user_access(), ci_access.permissions_policy(config(boundary), "apply")]


BOTH = pytest.mark.parametrize("boundary", [False, True], ids=["no-boundary", "boundary"])


def arn(service: str, resource: str, env: str = ENV) -> str:
    c = load(env)
    return naming.arn(c.partition, service, c.region, c.account_id, resource)


def pipeline(env: str = ENV) -> str:
    return arn("codepipeline", load(env).names.pipeline, env)


def project(kind: str, env: str = ENV) -> str:
    return arn("codebuild", f"project/{load(env).names.codebuild_project(kind)}", env)


def function(purpose: str, env: str = ENV) -> str:
    return arn("lambda", f"function:{load(env).names.lambda_function(purpose)}", env)


def role(name: str) -> str:
    return naming.arn("aws", "iam", "", load(ENV).account_id, f"role/{name}")


def assert_denied(boundary: bool, actions, resources, statement: str) -> None:
    """Denied by `statement`, explicitly, although PowerUserAccess alone
    would allow it: the deny is what stops it."""
    for action in actions:
        for resource in resources:
            assert decide([power_user_access()], action, resource)[0] == ALLOW, (action, "PowerUserAccess allows it")
            decision, sids = decide(apply_role(boundary), action, resource)
            assert (decision, statement in sids) == (EXPLICIT_DENY, True), (action, resource, decision, sids)


# Other environments' resources in the same account are denied too: the
# denies are on "*" where that is the point.
ELSEWHERE = "staging"


def test_power_user_access_is_everything_but_iam_organizations_and_account():
    allow_all, exceptions = power_user_access()["Statement"]
    assert allow_all == {
        "Effect": "Allow",
        "NotAction": ["iam:*", "organizations:*", "account:*"],
        "Resource": "*",
    }
    assert "iam:PassRole" not in exceptions["Action"]
    # So the managed policy alone lets the role move a release...
    assert decide([power_user_access()], "codepipeline:PutApprovalResult", pipeline())[0] == ALLOW
    # ...and pass no role at all: only the inline policy grants iam:PassRole.
    assert decide([power_user_access()], "iam:PassRole", role("kiro-pipeline-production-build-role"))[0] == (
        IMPLICIT_DENY
    )


# --- each way a release could be moved (docs/security.md) --------------------


@BOTH
def test_no_build_is_started_retried_or_stopped(boundary):
    """StartBuild with a buildspec override on the production deploy project
    is the issue's example; a sandbox runs commands with the project's role."""
    resources = [project("deploy-production"), project("build"), project("deploy-staging", ELSEWHERE)]
    sandbox = arn("codebuild", "sandbox/a1b2c3")
    actions = (
        "codebuild:StartBuild",
        "codebuild:StartBuildBatch",
        "codebuild:RetryBuild",
        "codebuild:RetryBuildBatch",
        "codebuild:StopBuild",
        "codebuild:StopBuildBatch",
        "codebuild:StartSandbox",
        "codebuild:StartSandboxConnection",
        "codebuild:StartCommandExecution",
        "codebuild:CreateWebhook",
        "codebuild:UpdateWebhook",
    )
    assert_denied(boundary, actions, [*resources, sandbox], "NoBuildRunsButThePipelines")


@BOTH
def test_no_execution_is_started_or_stopped(boundary):
    source = f"{pipeline()}/{naming.SOURCE_STAGE}/{naming.SOURCE_ACTION}"
    webhook = arn("codepipeline", "webhook:kiro-pipeline-production")
    resources = [pipeline(), pipeline(ELSEWHERE), source, webhook]
    actions = (
        "codepipeline:StartPipelineExecution",
        "codepipeline:StopPipelineExecution",
        "codepipeline:PutActionRevision",
        "codepipeline:PutWebhook",
        "codepipeline:RegisterWebhookWithThirdParty",
    )
    assert_denied(boundary, actions, resources, "NoExecutionStartedOrStopped")


@BOTH
def test_no_approval_and_no_condition_override(boundary):
    approval = f"{pipeline()}/{naming.DEPLOY_STAGES['production']}/{naming.APPROVAL_ACTION}"
    stages = [f"{pipeline()}/{stage}" for stage in naming.DEPLOY_STAGES.values()]
    actions = ("codepipeline:PutApprovalResult", "codepipeline:OverrideStageCondition")
    assert_denied(boundary, actions, [approval, *stages], "NoApprovalNorConditionOverride")


@BOTH
def test_no_stage_is_rolled_back_retried_or_unblocked(boundary):
    stages = [f"{pipeline()}/{stage}" for stage in naming.DEPLOY_STAGES.values()]
    stages.append(f"{pipeline(ELSEWHERE)}/{naming.DEPLOY_STAGES['production']}")
    actions = (
        "codepipeline:RollbackStage",
        "codepipeline:RetryStageExecution",
        "codepipeline:EnableStageTransition",
        "codepipeline:DisableStageTransition",
    )
    assert_denied(boundary, actions, stages, "NoStageRolledBackRetriedOrUnblocked")


@BOTH
def test_no_action_job_is_answered(boundary):
    actions = (
        "codepipeline:PutJobSuccessResult",
        "codepipeline:PutJobFailureResult",
        "codepipeline:PutThirdPartyJobSuccessResult",
        "codepipeline:PutThirdPartyJobFailureResult",
        "codepipeline:AcknowledgeJob",
        "codepipeline:AcknowledgeThirdPartyJob",
        "codepipeline:PollForJobs",
        "codepipeline:PollForThirdPartyJobs",
    )
    assert_denied(boundary, actions, ["*"], "NoActionJobAnswered")


@BOTH
def test_no_alarm_state_or_metric_is_forged(boundary):
    c = config(boundary)
    alarms = [arn("cloudwatch", f"alarm:{c.names.health_alarm(t)}") for t in naming.BAKE_TARGETS]
    alarms.append(arn("cloudwatch", f"alarm:{c.names.health_probe_silent_alarm}"))
    assert_denied(boundary, ["cloudwatch:SetAlarmState"], alarms, "NoAlarmStateNorMetricForged")
    # PutMetricData has no resource type: AWS evaluates it against "*".
    assert_denied(boundary, ["cloudwatch:PutMetricData"], ["*"], "NoAlarmStateNorMetricForged")


@BOTH
def test_no_function_is_invoked(boundary):
    functions = [function("rollback"), function("deployment-recorder"), function("rollback", ELSEWHERE)]
    mapping = arn("lambda", "event-source-mapping:0f1e2d3c")
    actions = (
        "lambda:InvokeFunction",
        "lambda:InvokeAsync",
        "lambda:InvokeFunctionUrl",
        "lambda:CreateFunctionUrlConfig",
        "lambda:UpdateFunctionUrlConfig",
        "lambda:CreateEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
    )
    assert_denied(boundary, actions, [*functions, mapping, "*"], "NoFunctionInvoked")


@BOTH
def test_no_artifact_is_written_but_the_state_is(boundary):
    c = config(boundary)
    objects = [
        f"arn:aws:s3:::{c.names.artifacts_bucket}/{c.names.pipeline}/BuildOutput/a1b2c3.zip",
        f"arn:aws:s3:::{c.names.artifacts_bucket}/codebuild-cache/{c.names.codebuild_project('build')}/x",
        f"arn:aws:s3:::{load(ELSEWHERE).names.artifacts_bucket}/x",
    ]
    actions = (
        "s3:PutObject",
        "s3:PutObjectAcl",
        "s3:PutObjectVersionAcl",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:RestoreObject",
    )
    assert_denied(boundary, actions, objects, "NoObjectWritesButTheState")
    state = f"arn:aws:s3:::{c.state_bucket}/{naming.state_key(naming.stack_id('core', ENV))}"
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert decide(apply_role(boundary), action, state)[0] == ALLOW, action
        assert decide(apply_role(boundary), action, f"{state}.tflock")[0] == ALLOW, action


@BOTH
def test_no_deployment_record_is_written_but_the_lock_is(boundary):
    c = config(boundary)
    records = [arn("dynamodb", f"table/{c.names.deployments_table}"), arn("dynamodb", "table/anything")]
    # PutItem: denied everywhere but the lock table and, for the apply
    # workflow's own records only, the deployments table
    # (test_the_apply_role_writes_only_apply_records).
    assert_denied(boundary, ["dynamodb:PutItem"], records[1:], "NoPutItemButTheStateLockAndApplyRecords")
    actions = (
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    )
    assert_denied(boundary, actions, records, "NoItemWritesButTheStateLock")
    lock = arn("dynamodb", f"table/{c.state_lock_table}")
    for action in ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"):
        assert decide(apply_role(boundary), action, lock)[0] == ALLOW, action


@BOTH
def test_the_apply_role_writes_only_apply_records(boundary):
    """The apply workflow's record of an apply (tools/record-apply.sh) is the
    one item the apply role may put outside the lock table: under an `apply#`
    key, with the apply record's attributes only. A deployment record (what
    the rollback function and DORA read), a rollback or incident record, an
    apply record with another attribute, or a put that names no key, is
    refused: explicitly, although PowerUserAccess alone allows each."""
    from functions.shared.contract import records

    table = arn("dynamodb", f"table/{config(boundary).names.deployments_table}")
    role = apply_role(boundary)

    def put(keys, attributes=records.APPLY_ATTRIBUTES):
        context = {"dynamodb:Attributes": list(attributes)}
        if keys is not None:
            context["dynamodb:LeadingKeys"] = keys
        assert decide([power_user_access()], "dynamodb:PutItem", table, context)[0] == ALLOW
        return decide(role, "dynamodb:PutItem", table, context)

    decision, sids = put([f"{records.APPLY_PREFIX}42#4242#1"])
    assert decision == ALLOW and "WriteApplyRecords" in sids
    forged = {
        "a deployment record": ["3137f7cb-7cf7-4ad9-8b6a-0c0b1b2e4f5a"],
        "a rollback record": [f"{records.ROLLBACK_PREFIX}ProductionDeploy#x"],
        "an incident record": [f"{records.INCIDENT_PREFIX}kiro-pipeline-production-health-production#t"],
        "a run record": [f"{records.RUN_PREFIX}ci-roles#t#x"],
        "an apply key beside another": [f"{records.APPLY_PREFIX}1#2#3", "3137f7cb-7cf7-4ad9-8b6a-0c0b1b2e4f5a"],
    }
    for what, keys in forged.items():
        decision, sids = put(keys)
        assert (decision, "PutItemOnlyApplyRecords" in sids) == (EXPLICIT_DENY, True), what
    decision, sids = put(None)
    assert (decision, sids) == (EXPLICIT_DENY, ["PutItemOnlyWithItsKey"])
    decision, sids = put([f"{records.APPLY_PREFIX}1#2#3"], (*records.APPLY_ATTRIBUTES, records.OUTCOME))
    assert (decision, sids) == (EXPLICIT_DENY, ["PutItemOnlyApplyAttributes"])
    # Nothing else on the table: no update, no delete, of any record, apply records included.
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        context = {"dynamodb:LeadingKeys": [f"{records.APPLY_PREFIX}1#2#3"]}
        assert decide(role, action, table, context)[0] == EXPLICIT_DENY, action


@BOTH
def test_no_event_is_sent(boundary):
    assert_denied(boundary, ["events:PutEvents"], [arn("events", "event-bus/default"), "*"], "NoEventsSent")


@BOTH
def test_no_schedule_is_made(boundary):
    schedules = [arn("scheduler", "schedule/default/kiro-pipeline-production-x"), "*"]
    assert_denied(boundary, ["scheduler:CreateSchedule", "scheduler:UpdateSchedule"], schedules, "NoSchedules")


# Every service a role could be passed to that matters here.
SERVICES = (
    ci_access.CODEBUILD,
    ci_access.CODEPIPELINE,
    ci_access.LAMBDA,
    "events.amazonaws.com",
    "scheduler.amazonaws.com",
    "states.amazonaws.com",
    "ec2.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "cloudformation.amazonaws.com",
)


def passes(boundary: bool, role_arn: str) -> dict[str, str]:
    """Each service -> the decision on passing `role_arn` to it."""
    policies = apply_role(boundary)
    return {s: decide(policies, "iam:PassRole", role_arn, {"iam:PassedToService": s})[0] for s in SERVICES}


@BOTH
def test_each_role_family_is_passed_only_to_its_service(boundary):
    c = config(boundary)
    families = {
        ci_access.CODEBUILD: [role(c.names.role(name)) for name in projects.names()],
        ci_access.CODEPIPELINE: [role(c.names.role("pipeline"))],
        ci_access.LAMBDA: [role(c.names.role(p)) for p in ("rollback", "deployment-recorder", "health-probe")],
    }
    assert families[ci_access.CODEBUILD] and set(families[ci_access.CODEBUILD]) == set(
        ci_access.role_families(c)[ci_access.CODEBUILD]
    )
    for service, arns in families.items():
        for role_arn in arns:
            decided = passes(boundary, role_arn)
            assert {s for s, d in decided.items() if d == ALLOW} == {service}, (role_arn, decided)
    # A build role or the pipeline role given elsewhere is refused by a Deny,
    # not only for want of an Allow; so is one passed without the key.
    for role_arn, sid in (
        (families[ci_access.CODEBUILD][0], "NeverPassBuildRolesElsewhere"),
        (families[ci_access.CODEPIPELINE][0], "NeverPassThePipelineRoleElsewhere"),
    ):
        for context in ({"iam:PassedToService": ci_access.LAMBDA}, {}):
            decision, sids = decide(apply_role(boundary), "iam:PassRole", role_arn, context)
            assert (decision, sid in sids) == (EXPLICIT_DENY, True), (role_arn, context, sids)
    # The CI roles and the deployer roles go nowhere; nor does any role
    # outside the environment.
    never = [role(ci_access.role_name(c, k)) for k in ci_access.KINDS]
    never += [role(c.names.deployer_role(stage)) for stage in naming.DEPLOY_STAGES]
    never += [role(load(ELSEWHERE).names.role("rollback")), role("Admin")]
    for role_arn in never:
        assert ALLOW not in passes(boundary, role_arn).values(), role_arn
    for role_arn in never[:2]:
        decision, sids = decide(
            apply_role(boundary), "iam:PassRole", role_arn, {"iam:PassedToService": ci_access.LAMBDA}
        )
        assert (decision, "NeverTheCiOrDeployerRoles" in sids) == (EXPLICIT_DENY, True)


# Which test covers which deny: each Deny statement of the apply role's inline
# policy has one, and docs/security.md names it in its table.
TESTS_OF_DENIES = {
    "NoBuildRunsButThePipelines": "test_no_build_is_started_retried_or_stopped",
    "NoExecutionStartedOrStopped": "test_no_execution_is_started_or_stopped",
    "NoApprovalNorConditionOverride": "test_no_approval_and_no_condition_override",
    "NoStageRolledBackRetriedOrUnblocked": "test_no_stage_is_rolled_back_retried_or_unblocked",
    "NoActionJobAnswered": "test_no_action_job_is_answered",
    "NoAlarmStateNorMetricForged": "test_no_alarm_state_or_metric_is_forged",
    "NoFunctionInvoked": "test_no_function_is_invoked",
    "NoObjectWritesButTheState": "test_no_artifact_is_written_but_the_state_is",
    "NoItemWritesButTheStateLock": "test_no_deployment_record_is_written_but_the_lock_is",
    "NoPutItemButTheStateLockAndApplyRecords": "test_no_deployment_record_is_written_but_the_lock_is",
    "PutItemOnlyApplyRecords": "test_the_apply_role_writes_only_apply_records",
    "PutItemOnlyWithItsKey": "test_the_apply_role_writes_only_apply_records",
    "PutItemOnlyApplyAttributes": "test_the_apply_role_writes_only_apply_records",
    "NoEventsSent": "test_no_event_is_sent",
    "NoSchedules": "test_no_schedule_is_made",
    "NeverPassBuildRolesElsewhere": "test_each_role_family_is_passed_only_to_its_service",
    "NeverPassThePipelineRoleElsewhere": "test_each_role_family_is_passed_only_to_its_service",
    # Denies that were there before this table, tested in tests/test_ci_roles.py.
    "NeverTheCiOrDeployerRoles": "test_plan_reads_everything_but_data_and_apply_cannot_widen_itself",
    "NeverAssumeTheEnvironmentsRoles": "test_plan_reads_everything_but_data_and_apply_cannot_widen_itself",
    "NeverDropTheBoundary": "test_with_a_boundary_the_apply_role_makes_roles_only_under_it",
}


def security_table() -> str:
    text = (REPO / "docs" / "security.md").read_text()
    start = text.index("## Only the pipeline moves a release")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@BOTH
def test_every_statement_has_a_sid_and_no_wildcard_action(boundary):
    for statement in ci_access.permissions_policy(config(boundary), "apply")["Statement"]:
        assert statement.get("Sid"), statement
        assert "NotAction" not in statement, statement["Sid"]
        assert not any("*" in a for a in _listed(statement["Action"])), statement["Sid"]


@BOTH
def test_every_deny_has_its_test_and_its_row(boundary):
    from tests import test_ci_roles

    statements = ci_access.permissions_policy(config(boundary), "apply")["Statement"]
    denies = {s["Sid"] for s in statements if s["Effect"] == "Deny"}
    assert denies <= set(TESTS_OF_DENIES), denies - set(TESTS_OF_DENIES)
    table = security_table()
    for sid in denies:
        name = TESTS_OF_DENIES[sid]
        module = sys.modules[__name__] if hasattr(sys.modules[__name__], name) else test_ci_roles
        assert callable(getattr(module, name, None)), name
        if module is not test_ci_roles:
            assert f"`{name}`" in table, f"docs/security.md does not name {name}"
    # Every test the table names exists.
    for name in re.findall(r"`(test_\w+)`", table):
        assert hasattr(sys.modules[__name__], name) or hasattr(test_ci_roles, name), name


# --- what Terraform still needs ----------------------------------------------

# Representative calls Terraform makes to create, read, update and delete
# each resource type of the stacks, and the state backend's. The resource is
# an ARN of this environment; none of these actions is denied on any
# resource, so the ARN only has to be a plausible one.
TERRAFORM_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws_cloudwatch_dashboard": ("cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"),
    "aws_cloudwatch_event_rule": (
        "events:PutRule",
        "events:DescribeRule",
        "events:DeleteRule",
        "events:TagResource",
        "events:ListTagsForResource",
    ),
    "aws_cloudwatch_event_target": ("events:PutTargets", "events:ListTargetsByRule", "events:RemoveTargets"),
    "aws_cloudwatch_log_group": (
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:AssociateKmsKey",
        "logs:DescribeLogGroups",
        "logs:DeleteLogGroup",
        "logs:TagResource",
    ),
    "aws_cloudwatch_log_resource_policy": (
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DeleteResourcePolicy",
    ),
    "aws_cloudwatch_metric_alarm": (
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:TagResource",
    ),
    "aws_codebuild_project": (
        "codebuild:CreateProject",
        "codebuild:UpdateProject",
        "codebuild:BatchGetProjects",
        "codebuild:DeleteProject",
    ),
    "aws_codebuild_report_group": (
        "codebuild:CreateReportGroup",
        "codebuild:UpdateReportGroup",
        "codebuild:BatchGetReportGroups",
        "codebuild:DeleteReportGroup",
    ),
    "aws_codeconnections_connection": (
        "codeconnections:CreateConnection",
        "codeconnections:GetConnection",
        "codeconnections:DeleteConnection",
        "codeconnections:TagResource",
    ),
    "aws_codepipeline": (
        "codepipeline:CreatePipeline",
        "codepipeline:UpdatePipeline",
        "codepipeline:GetPipeline",
        "codepipeline:DeletePipeline",
        "codepipeline:TagResource",
        "codepipeline:ListTagsForResource",
        "codeconnections:PassConnection",
        "codestar-connections:PassConnection",
    ),
    "aws_codestarnotifications_notification_rule": (
        "codestar-notifications:CreateNotificationRule",
        "codestar-notifications:UpdateNotificationRule",
        "codestar-notifications:DescribeNotificationRule",
        "codestar-notifications:DeleteNotificationRule",
    ),
    "aws_dynamodb_table": (
        "dynamodb:CreateTable",
        "dynamodb:UpdateTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:DeleteTable",
        "dynamodb:TagResource",
    ),
    "aws_kms_alias": ("kms:CreateAlias", "kms:UpdateAlias", "kms:ListAliases", "kms:DeleteAlias"),
    "aws_kms_key": (
        "kms:CreateKey",
        "kms:PutKeyPolicy",
        "kms:EnableKeyRotation",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
    ),
    "aws_lambda_function": (
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunction",
        "lambda:PutFunctionConcurrency",
        "lambda:ListVersionsByFunction",
        "lambda:DeleteFunction",
        "lambda:TagResource",
    ),
    "aws_lambda_function_event_invoke_config": (
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:GetFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ),
    "aws_lambda_permission": ("lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission"),
    "aws_s3_bucket": (
        "s3:CreateBucket",
        "s3:ListBucket",
        "s3:GetBucketPolicy",
        "s3:PutBucketTagging",
        "s3:DeleteBucket",
    ),
    "aws_s3_bucket_lifecycle_configuration": ("s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
    "aws_s3_bucket_logging": ("s3:PutBucketLogging", "s3:GetBucketLogging"),
    "aws_s3_bucket_ownership_controls": ("s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"),
    "aws_s3_bucket_policy": ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
    "aws_s3_bucket_public_access_block": ("s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    "aws_s3_bucket_server_side_encryption_configuration": (
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
    ),
    "aws_s3_bucket_versioning": ("s3:PutBucketVersioning", "s3:GetBucketVersioning"),
    "aws_sns_topic": ("sns:CreateTopic", "sns:SetTopicAttributes", "sns:GetTopicAttributes", "sns:DeleteTopic"),
    "aws_sns_topic_policy": ("sns:SetTopicAttributes", "sns:GetTopicAttributes"),
    "aws_sns_topic_subscription": ("sns:Subscribe", "sns:GetSubscriptionAttributes", "sns:Unsubscribe"),
    "aws_sqs_queue": ("sqs:CreateQueue", "sqs:SetQueueAttributes", "sqs:GetQueueAttributes", "sqs:DeleteQueue"),
    # The change calendar (modules/freeze.py).
    "aws_ssm_document": (
        "ssm:CreateDocument",
        "ssm:DescribeDocument",
        "ssm:GetDocument",
        "ssm:DescribeDocumentPermission",
        "ssm:ListTagsForResource",
        "ssm:UpdateDocument",
        "ssm:DeleteDocument",
    ),
    # IAM: on the role's own ARN, below.
    "aws_iam_role": (
        "iam:CreateRole",
        "iam:GetRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:DeleteRole",
    ),
    "aws_iam_role_policy": ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
}


def assert_terraform_may(boundary: bool, action: str, resource: str, context: dict | None = None) -> None:
    decision, sids = decide(apply_role(boundary), action, resource, context)
    assert decision == ALLOW, (action, resource, decision, sids)


def environment_arn(action: str) -> str:
    service = action.split(":")[0]
    return arn(service, f"kiro-pipeline-{ENV}-resource")


@BOTH
def test_terraform_can_still_apply_every_stack(boundary):
    """Without the synthesized stacks: every action of the table above, the
    environment's roles written (under the boundary when there is one), each
    family passed to its service, and the state backend."""
    c = config(boundary)
    for actions in TERRAFORM_ACTIONS.values():
        for action in actions:
            resource = role(c.names.role("rollback")) if action.startswith("iam:") else environment_arn(action)
            context = {"iam:PermissionsBoundary": BOUNDARY} if boundary else {}
            assert_terraform_may(boundary, action, resource, context)
    for service, arns in ci_access.role_families(c).items():
        for role_arn in arns:
            assert_terraform_may(boundary, "iam:PassRole", role_arn, {"iam:PassedToService": service})
    assert_terraform_may(
        boundary, "iam:PassRole", role(c.names.role("rollback")), {"iam:PassedToService": "lambda.amazonaws.com"}
    )
    assert_terraform_may(boundary, "s3:PutObject", f"arn:aws:s3:::{c.state_bucket}/core-{ENV}/terraform.tfstate")
    if boundary:
        # Without the boundary on the request, no role is made or rewritten.
        for action in ci_access.BOUNDED_WRITES:
            assert decide(apply_role(True), action, role(c.names.role("rollback")))[0] == IMPLICIT_DENY, action


def test_terraform_can_apply_the_synthesized_stacks(stacks):
    """Every resource type of every synthesized stack is one Terraform can
    manage with the apply role, every role the stacks make can be written,
    and can be passed to exactly the service its trust policy names. A new
    resource type fails here until its calls are added to TERRAFORM_ACTIONS
    (and checked against the release denies)."""
    unknown = {t for s in stacks.values() for t in s.json.get("resource", {})} - set(TERRAFORM_ACTIONS)
    assert not unknown, f"add what Terraform calls for {sorted(unknown)} to TERRAFORM_ACTIONS"
    seen_roles = 0
    for stack_name, stack in stacks.items():
        _, env = naming.stack_parts(stack_name)
        c = load(env)
        policies = [power_user_access(), ci_access.permissions_policy(c, "apply")]
        for resource_type in stack.json.get("resource", {}):
            if resource_type.startswith("aws_iam_"):
                continue
            for action in TERRAFORM_ACTIONS[resource_type]:
                resource = naming.arn(c.partition, action.split(":")[0], c.region, c.account_id, "x")
                assert decide(policies, action, resource)[0] == ALLOW, (stack_name, resource_type, action)
        for construct, config_ in stack.resources("aws_iam_role").items():
            seen_roles += 1
            role_arn = naming.arn(c.partition, "iam", "", c.account_id, f"role/{config_['name']}")
            for action in TERRAFORM_ACTIONS["aws_iam_role"] + TERRAFORM_ACTIONS["aws_iam_role_policy"]:
                assert decide(policies, action, role_arn)[0] == ALLOW, (stack_name, construct, action)
            (service,) = {
                service
                for statement in stack.policy_statements(config_["assume_role_policy"])
                for principal in statement.get("principals", [])
                for service in principal["identifiers"]
            }
            decided = {s: decide(policies, "iam:PassRole", role_arn, {"iam:PassedToService": s})[0] for s in SERVICES}
            assert {s for s, d in decided.items() if d == ALLOW} == {service}, (stack_name, construct, decided)
    assert seen_roles


def test_the_inline_policy_fits_iams_limit():
    """An inline role policy may hold 10,240 characters, white space not
    counted (IAM and AWS STS quotas)."""
    for boundary in (False, True):
        policy = ci_access.permissions_policy(config(boundary), "apply")
        assert len(json.dumps(policy, separators=(",", ":"))) < 10_240


# --- the evaluator can say no ------------------------------------------------


def test_the_evaluator_lets_an_explicit_deny_win_and_knows_its_limits():
    allow = {"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    deny = {"Statement": [{"Sid": "D", "Effect": "Deny", "Action": "S3:PutObject", "NotResource": "arn:aws:s3:::s/*"}]}
    assert decide([allow], "s3:PutObject", "arn:aws:s3:::a/k") == (ALLOW, ["A"])
    assert decide([allow, deny], "s3:PutObject", "arn:aws:s3:::a/k") == (EXPLICIT_DENY, ["D"])
    assert decide([allow, deny], "s3:PutObject", "arn:aws:s3:::s/k") == (ALLOW, ["A"])
    assert decide([deny], "s3:GetObject", "arn:aws:s3:::a/k") == (IMPLICIT_DENY, [])
    conditioned = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "iam:PassRole",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            }
        ]
    }
    assert decide([conditioned], "iam:PassRole", "r", {"iam:PassedToService": "lambda.amazonaws.com"})[0] == (
        IMPLICIT_DENY
    )
    assert decide([conditioned], "iam:PassRole", "r", {})[0] == EXPLICIT_DENY  # no key: a negated operator holds
    unknown = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"k": "true"}}}]}
    with pytest.raises(NotImplementedError, match="Bool"):
        decide([unknown], "s3:PutObject", "x")
