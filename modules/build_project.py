"""A CodeBuild project made from one row of the topology table
(topology/projects.py), owning its parts as terraform-aws-modules units do:
its log group, its report groups, its role with a least-privilege inline
policy, and the project.

No state moves: its elements keep their stack-level logical IDs (modules/ids.py).
"""

from __future__ import annotations

import json

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
from functions.shared.contract import stages as contract_stages
from modules import iam
from modules.base_stack import BaseStack
from modules.core import CoreOutputs
from modules.iam import Statement, service_role
from modules.ids import keep_logical_id
from modules.literal import literal
from topology import projects
from topology.naming import METRICS_NAMESPACE
from topology.projects import Kind

# A pipeline execution ID ("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
# CodePipeline API reference) as an IAM StringLike pattern: the deployment
# records' keys, and no other kind of record's.
EXECUTION_ID_SHAPE = "????????-????-????-????-????????????"

BUILDSPECS = projects.BUILDSPECS
# The condition an override of a stage's bake names (OverrideStageCondition's
# conditionType; `ops override` writes it on its audit record).
BAKE_CONDITION = "ON_SUCCESS"


def provenance_contract() -> str:
    """The names the provenance blocks of buildspecs/build.yml and deploy.yml
    read (PROVENANCE_CONTRACT, JSON): the contract's, so the buildspecs
    name no record attribute, prefix or stage of their own."""
    return json.dumps(
        {
            "key": records.KEY,
            "build_prefix": records.BUILD_PREFIX,
            "digest_attr": records.ARTIFACT_DIGEST,
            "signature_attr": records.ARTIFACT_SIGNATURE,
            "signing_key_attr": records.SIGNING_KEY,
            "algorithm_attr": records.SIGNING_ALGORITHM,
            "sbom_attr": records.SBOM_LOCATION,
            "sbom_digest_attr": records.SBOM_DIGEST,
            "manifest_attr": records.MANIFEST_LOCATION,
            "build_attr": records.BUILD_ID,
            "commit_attr": records.COMMIT_ID,
            "execution_attr": records.PIPELINE_EXECUTION_ID,
            "built_at_attr": records.BUILT_AT,
            "succeeded_attr": records.SUCCEEDED_STAGES,
            "environment_attr": records.INDEX_PARTITION,
            "condition_attr": records.CONDITION_TYPE,
            "override_prefix": records.OVERRIDE_PREFIX,
            "staging_stage": contract_stages.DEPLOY_STAGES["staging"],
            "bake_condition": BAKE_CONDITION,
        },
        sort_keys=True,
    )


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
                # Provenance: the key it signs with, where the SBOM goes, the record's names.
                SIGNING_KEY_ARN=self.core.signing_key_arn,
                ARTIFACTS_BUCKET=self.core.artifacts_bucket_name,
                PROVENANCE_CONTRACT=literal(provenance_contract()),
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
                # Provenance: what it verifies the received bytes against, and whom it pages.
                PIPELINE_NAME=self.names.pipeline,
                DEPLOYMENTS_TABLE=self.core.deployments_table_name,
                DEPLOYMENTS_INDEX=self.names.deployments_index,
                SIGNING_KEY_ARN=self.core.signing_key_arn,
                PAGE_TOPIC_ARN=self._deployments_topic_arn,
                # The stage it runs in: whether its execution is a rollback, GetPipelineState says.
                DEPLOY_STAGE=contract_stages.DEPLOY_STAGES[row.target],
                # Production deploys only bytes that passed staging.
                REQUIRE_STAGING="true" if row.target == "production" else "false",
                PROVENANCE_CONTRACT=literal(provenance_contract()),
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
            # Its result (and the build's digest) on its execution's own
            # deployment record, and nothing else: keys shaped as execution
            # IDs only (never a build#, override#, rollback# ... record), and
            # only these attributes ("dynamodb:Attributes" limits "the
            # attributes that a user can access", with the primary key among
            # them, same knowledge-center page as LeadingKeys). Code run by the
            # build or the tests can therefore not forge succeededStages, an
            # override record or a build record. That StringLike's `?` matches
            # one character of a key is assumed, as for the prefix above.
            written = [records.KEY, row.result_attribute]
            if row.kind == Kind.BUILD:
                written.append(records.ARTIFACT_DIGEST)
            statements.append(
                Statement(
                    sid="RecordTestResult",
                    actions=["dynamodb:UpdateItem"],
                    resources=[core.deployments_table_arn],
                    conditions={
                        ("ForAllValues:StringLike", "dynamodb:LeadingKeys"): [EXECUTION_ID_SHAPE],
                        ("ForAllValues:StringEquals", "dynamodb:Attributes"): written,
                        # ForAllValues holds for a request without the key: require it.
                        ("Null", "dynamodb:Attributes"): ["false"],
                    },
                )
            )
        if row.kind == Kind.BUILD:
            statements += self._signing_statements()
        if row.kind == Kind.DEPLOY:
            target = self.config.deploy_target(row.target)
            statements.append(
                Statement(sid="AssumeTargetDeployRole", actions=["sts:AssumeRole"], resources=[target.role_arn])
            )
            statements += self._verifying_statements(row)
        return statements

    @property
    def _deployments_topic_arn(self) -> str:
        # Built from its name: the topic is the monitoring stack's, which depends on this one.
        return self.stack.arn("sns", self.names.topic("deployments"))

    def _signing_statements(self) -> list[Statement]:
        """The build signs its artifact's digest and records it once: kms:Sign
        on the signing key (whose policy denies it to every other principal,
        modules/core.py), a PutItem that may only create build records
        ("dynamodb:LeadingKeys: Allows a user to access items that have a
        specific partition key value",
        https://repost.aws/knowledge-center/dynamodb-table-restrict-attributes;
        that StringLike matches it by prefix is assumed),
        and GetItem to read its own record back when a retried build finds
        one. The SBOM and manifest go to the artifacts bucket under
        WriteBuildOutput's s3:PutObject."""
        core = self.core
        return [
            Statement(sid="SignArtifactDigests", actions=["kms:Sign"], resources=[core.signing_key_arn]),
            Statement(
                sid="RecordBuildProvenance",
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[core.deployments_table_arn],
                conditions={("ForAllValues:StringLike", "dynamodb:LeadingKeys"): [f"{records.BUILD_PREFIX}*"]},
            ),
        ]

    def _verifying_statements(self, row: projects.Project) -> list[Statement]:
        """A deploy project verifies what it received: kms:Verify (never
        kms:Sign), the build record and the deployment record (GetItem), the
        override audit records (Query on the index, production only), its own
        execution (GetPipelineExecution: a rollback's target), and a page to
        the deployments topic."""
        core, names = self.core, self.names
        statements = [
            Statement(sid="VerifyArtifactSignatures", actions=["kms:Verify"], resources=[core.signing_key_arn]),
            Statement(
                sid="ReadProvenanceRecords", actions=["dynamodb:GetItem"], resources=[core.deployments_table_arn]
            ),
            Statement(
                sid="ReadOwnExecution",
                # GetPipelineState: whether the execution in its stage is a rollback.
                actions=["codepipeline:GetPipelineExecution", "codepipeline:GetPipelineState"],
                resources=[self.stack.arn("codepipeline", names.pipeline)],
            ),
            Statement(sid="PageDeployments", actions=["sns:Publish"], resources=[self._deployments_topic_arn]),
        ]
        if row.target == "production":
            statements.append(
                Statement(
                    sid="ReadOverrideRecords",
                    actions=["dynamodb:Query"],
                    resources=[f"{core.deployments_table_arn}/index/{names.deployments_index}"],
                )
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
