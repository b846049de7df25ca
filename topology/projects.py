"""The pipeline's CodeBuild projects: one row each, read by the pipeline stack
(projects, roles, report groups, stage actions), the naming helper, ops and
the tests. Adding a project is one row here plus its buildspec.

Pure data: no cdktf, no boto3, nothing else of this repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The pipeline's artifacts: the source the Source stage fetches, and what the
# Build stage hands to the deploy projects.
SOURCE_OUTPUT = "SourceOutput"
BUILD_OUTPUT = "BuildOutput"

# What a project does, which decides its environment, permissions and description.
BUILD, TEST, DEPLOY, GATE = "build", "test", "deploy", "gate"


@dataclass(frozen=True)
class Project:
    # The project's kind: its name is `kiro-pipeline-{env}-{kind}`.
    kind: str
    # BUILD, TEST, DEPLOY or GATE.
    role: str
    # The pipeline stage whose action runs it (None for the gate project,
    # whose actions the pipeline stack puts in every gate stage).
    stage: str | None
    # The name of that action (the runbook names some of them).
    action: str | None
    # Its run order within the stage, before a manual approval is put first.
    order: int
    # The artifact it reads.
    input_artifact: str
    # The buildspec in buildspecs/.
    buildspec: str
    # The deploy target it works on (test, staging, production), if any.
    target: str | None = None
    # The artifact it writes, if any.
    output_artifact: str | None = None
    # The reports its buildspec publishes: (report, CodeBuild report type).
    reports: tuple[tuple[str, str], ...] = ()
    # Whether the action passes the pipeline execution ID (for the deployment record).
    records_execution: bool = False
    # The ApplicationCommands field a test project runs.
    command: str | None = None
    # The deployment record attribute a test project writes its result to.
    result_attribute: str | None = None


PROJECTS: tuple[Project, ...] = (
    Project(
        "build",
        BUILD,
        "Build",
        "Build",
        1,
        SOURCE_OUTPUT,
        "build.yml",
        output_artifact=BUILD_OUTPUT,
        reports=(("tests", "TEST"), ("coverage", "CODE_COVERAGE")),
        records_execution=True,
    ),
    Project(
        "integration-test",
        TEST,
        "TestEnv",
        "IntegrationTest",
        2,
        SOURCE_OUTPUT,
        "test.yml",
        target="test",
        reports=(("tests", "TEST"),),
        records_execution=True,
        command="integration_test",
        result_attribute="integrationTests",
    ),
    Project(
        "e2e-test",
        TEST,
        "StagingEnv",
        "EndToEndTest",
        2,
        SOURCE_OUTPUT,
        "test.yml",
        target="staging",
        reports=(("tests", "TEST"),),
        records_execution=True,
        command="e2e_test",
        result_attribute="e2eTests",
    ),
    Project("deploy-test", DEPLOY, "TestEnv", "DeployTest", 1, BUILD_OUTPUT, "deploy.yml", target="test"),
    Project("deploy-staging", DEPLOY, "StagingEnv", "DeployStaging", 1, BUILD_OUTPUT, "deploy.yml", target="staging"),
    Project(
        "deploy-production",
        DEPLOY,
        "ProductionDeploy",
        "DeployProduction",
        1,
        BUILD_OUTPUT,
        "deploy.yml",
        target="production",
    ),
    # Every stage needs an action; a gate stage's is this project's
    # Checkpoint, which only logs that its entry condition let the release in.
    Project(
        kind="gate",
        role=GATE,
        stage=None,
        action=None,
        order=1,
        input_artifact=SOURCE_OUTPUT,
        buildspec="gate.yml",
        records_execution=True,
    ),
)


def all_projects() -> tuple[Project, ...]:
    """Read at call time, so a test can add a row to a scratch copy."""
    return PROJECTS


def project(kind: str) -> Project:
    for row in all_projects():
        if row.kind == kind:
            return row
    raise ValueError(f"unknown CodeBuild project {kind!r}: expected one of {', '.join(kinds())}")


# Where each project's buildspec file lives (the `buildspec` column names it).
BUILDSPECS = Path(__file__).resolve().parent.parent / "buildspecs"


def buildspec_file(kind: str) -> Path:
    return BUILDSPECS / project(kind).buildspec


def kinds() -> tuple[str, ...]:
    return tuple(row.kind for row in all_projects())


def in_stage(stage: str) -> list[Project]:
    return sorted((row for row in all_projects() if row.stage == stage), key=lambda row: row.order)
