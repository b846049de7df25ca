"""Typed, frozen configuration for one kiro-pipeline environment.

An `EnvironmentConfig` is validated when it is built: every problem is
collected and reported together in one `ConfigError`, each line naming the
field and what to do about it. Nothing here imports cdktf or boto3.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field

from modules.naming import ResourceNames, resource_name

ENVIRONMENT_NAMES = ("test", "staging", "production")
# Route 53 publishes health-check metrics only here (see modules/monitoring.py).
HEALTH_CHECK_REGION = "us-east-1"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# GitHub: owners are 1-39 alphanumerics or single hyphens; repos add . and _.
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_GIT_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}(?<!/)$")
_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,64}$")
_HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")
_PATH_GLOB = re.compile(r"^[^\s]{1,255}$")
# CodeBuild's Linux container compute types.
COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)
_BUCKET_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DYNAMODB_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


class ConfigError(ValueError):
    """Every problem found in one environment's configuration, reported together."""

    def __init__(self, env: str, problems: typing.Sequence[str]):
        self.env = env
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"environment {env!r} has {len(self.problems)} configuration error(s):\n{lines}")


@dataclass(frozen=True)
class GitHubSource:
    """The repository whose pushes the pipeline deploys.

    `included_paths` / `excluded_paths` are glob filters on the files a push
    changes (CodePipeline V2 trigger): empty means every push to `branch`.
    """

    owner: str
    repo: str
    branch: str = "main"
    included_paths: tuple[str, ...] = ()
    excluded_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildSettings:
    """The CodeBuild environment of every project in the pipeline."""

    compute_type: str = "BUILD_GENERAL1_SMALL"
    image: str = "aws/codebuild/standard:7.0"
    timeout_minutes: int = 60
    # The security scanner the build stage installs (pinned, checksum-verified).
    trivy_version: str = "0.58.1"


@dataclass(frozen=True)
class ApplicationCommands:
    """Shell commands the buildspecs run in the application's repository.

    The unit tests must write JUnit XML under `reports/junit/` and coverage
    as `coverage/coverage-summary.json` (istanbul json-summary) and
    `coverage/cobertura-coverage.xml`; the buildspecs publish those to the
    CodeBuild report groups and enforce the coverage threshold.
    """

    install: str = "npm ci"
    build: str = "npm run build"
    unit_test: str = "npm test -- --coverage"
    integration_test: str = "npm run test:integration"
    e2e_test: str = "npm run test:e2e"
    deploy: str = "npm run deploy"


@dataclass(frozen=True)
class DeployTarget:
    """Where one deploy stage deploys to.

    The deploy project assumes `role_arn` (which may be in another account)
    instead of holding deploy permissions itself, and after deploying polls
    `health_check_url` for the health-check duration.
    """

    environment: str
    role_arn: str
    health_check_url: str


@dataclass(frozen=True)
class ArtifactLifecycle:
    """How long pipeline artifacts live in the artifacts bucket."""

    # S3 refuses a STANDARD_IA transition earlier than 30 days.
    transition_to_ia_days: int = 30
    expiration_days: int = 90
    noncurrent_version_expiration_days: int = 30
    abort_incomplete_multipart_upload_days: int = 7


@dataclass(frozen=True)
class StateBackend:
    """Where Terraform keeps this environment's state.

    `bucket` and `lock_table` default to names from the naming helper (the
    bucket name includes the account ID, so it is globally unique).
    `dynamodb_locking` keeps the DynamoDB lock table that this project's design
    asks for; `s3_native_locking` adds Terraform 1.10+'s lock file in the bucket
    (`use_lockfile`). HashiCorp deprecated DynamoDB locking in Terraform 1.11:
    once every operator runs 1.10 or newer, set `dynamodb_locking=False`.
    """

    bucket: str = ""
    lock_table: str = ""
    dynamodb_locking: bool = True
    s3_native_locking: bool = True


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between test, staging and production."""

    # Which environment: one of ENVIRONMENT_NAMES. Appears in every name.
    name: str
    # The AWS account that owns the environment; the provider refuses any other.
    account_id: str
    # The AWS region of every resource and of the state backend.
    region: str
    # The repository and branch that the pipeline builds.
    github: GitHubSource
    # Default address for the SNS topics' email subscriptions.
    notification_email: str
    # Whether a person must approve (ApproveProduction) before production deploys.
    approval_required: bool
    # How long a deployed stage is watched by its health alarms before it is trusted.
    health_check_duration_minutes: int
    # Period of the pipeline alarms' metrics, in minutes.
    polling_interval_minutes: int
    # Retention of every CloudWatch log group, in days (a CloudWatch-allowed value).
    log_retention_days: int = 90
    # When artifacts move to infrequent access and when they expire.
    artifact_lifecycle: ArtifactLifecycle = field(default_factory=ArtifactLifecycle)
    # Optional suffix for the artifacts bucket name, for global uniqueness.
    artifacts_bucket_suffix: str = ""
    # Minimum test coverage (percent) the build stage accepts.
    coverage_threshold_percent: int = 80
    # A pipeline execution longer than this raises the duration alarm.
    deployment_duration_threshold_minutes: int = 60
    # Deployment records expire (DynamoDB TTL) after this many days.
    deployment_record_ttl_days: int = 90
    # Refuse to delete the deployments table and KMS key by accident.
    deletion_protection: bool = False
    # Days a scheduled KMS key deletion waits (7-30); it can be cancelled meanwhile.
    kms_deletion_window_days: int = 30
    # Terraform state storage and locking for this environment.
    state_backend: StateBackend = field(default_factory=StateBackend)
    # The deploy role and health-check URL of each deploy stage (test, staging, production).
    deploy_targets: tuple[DeployTarget, ...] = ()
    # Compute type, image and timeout of the CodeBuild projects.
    build: BuildSettings = field(default_factory=BuildSettings)
    # The application's install, build, test and deploy commands.
    commands: ApplicationCommands = field(default_factory=ApplicationCommands)

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ConfigError(str(self.name), problems)

    # Derived values: computed, never stored, so they cannot disagree.
    @property
    def names(self) -> ResourceNames:
        return ResourceNames(self.name, self.account_id, self.artifacts_bucket_suffix)

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def state_bucket(self) -> str:
        return self.state_backend.bucket or self.names.state_bucket

    @property
    def state_lock_table(self) -> str:
        return self.state_backend.lock_table or self.names.state_lock_table

    def deploy_target(self, environment: str) -> DeployTarget:
        for target in self.deploy_targets:
            if target.environment == environment:
                return target
        raise KeyError(f"no deploy target {environment!r} in environment {self.name!r}")


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def standard_deploy_targets(account_id: str, health_check_url: str) -> tuple[DeployTarget, ...]:
    """One target per environment, each with the deployer role named by the
    naming helper in `account_id`; `health_check_url` may contain `{env}`."""
    return tuple(
        DeployTarget(
            environment=env,
            role_arn=f"arn:aws:iam::{account_id}:role/{resource_name(env, 'deployer')}",
            health_check_url=health_check_url.format(env=env),
        )
        for env in ENVIRONMENT_NAMES
    )


def _type_problems(obj: object, prefix: str) -> list[str]:
    """Field values whose Python type is wrong (a string where an int belongs, say)."""
    problems = []
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        expected = hints[f.name]
        value = getattr(obj, f.name)
        if expected is bool:
            ok = isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif expected is str:
            ok = isinstance(value, str)
        elif dataclasses.is_dataclass(expected):
            ok = isinstance(value, expected)
        elif typing.get_origin(expected) is tuple:
            item = typing.get_args(expected)[0]
            ok = isinstance(value, tuple) and all(isinstance(v, item) for v in value)
        else:  # pragma: no cover - every field above is one of these kinds
            ok = True
        if not ok:
            expected_name = getattr(expected, "__name__", str(expected))
            if typing.get_origin(expected) is tuple:
                expected_name = f"a tuple of {typing.get_args(expected)[0].__name__}"
            problems.append(f"{prefix}{f.name}: expected {expected_name}, got {type(value).__name__} {value!r}")
    return problems


def validate(config: EnvironmentConfig) -> list[str]:
    """Every problem with `config`, as `field: what is wrong; what to do` lines."""
    problems = _type_problems(config, "")
    for nested_name in ("github", "artifact_lifecycle", "state_backend", "build", "commands"):
        nested = getattr(config, nested_name)
        if dataclasses.is_dataclass(nested):
            problems += _type_problems(nested, f"{nested_name}.")
    if isinstance(config.deploy_targets, tuple):
        for index, target in enumerate(config.deploy_targets):
            if isinstance(target, DeployTarget):
                problems += _type_problems(target, f"deploy_targets[{index}].")
    if problems:
        # Value checks below assume the types are right.
        return problems

    def positive(name: str, value: int, unit: str) -> None:
        if value <= 0:
            problems.append(f"{name}: must be a positive number of {unit}, got {value}")

    if config.name not in ENVIRONMENT_NAMES:
        problems.append(f"name: unknown environment {config.name!r}; use one of {', '.join(ENVIRONMENT_NAMES)}")
    if not _ACCOUNT_ID.match(config.account_id):
        problems.append(
            f"account_id: {config.account_id!r} is not a 12-digit AWS account ID "
            "(see `aws sts get-caller-identity --query Account`)"
        )
    if not _REGION.match(config.region):
        problems.append(f"region: {config.region!r} is not an AWS region name such as 'us-east-1'")
    elif config.region != HEALTH_CHECK_REGION:
        problems.append(
            f"region: {config.region!r} is not supported yet: the health alarms watch Route 53 health checks, "
            f"whose metrics exist only in {HEALTH_CHECK_REGION}; deploy to {HEALTH_CHECK_REGION}"
        )
    if not _GITHUB_OWNER.match(config.github.owner):
        problems.append(f"github.owner: {config.github.owner!r} is not a GitHub user or organisation name")
    if not _GITHUB_REPO.match(config.github.repo):
        problems.append(f"github.repo: {config.github.repo!r} is not a GitHub repository name")
    if not _GIT_BRANCH.match(config.github.branch):
        problems.append(f"github.branch: {config.github.branch!r} is not a valid branch name")
    if not _EMAIL.match(config.notification_email):
        problems.append(f"notification_email: {config.notification_email!r} is not an email address")

    positive("health_check_duration_minutes", config.health_check_duration_minutes, "minutes")
    positive("polling_interval_minutes", config.polling_interval_minutes, "minutes")
    positive("deployment_duration_threshold_minutes", config.deployment_duration_threshold_minutes, "minutes")
    positive("deployment_record_ttl_days", config.deployment_record_ttl_days, "days")
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - config.log_retention_days))
        problems.append(
            f"log_retention_days: CloudWatch Logs does not accept {config.log_retention_days}; "
            f"use one of its values, such as {nearest}"
        )
    if not 0 <= config.coverage_threshold_percent <= 100:
        problems.append(
            f"coverage_threshold_percent: must be between 0 and 100, got {config.coverage_threshold_percent}"
        )
    if not 7 <= config.kms_deletion_window_days <= 30:
        problems.append(f"kms_deletion_window_days: KMS accepts 7 to 30 days, got {config.kms_deletion_window_days}")

    lifecycle = config.artifact_lifecycle
    if lifecycle.transition_to_ia_days < 30:
        problems.append(
            f"artifact_lifecycle.transition_to_ia_days: S3 requires at least 30 days before "
            f"STANDARD_IA, got {lifecycle.transition_to_ia_days}"
        )
    if lifecycle.expiration_days <= lifecycle.transition_to_ia_days:
        problems.append(
            f"artifact_lifecycle.expiration_days: must be later than transition_to_ia_days "
            f"({lifecycle.transition_to_ia_days}), got {lifecycle.expiration_days}"
        )
    positive("artifact_lifecycle.noncurrent_version_expiration_days", lifecycle.noncurrent_version_expiration_days, "days")
    positive(
        "artifact_lifecycle.abort_incomplete_multipart_upload_days",
        lifecycle.abort_incomplete_multipart_upload_days,
        "days",
    )

    if config.artifacts_bucket_suffix and not _BUCKET_SUFFIX.match(config.artifacts_bucket_suffix):
        problems.append(
            f"artifacts_bucket_suffix: {config.artifacts_bucket_suffix!r} may hold only lowercase "
            "letters, digits and inner hyphens"
        )
    elif max(len(config.names.artifacts_bucket), len(config.names.access_logs_bucket)) > 63:
        problems.append(
            f"artifacts_bucket_suffix: makes the bucket name {config.names.access_logs_bucket!r} longer than "
            "S3's 63 characters; shorten it"
        )

    for kind, patterns in (("included_paths", config.github.included_paths), ("excluded_paths", config.github.excluded_paths)):
        for pattern in patterns:
            if not _PATH_GLOB.match(pattern):
                problems.append(f"github.{kind}: {pattern!r} is not a file-path glob (no spaces, at most 255 characters)")

    if config.build.compute_type not in COMPUTE_TYPES:
        problems.append(f"build.compute_type: {config.build.compute_type!r} is not one of {', '.join(COMPUTE_TYPES)}")
    if not config.build.image.strip():
        problems.append("build.image: must name a CodeBuild image, such as 'aws/codebuild/standard:7.0'")
    if not re.match(r"^\d+\.\d+\.\d+$", config.build.trivy_version):
        problems.append(f"build.trivy_version: {config.build.trivy_version!r} is not a release version such as '0.58.1'")
    if not 5 <= config.build.timeout_minutes <= 2160:
        problems.append(f"build.timeout_minutes: CodeBuild accepts 5 to 2160 minutes, got {config.build.timeout_minutes}")
    for command in dataclasses.fields(config.commands):
        if not getattr(config.commands, command.name).strip():
            problems.append(f"commands.{command.name}: must be a shell command; use 'true' to skip the step")

    targets = [t.environment for t in config.deploy_targets]
    if sorted(targets) != sorted(ENVIRONMENT_NAMES):
        problems.append(
            f"deploy_targets: need exactly one target for each of {', '.join(ENVIRONMENT_NAMES)}, "
            f"got {', '.join(targets) or 'none'} (see standard_deploy_targets)"
        )
    for index, target in enumerate(config.deploy_targets):
        if not _ROLE_ARN.match(target.role_arn):
            problems.append(f"deploy_targets[{index}].role_arn: {target.role_arn!r} is not an IAM role ARN")
        if not _HTTPS_URL.match(target.health_check_url):
            problems.append(
                f"deploy_targets[{index}].health_check_url: {target.health_check_url!r} is not an https:// URL"
            )

    backend = config.state_backend
    if backend.bucket and not _S3_BUCKET.match(backend.bucket):
        problems.append(f"state_backend.bucket: {backend.bucket!r} is not a valid S3 bucket name")
    if backend.lock_table and not _DYNAMODB_TABLE.match(backend.lock_table):
        problems.append(f"state_backend.lock_table: {backend.lock_table!r} is not a valid DynamoDB table name")
    if not (backend.dynamodb_locking or backend.s3_native_locking):
        problems.append(
            "state_backend: both dynamodb_locking and s3_native_locking are off; "
            "keep at least one, or concurrent applies can corrupt state"
        )
    return problems
