"""A CodeBuild project made from one row of the topology table
(topology/projects.py), owning its parts as terraform-aws-modules units do:
its log group, its report groups, its role with a least-privilege inline
policy, and the project.

No state moves: its elements keep their stack-level logical IDs (modules/ids.py).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.codebuild_project import (
    CodebuildProject,
    CodebuildProjectArtifacts,
    CodebuildProjectCache,
    CodebuildProjectEnvironment,
    CodebuildProjectEnvironmentEnvironmentVariable,
    CodebuildProjectLogsConfig,
    CodebuildProjectLogsConfigCloudwatchLogs,
    CodebuildProjectLogsConfigS3Logs,
    CodebuildProjectSource,
)
from cdktf_cdktf_provider_aws.codebuild_report_group import (
    CodebuildReportGroup,
    CodebuildReportGroupExportConfig,
    CodebuildReportGroupExportConfigS3Destination,
)
from constructs import Construct

from functions.shared.contract import metrics as published
from functions.shared.contract import records
from modules import iam
from modules.base_stack import BaseStack
from modules.core import CoreOutputs
from modules.iam import Statement, service_role
from modules.ids import keep_logical_id
from modules.literal import literal
from topology import projects
from topology.naming import METRICS_NAMESPACE
from topology.projects import Kind

BUILDSPECS = projects.BUILDSPECS


class BuildProject(Construct):
    def __init__(self, stack: BaseStack, row: projects.Project, core: CoreOutputs):
        super().__init__(stack, f"{row.name.replace('-', '_')}_unit")
        self.stack, self.core = stack, core
        self.config, self.names = stack.config, stack.names
        self.project = self._project(row)

    def _project(self, row: projects.Project) -> CodebuildProject:
        config, names, core = self.config, self.names, self.core
        name = names.codebuild_project(row.name)
        construct = row.name.replace("-", "_")
        log_group = self.stack.log_group(
            f"{construct}_log_group", names.codebuild_log_group(row.name), core.kms_key_arn, scope=self
        )
        self._report_groups(row)
        self.role = service_role(
            self,
            f"{construct}_role",
            name=names.role(row.name),
            service="codebuild.amazonaws.com",
            account_id=config.account_id,
            permissions_boundary=config.iam_permissions_boundary_arn,
            source_arn=self.stack.arn("codebuild", f"project/{name}"),
            statements=self._project_statements(row),
            description=f"Runs CodeBuild project {name}",
        )
        return keep_logical_id(
            CodebuildProject(
                self,
                construct,
                name=name,
                description=_description(row),
                service_role=self.role.arn,
                encryption_key=core.kms_key_arn,
                build_timeout=config.build.timeout_minutes,
                queued_timeout=config.build.queued_timeout_minutes,
                source=CodebuildProjectSource(type="CODEPIPELINE", buildspec=literal(_buildspec(row))),
                artifacts=CodebuildProjectArtifacts(type="CODEPIPELINE"),
                cache=CodebuildProjectCache(type="S3", location=f"{core.artifacts_bucket_name}/codebuild-cache/{name}"),
                environment=CodebuildProjectEnvironment(
                    compute_type=config.build.compute_type,
                    image=config.build.image,
                    type="LINUX_CONTAINER",
                    image_pull_credentials_type="CODEBUILD",
                    privileged_mode=False,
                    environment_variable=[
                        CodebuildProjectEnvironmentEnvironmentVariable(name=k, value=v, type="PLAINTEXT")
                        for k, v in self._environment_variables(row).items()
                    ],
                ),
                logs_config=CodebuildProjectLogsConfig(
                    cloudwatch_logs=CodebuildProjectLogsConfigCloudwatchLogs(
                        group_name=log_group.name, status="ENABLED"
                    ),
                    s3_logs=CodebuildProjectLogsConfigS3Logs(status="DISABLED"),
                ),
            )
        )

    def _report_groups(self, row: projects.Project) -> None:
        """The groups the project's reports go to, created here (encrypted, and
        exported to the artifacts bucket) before CodeBuild would make its own."""
        names, core = self.names, self.core
        construct = row.name.replace("-", "_")
        for report, report_type in row.reports:
            keep_logical_id(
                CodebuildReportGroup(
                    self,
                    f"{construct}_{report}_report_group",
                    name=names.report_group(row.name, report),
                    type=report_type,
                    delete_reports=True,
                    export_config=CodebuildReportGroupExportConfig(
                        type="S3",
                        s3_destination=CodebuildReportGroupExportConfigS3Destination(
                            bucket=core.artifacts_bucket_name,
                            path=f"reports/{names.report_group(row.name, report)}",
                            encryption_key=core.kms_key_arn,
                            packaging="NONE",
                        ),
                    ),
                )
            )

    def _environment_variables(self, row: projects.Project) -> dict[str, str]:
        """Plain text from config goes through literal(): commands are shell,
        and a `${VAR}` in them is the shell's, not Terraform's. The table name
        is a reference to core's output and stays one."""
        config, commands = self.config, self.config.commands
        if row.kind == Kind.GATE:
            # It installs and runs nothing of the application: it only logs.
            return {"ENVIRONMENT": config.name}
        variables = {"ENVIRONMENT": config.name, "INSTALL_COMMAND": literal(commands.install)}
        if row.kind == Kind.BUILD:
            variables.update(
                BUILD_COMMAND=literal(commands.build),
                UNIT_TEST_COMMAND=literal(commands.unit_test),
                COVERAGE_THRESHOLD=str(config.coverage_threshold_percent),
                # One home for the namespace: the coverage alarm reads it too.
                METRICS_NAMESPACE=METRICS_NAMESPACE,
                TRIVY_VERSION=literal(config.build.trivy_version),
                DEPLOYMENTS_TABLE=self.core.deployments_table_name,
                # The buildspec writes no contract name of its own: the metric's comes from here.
                COVERAGE_METRIC=published.TEST_COVERAGE.name,
            )
        elif row.kind == Kind.TEST:
            variables.update(
                TARGET_ENVIRONMENT=row.target,
                TEST_COMMAND=literal(row.command.of(commands)),
                DEPLOYMENTS_TABLE=self.core.deployments_table_name,
            )
        else:
            target = config.deploy_target(row.target)
            variables.update(
                TARGET_ENVIRONMENT=target.environment,
                DEPLOY_COMMAND=literal(commands.deploy),
                DEPLOY_ROLE_ARN=target.role_arn,
                HEALTH_CHECK_URL=literal(target.health_check_url),
                HEALTH_CHECK_DURATION=str(config.health_check_duration_minutes),
            )
        if row.records_execution and row.result_attribute:
            # The record's key and the attribute of its result, from the contract
            # (functions/shared/contract/records.py): the buildspecs name neither.
            variables.update(RECORD_ID_ATTRIBUTE=records.KEY, RESULT_ATTRIBUTE=row.result_attribute)
        return variables

    def _project_statements(self, row: projects.Project) -> list[Statement]:
        core, names = self.core, self.names
        name = names.codebuild_project(row.name)
        log_group = names.codebuild_log_group(row.name)
        statements = [
            iam.write_logs(self.stack.arn("logs", f"log-group:{log_group}")),
            Statement(
                sid="LocateArtifactsBucket",
                actions=["s3:GetBucketAcl", "s3:GetBucketLocation"],
                resources=[core.artifacts_bucket_arn],
            ),
            Statement(
                sid="ReadPipelineArtifacts",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[f"{core.artifacts_bucket_arn}/*"],
            ),
            Statement(
                sid="ReadWriteOwnCache",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[f"{core.artifacts_bucket_arn}/codebuild-cache/{name}/*"],
            ),
            iam.use_key(core.kms_key_arn),
        ]
        if row.output_artifact:
            statements.append(
                Statement(
                    sid="WriteBuildOutput",
                    # CodePipeline chooses the object keys of output artifacts.
                    actions=["s3:PutObject"],
                    resources=[f"{core.artifacts_bucket_arn}/*"],
                )
            )
        if row.kind == Kind.BUILD:
            statements.append(iam.put_metrics("PublishCoverageMetric", METRICS_NAMESPACE))
        if row.reports:
            reports = dict(row.reports)
            statements.append(
                Statement(
                    sid="PublishOwnReports",
                    actions=[
                        "codebuild:BatchPutCodeCoverages",
                        "codebuild:BatchPutTestCases",
                        "codebuild:CreateReport",
                        "codebuild:UpdateReport",
                    ],
                    resources=[
                        self.stack.arn("codebuild", f"report-group/{names.report_group(row.name, report)}")
                        for report in reports
                    ],
                )
            )
            statements.append(
                Statement(
                    sid="ExportOwnReports",
                    actions=["s3:PutObject"],
                    resources=[
                        f"{core.artifacts_bucket_arn}/reports/{names.report_group(row.name, report)}/*"
                        for report in reports
                    ],
                )
            )
            statements.append(
                Statement(
                    sid="RecordTestResult",
                    actions=["dynamodb:UpdateItem"],
                    resources=[core.deployments_table_arn],
                )
            )
        if row.kind == Kind.DEPLOY:
            target = self.config.deploy_target(row.target)
            statements.append(
                Statement(sid="AssumeTargetDeployRole", actions=["sts:AssumeRole"], resources=[target.role_arn])
            )
        return statements

    # --- CodePipeline ----------------------------------------------------


def _description(row: projects.Project) -> str:
    if row.kind == Kind.BUILD:
        return "Compile, unit tests with coverage gate, security scan"
    if row.kind == Kind.TEST:
        return f"Tests against the {row.target} environment"
    if row.kind == Kind.GATE:
        return "A gate stage's checkpoint: logs that the stage's entry condition let the release in"
    return f"Deploy to {row.target} with its deploy role, then health-check it"


def _buildspec(row: projects.Project) -> str:
    return (BUILDSPECS / row.buildspec).read_text()
