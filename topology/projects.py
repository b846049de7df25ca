"""The pipeline's CodeBuild projects: one row each, read by the pipeline stack
(projects, roles, report groups, stage actions), the naming helper, ops and
the tests. Adding a project is one row here plus its buildspec.

Pure data: no cdktf, no boto3, nothing else of this repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# The test-result attributes the projects write and the stages and deploy
# actions they run in: their home is the contract, which the Lambda zips
# carry (leaf modules; tests/test_architecture.py).
from functions.shared.contract.records import E2E_TESTS, INTEGRATION_TESTS, UNIT_TESTS
from functions.shared.contract.stages import BUILD_STAGE, DEPLOY_ACTIONS, DEPLOY_STAGES

# The pipeline's artifacts: the source the Source stage fetches, and what the
# Build stage hands to the deploy projects.
SOURCE_OUTPUT = "SourceOutput"
BUILD_OUTPUT = "BuildOutput"


class Kind(StrEnum):
    """What a project does, which decides its environment, permissions and
    description. An enum, not a string, so that a row whose name and kind are
    swapped is refused when the table is read (Project.__post_init__)."""

    BUILD = "build"
    TEST = "test"
    DEPLOY = "deploy"
    GATE = "gate"


class Command(StrEnum):
    """The application command a test project runs: each value is the name of
    an ApplicationCommands field (environments/config.py), the setting a team
    edits. topology may import nothing else of this repository, so the link
    is the field's name; tests/test_topology.py holds every member to a field
    of ApplicationCommands, and `of` is the only place the name is read."""

    INTEGRATION_TEST = "integration_test"
    E2E_TEST = "e2e_test"

    def of(self, commands: object) -> str:
        """The shell command `commands` (an ApplicationCommands) holds for this link."""
        return getattr(commands, self.value)


# Keyword-only: with nine fields of which six are strings, a positional row
# could swap two of them and still build; a keyword row says what each holds.
@dataclass(frozen=True, kw_only=True)
class Project:
    # The project's name: its CodeBuild project is `kiro-pipeline-{env}-{name}`,
    # and its Terraform construct IDs are made from it (so it never changes).
    name: str
    # What it does.
    kind: Kind
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
    # The application command a test project runs.
    command: Command | None = None
    # The deployment record attribute the project writes its result to (with records_execution).
    result_attribute: str | None = None

    def __post_init__(self) -> None:
        # A plain string where an enum belongs is a swapped or mistyped field:
        # refuse it here, where the row is written, not at synthesis.
        if not isinstance(self.kind, Kind):
            raise TypeError(f"project {self.name!r}: kind={self.kind!r} is not a projects.Kind (fields swapped?)")
        if self.command is not None and not isinstance(self.command, Command):
            raise TypeError(f"project {self.name!r}: command={self.command!r} is not a projects.Command")


PROJECTS: tuple[Project, ...] = (
    Project(
        name="build",
        kind=Kind.BUILD,
        stage=BUILD_STAGE,
        action="Build",
        order=1,
        input_artifact=SOURCE_OUTPUT,
        buildspec="build.yml",
        output_artifact=BUILD_OUTPUT,
        reports=(("tests", "TEST"), ("coverage", "CODE_COVERAGE")),
        records_execution=True,
        result_attribute=UNIT_TESTS,
    ),
    Project(
        name="integration-test",
        kind=Kind.TEST,
        stage=DEPLOY_STAGES["test"],
        action="IntegrationTest",
        order=2,
        input_artifact=SOURCE_OUTPUT,
        buildspec="test.yml",
        target="test",
        reports=(("tests", "TEST"),),
        records_execution=True,
        command=Command.INTEGRATION_TEST,
        result_attribute=INTEGRATION_TESTS,
    ),
    Project(
        name="e2e-test",
        kind=Kind.TEST,
        stage=DEPLOY_STAGES["staging"],
        action="EndToEndTest",
        order=2,
        input_artifact=SOURCE_OUTPUT,
        buildspec="test.yml",
        target="staging",
        reports=(("tests", "TEST"),),
        records_execution=True,
        command=Command.E2E_TEST,
        result_attribute=E2E_TESTS,
    ),
    Project(
        name="deploy-test",
        kind=Kind.DEPLOY,
        stage=DEPLOY_STAGES["test"],
        action=DEPLOY_ACTIONS[DEPLOY_STAGES["test"]],
        order=1,
        input_artifact=BUILD_OUTPUT,
        buildspec="deploy.yml",
        target="test",
        # Its execution ID: whose build record vouches for the bytes (or a rollback's target's).
        records_execution=True,
    ),
    Project(
        name="deploy-staging",
        kind=Kind.DEPLOY,
        stage=DEPLOY_STAGES["staging"],
        action=DEPLOY_ACTIONS[DEPLOY_STAGES["staging"]],
        order=1,
        input_artifact=BUILD_OUTPUT,
        buildspec="deploy.yml",
        target="staging",
        # Its execution ID: whose build record vouches for the bytes (or a rollback's target's).
        records_execution=True,
    ),
    Project(
        name="deploy-production",
        kind=Kind.DEPLOY,
        stage=DEPLOY_STAGES["production"],
        action=DEPLOY_ACTIONS[DEPLOY_STAGES["production"]],
        order=1,
        input_artifact=BUILD_OUTPUT,
        buildspec="deploy.yml",
        target="production",
        # Its execution ID: whose build record vouches for the bytes (or a rollback's target's).
        records_execution=True,
    ),
    # Every stage needs an action; a gate stage's is this project's
    # Checkpoint, which only logs that its entry condition let the release in.
    Project(
        name="gate",
        kind=Kind.GATE,
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


def project(name: str) -> Project:
    for row in all_projects():
        if row.name == name:
            return row
    raise ValueError(f"unknown CodeBuild project {name!r}: expected one of {', '.join(names())}")


# Where each project's buildspec file lives (the `buildspec` column names it).
BUILDSPECS = Path(__file__).resolve().parent.parent / "buildspecs"


def buildspec_file(name: str) -> Path:
    return BUILDSPECS / project(name).buildspec


def names() -> tuple[str, ...]:
    return tuple(row.name for row in all_projects())


def in_stage(stage: str) -> list[Project]:
    return sorted((row for row in all_projects() if row.stage == stage), key=lambda row: row.order)
