"""pipeline-{env}: CodePipeline V2 and its delivery controls, composed of the
build project units (modules/build_project.py), one per row of
topology/projects.py. The stages, in order (topology/naming.pipeline_stages):

    Source, Build,
    TestGate, TestEnv, StagingGate, StagingEnv,
    ProductionEnv (the approval), ProductionWindow, ProductionGate, ProductionDeploy

Each gate is a stage of its own whose entry condition is the gate, so that
(a) the change window is evaluated after the approval and the incident gate
last, immediately before the deploy; (b) no condition holds two controls, and
an override of one never waives the other; (c) a stage that is rolled back
carries no entry condition its own rollback could trip (undocumented either
way; docs/delivery-controls.md)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.codebuild_project import (
    CodebuildProject,
)
from cdktf_cdktf_provider_aws.codeconnections_connection import CodeconnectionsConnection
from cdktf_cdktf_provider_aws.codepipeline import (
    Codepipeline,
    CodepipelineArtifactStore,
    CodepipelineArtifactStoreEncryptionKey,
    CodepipelineStage,
    CodepipelineStageAction,
    CodepipelineStageBeforeEntry,
    CodepipelineStageBeforeEntryCondition,
    CodepipelineStageBeforeEntryConditionRule,
    CodepipelineStageBeforeEntryConditionRuleRuleTypeId,
    CodepipelineStageOnFailure,
    CodepipelineStageOnFailureRetryConfiguration,
    CodepipelineStageOnSuccess,
    CodepipelineStageOnSuccessCondition,
    CodepipelineStageOnSuccessConditionRule,
    CodepipelineStageOnSuccessConditionRuleRuleTypeId,
    CodepipelineTrigger,
    CodepipelineTriggerGitConfiguration,
    CodepipelineTriggerGitConfigurationPush,
    CodepipelineTriggerGitConfigurationPushBranches,
    CodepipelineTriggerGitConfigurationPushFilePaths,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from environments import EnvironmentConfig
from modules import iam
from modules.base_stack import BaseStack
from modules.build_project import BuildProject
from modules.core import CoreOutputs
from modules.iam import Statement, service_role
from modules.literal import literal, literal_json
from topology import naming, projects
from topology.projects import SOURCE_OUTPUT

SOURCE_VARIABLES = "SourceVariables"
# CodePipeline resolves this in action configuration at run time; the
# deployment records are keyed by it.
EXECUTION_ID_VARIABLE = "#{codepipeline.PipelineExecutionId}"
# How long a deploy stage waits at its incident gate for the target's health
# alarm to leave ALARM before the stage fails.
INCIDENT_WAIT_MINUTES = 30


@dataclass(frozen=True)
class PipelineOutputs:
    """What the monitoring stack receives from the pipeline stack.

    Plain values built from names, not references: they are known at plan
    time (a reviewer of monitoring's plan sees the real ARN), and monitoring
    can be planned and applied without reading pipeline state. The app makes
    monitoring depend on pipeline explicitly, so deploy order is unchanged.
    """

    pipeline_name: str
    pipeline_arn: str


class PipelineStack(BaseStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs):
        super().__init__(scope, "pipeline", config)
        self.core = core
        self.connection = CodeconnectionsConnection(
            self,
            "github_connection",
            name=self.names.github_connection,
            # Created PENDING: an administrator completes the GitHub handshake
            # once in the console (docs/operations.md, "Completing the GitHub connection").
            provider_type="GitHub",
        )
        units = {row.name: BuildProject(self, row, core) for row in projects.all_projects()}
        self.projects: dict[str, CodebuildProject] = {name: unit.project for name, unit in units.items()}
        self.project_roles: dict[str, IamRole] = {name: unit.role for name, unit in units.items()}
        self.pipeline_role = self._pipeline_role()
        self.pipeline = self._pipeline()

        self.outputs = PipelineOutputs(pipeline_name=self.names.pipeline, pipeline_arn=self._pipeline_arn)
        TerraformOutput(self, "pipeline_name", value=self.pipeline.name)
        TerraformOutput(self, "pipeline_arn", value=self.pipeline.arn)
        TerraformOutput(self, "pipeline_role_arn", value=self.pipeline_role.arn)
        TerraformOutput(self, "github_connection_arn", value=self.connection.arn)
        TerraformOutput(self, "codebuild_project_names", value={name: p.name for name, p in self.projects.items()})
        TerraformOutput(self, "codebuild_role_arns", value={name: r.arn for name, r in self.project_roles.items()})

    # --- ARNs built from names (known at plan time, no cycles) -------------
    @property
    def _pipeline_arn(self) -> str:
        return self.arn("codepipeline", self.names.pipeline)

    def _pipeline_role(self) -> IamRole:
        core = self.core
        return service_role(
            self,
            "pipeline_role",
            name=self.names.role("pipeline"),
            service="codepipeline.amazonaws.com",
            account_id=self.config.account_id,
            permissions_boundary=self.config.iam_permissions_boundary_arn,
            source_arn=self._pipeline_arn,
            description=f"Runs CodePipeline {self.names.pipeline}",
            statements=[
                Statement(
                    sid="ReadWriteArtifacts",
                    actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    resources=[f"{core.artifacts_bucket_arn}/*"],
                ),
                Statement(
                    sid="LocateArtifactsBucket",
                    actions=["s3:GetBucketLocation", "s3:GetBucketVersioning"],
                    resources=[core.artifacts_bucket_arn],
                ),
                iam.use_key(core.kms_key_arn),
                Statement(
                    sid="UseGitHubConnection",
                    # Both prefixes: CodeConnections was CodeStar Connections,
                    # and AWS still checks either name for the same connection.
                    actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                    resources=[self.connection.arn],
                ),
                Statement(
                    sid="RunOwnBuilds",
                    actions=["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                    resources=[
                        self.arn("codebuild", f"project/{self.names.codebuild_project(p)}") for p in projects.names()
                    ],
                ),
                Statement(
                    sid="WatchHealthAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[
                        self.arn("cloudwatch", f"alarm:{alarm}")
                        # Every target's health alarm (the incident gates), and the probe's silence (the bakes).
                        for alarm in (
                            *(self.names.health_alarm(target) for target in naming.DEPLOY_STAGES),
                            self.names.health_probe_silent_alarm,
                        )
                    ],
                ),
            ],
        )

    def _build_action(
        self, row: projects.Project, *, name: str | None = None, variables: dict[str, str] | None = None
    ) -> CodepipelineStageAction:
        """The stage action that runs `row`'s project (named `name`, for the
        gate project's Checkpoints), with `variables` before the execution ID
        where the row records it."""
        passed = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in (variables or {}).items()]
        if row.records_execution:
            passed.append({"name": "PIPELINE_EXECUTION_ID", "value": EXECUTION_ID_VARIABLE, "type": "PLAINTEXT"})
        configuration = {"ProjectName": self.projects[row.name].name}
        if passed:
            configuration["EnvironmentVariables"] = literal_json(passed)
        return _aws_action(
            name or row.action,
            "Build",
            "CodeBuild",
            run_order=row.order,
            input_artifacts=[row.input_artifact],
            output_artifacts=[row.output_artifact] if row.output_artifact else None,
            configuration=configuration,
        )

    def _pipeline(self) -> Codepipeline:
        config, names, core = self.config, self.names, self.core
        stages = [
            self._source_stage(),
            CodepipelineStage(
                name=naming.BUILD_STAGE,
                action=[self._build_action(row) for row in projects.in_stage(naming.BUILD_STAGE)],
                on_failure=_retry(naming.BUILD_STAGE),
            ),
            *(stage for target in naming.DEPLOY_STAGES for stage in self._target_stages(target)),
        ]
        return Codepipeline(
            self,
            "pipeline",
            name=names.pipeline,
            role_arn=self.pipeline_role.arn,
            pipeline_type="V2",
            # QUEUED: a newer commit waits behind a release being approved or
            # deployed instead of superseding it.
            execution_mode="QUEUED",
            artifact_store=[
                CodepipelineArtifactStore(
                    location=core.artifacts_bucket_name,
                    type="S3",
                    encryption_key=CodepipelineArtifactStoreEncryptionKey(id=core.kms_key_arn, type="KMS"),
                )
            ],
            trigger=[
                CodepipelineTrigger(
                    provider_type="CodeStarSourceConnection",
                    git_configuration=CodepipelineTriggerGitConfiguration(
                        source_action_name=naming.SOURCE_ACTION, push=[self._push_filter(config.github)]
                    ),
                )
            ],
            stage=stages,
        )

    def _source_stage(self) -> CodepipelineStage:
        github = self.config.github
        return CodepipelineStage(
            name=naming.SOURCE_STAGE,
            action=[
                _aws_action(
                    naming.SOURCE_ACTION,
                    "Source",
                    "CodeStarSourceConnection",
                    namespace=SOURCE_VARIABLES,
                    output_artifacts=[SOURCE_OUTPUT],
                    configuration={
                        "ConnectionArn": self.connection.arn,
                        "FullRepositoryId": f"{github.owner}/{github.repo}",
                        "BranchName": github.branch,
                        "OutputArtifactFormat": "CODE_ZIP",
                    },
                )
            ],
        )

    def _target_stages(self, target: str) -> list[CodepipelineStage]:
        """A target's stages: production's approval, its change window, the
        incident gate, then the deploy stage (topology/naming.pipeline_stages)."""
        stages = []
        if target == "production" and self.config.approval_required:
            # The approval alone: a rejection or time-out fails this stage,
            # which has nothing to roll back (no on-failure result).
            stages.append(CodepipelineStage(name=naming.APPROVAL_STAGE, action=[self._approval_action()]))
        window = self.config.change_window
        if target == naming.WINDOW_TARGET and window.enabled:
            stages.append(
                self._gate_stage(
                    naming.WINDOW_STAGE,
                    naming.CHANGE_WINDOW_RULE,
                    "DeploymentWindow",
                    {"Cron": window.cron, "TimeZone": window.time_zone},
                )
            )
        stages.append(
            self._gate_stage(
                naming.INCIDENT_GATE_STAGES[target],
                naming.INCIDENT_GATE_RULE,
                "CloudWatchAlarm",
                {
                    "AlarmName": self.names.health_alarm(target),
                    "AlarmStates": "ALARM",
                    # An alarm already in ALARM is watched this long before the
                    # stage fails: a short blip clears, and meanwhile the
                    # condition is in progress, so `ops override` can let a
                    # hotfix (or a target's first deployment) through.
                    "WaitTime": str(INCIDENT_WAIT_MINUTES),
                },
            )
        )
        stages.append(self._deploy_stage(target, naming.DEPLOY_STAGES[target]))
        return stages

    def _deploy_stage(self, target: str, stage_name: str) -> CodepipelineStage:
        """The target's projects (deploy, then its tests), rolled back on
        failure, and baked where the target bakes. No entry condition: a
        rollback of this stage must reach the target during an incident and
        outside the window."""
        return CodepipelineStage(
            name=stage_name,
            action=[self._build_action(row) for row in projects.in_stage(stage_name)],
            on_failure=CodepipelineStageOnFailure(result="ROLLBACK"),
            on_success=self._bake(target) if target in naming.BAKE_TARGETS else None,
        )

    def _gate_stage(self, stage: str, rule: str, provider: str, configuration: dict) -> CodepipelineStage:
        """A stage whose entry condition holds one rule, and whose action only
        logs that the rule let the release in (a stage needs an action).
        A rule that does not hold fails the stage (result FAIL);
        `python -m ops override` is the audited way past it."""
        gate = projects.project(naming.GATE_PROJECT)
        return CodepipelineStage(
            name=stage,
            action=[self._build_action(gate, name=naming.GATE_ACTION, variables={"GATE_STAGE": stage})],
            before_entry=CodepipelineStageBeforeEntry(
                condition=CodepipelineStageBeforeEntryCondition(
                    result="FAIL",
                    rule=[
                        CodepipelineStageBeforeEntryConditionRule(
                            name=rule,
                            rule_type_id=CodepipelineStageBeforeEntryConditionRuleRuleTypeId(
                                category="Rule", owner="AWS", provider=provider, version="1"
                            ),
                            configuration=configuration,
                        )
                    ],
                )
            ),
        )

    def _approval_action(self) -> CodepipelineStageAction:
        github, names = self.config.github, self.names
        return _aws_action(
            naming.APPROVAL_ACTION,
            "Approval",
            "Manual",
            # No NotificationArn: the monitoring stack announces approvals, so
            # the pipeline never depends on it.
            configuration={
                "CustomData": literal(
                    f"Release commit #{{{SOURCE_VARIABLES}.CommitId}} of "
                    f"{github.owner}/{github.repo} to production ({names.pipeline})."
                )
            },
        )

    def _bake(self, target: str) -> CodepipelineStageOnSuccess:
        """Watch the target's health alarm for the bake time, and the probe's
        silence too (a health alarm with no data reads OK: without the probe's
        rounds a bake would pass blind; fail closed). Either in ALARM rolls the
        stage back."""
        watched = {
            "BakeWhileHealthy": self.names.health_alarm(target),
            "BakeOnlyWhileWatched": self.names.health_probe_silent_alarm,
        }
        return CodepipelineStageOnSuccess(
            condition=CodepipelineStageOnSuccessCondition(
                result="ROLLBACK",
                rule=[
                    CodepipelineStageOnSuccessConditionRule(
                        name=rule,
                        rule_type_id=CodepipelineStageOnSuccessConditionRuleRuleTypeId(
                            category="Rule", owner="AWS", provider="CloudWatchAlarm", version="1"
                        ),
                        configuration={
                            "AlarmName": alarm,
                            "AlarmStates": "ALARM",
                            "WaitTime": str(self.config.health_check_duration_minutes),
                        },
                    )
                    for rule, alarm in watched.items()
                ],
            )
        )

    @staticmethod
    def _push_filter(github) -> CodepipelineTriggerGitConfigurationPush:
        """Pushes to the branch start the pipeline, filtered by changed paths if configured."""
        paths = None
        if github.included_paths or github.excluded_paths:
            paths = CodepipelineTriggerGitConfigurationPushFilePaths(
                includes=list(github.included_paths) or None,
                excludes=list(github.excluded_paths) or None,
            )
        return CodepipelineTriggerGitConfigurationPush(
            branches=CodepipelineTriggerGitConfigurationPushBranches(includes=[github.branch]),
            file_paths=paths,
        )


def _aws_action(name: str, category: str, provider: str, *, run_order: int = 1, **settings) -> CodepipelineStageAction:
    """A stage action of one of AWS's own action types (version 1 of each)."""
    return CodepipelineStageAction(
        name=name, category=category, owner="AWS", provider=provider, version="1", run_order=run_order, **settings
    )


def _retry(stage: str) -> CodepipelineStageOnFailure | None:
    """Retry the stage's failed actions once (CodePipeline allows one automatic
    retry) where the stage has nothing to roll back: a flaky build or
    dependency download heals itself. Deploy stages roll back instead (a stage
    has one on-failure result), so their test actions do not retry."""
    if stage not in naming.RETRY_STAGES:
        return None
    return CodepipelineStageOnFailure(
        result="RETRY", retry_configuration=CodepipelineStageOnFailureRetryConfiguration(retry_mode="FAILED_ACTIONS")
    )
