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

from functions.shared.urls import https_url_problem
from functions.shared.window import cron_problem, time_zone_problem
from topology.naming import ResourceNames

ENVIRONMENT_NAMES = ("test", "staging", "production")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# Every pattern matches the whole value (fullmatch) with ASCII classes only:
# `$` would accept a trailing newline, and `\d` would accept Unicode digits.
_ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)
_REGION = re.compile(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]",
    re.ASCII,
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+", re.ASCII)
# GitHub has no reference page for these; they are its forms' own messages
# (assumed the rule): a user or organisation name "may only contain
# alphanumeric characters or single hyphens, and cannot begin or end with a
# hyphen", at most 39 characters (so no dots); a repository name holds ASCII
# letters, digits, '.', '-' and '_' (at most 100), and is not '.' or '..'
# (git's own names for a folder and its parent).
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", re.ASCII)
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}", re.ASCII)
_PATH_GLOB = re.compile(r"[^\s]{1,255}", re.ASCII)
# CodeBuild's Linux container compute types.
COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)
_BUCKET_SUFFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.ASCII)
_DYNAMODB_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}", re.ASCII)
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)

# The roles `cdk bootstrap` creates (any qualifier, account and region).
CDK_BOOTSTRAP_ROLES = (
    "cdk-*-deploy-role-*",
    "cdk-*-file-publishing-role-*",
    "cdk-*-image-publishing-role-*",
    "cdk-*-lookup-role-*",
)
_ROLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9+=,.@_*-]{1,64}", re.ASCII)
# An IAM policy name with an optional path: path/to/Name.
_POLICY_PATH = re.compile(r"(?:[\x21-\x7E]{1,510}/)?[A-Za-z0-9+=,.@_-]{1,128}", re.ASCII)

# Bounds each consumer needs. CodeBuild: build timeout 5-2160 min, queued
# timeout 5-480 min. DynamoDB TTL: at most 5 years past the item's time is
# honoured (AWS: items with an expiry more than five years in the past are
# not deleted); we cap at ten years so a typo of millions of days is refused.
# CloudWatch: an alarm's period x evaluation periods must fit in one day.
# CodePipeline CloudWatchAlarm rule: WaitTime is in minutes (5 min to 1 day is
# what this project allows; a longer bake blocks the pipeline for days).
MAX_RECORD_TTL_DAYS = 3650
QUEUED_TIMEOUT_RANGE = (5, 480)
BUILD_TIMEOUT_RANGE = (5, 2160)
HEALTH_CHECK_DURATION_RANGE = (5, 1440)
POLLING_INTERVAL_RANGE = (1, 1440)
DEPLOYMENT_DURATION_RANGE = (1, 10080)


def is_region(name: str) -> bool:
    """Whether `name` has the form of an AWS region name (us-east-1, eu-central-2...)."""
    return _REGION.fullmatch(name) is not None


def github_owner_problem(text: str) -> str | None:
    """Why `text` is not a GitHub user or organisation name, or None. The
    rule of `github.owner`; `ops setup-parameters` checks its flag with it."""
    if not isinstance(text, str) or not _GITHUB_OWNER.fullmatch(text):
        return (
            f"{text!r} is not a GitHub user or organisation name (1-39 letters, digits or single inner "
            "hyphens; no dots, spaces or newlines)"
        )
    return None


def github_repo_problem(text: str) -> str | None:
    """Why `text` is not a GitHub repository name, or None (the rule of
    `github.repo`, shared with `ops setup-parameters`)."""
    if not isinstance(text, str) or not _GITHUB_REPO.fullmatch(text) or text in (".", ".."):
        return f"{text!r} is not a GitHub repository name (1-100 letters, digits, '.', '-' or '_', and not '.' or '..')"
    return None


def email_problem(text: str) -> str | None:
    """Why `text` is not an email address, or None (the rule of
    `notification_email`, shared with `ops subscribe` and `setup-parameters`)."""
    if not isinstance(text, str) or not _EMAIL.fullmatch(text):
        return f"{text!r} is not an email address such as devops@example.com"
    return None


def valid_bucket_name(name: str) -> str | None:
    """Why `name` is not a valid general-purpose S3 bucket name, or None.
    (AWS "Bucket naming rules".)"""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name, re.ASCII):
        return (
            "may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent dots"
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", name):
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by S3)"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by S3)"
    return None


def valid_branch_name(name: str) -> str | None:
    """Why `name` is not a branch name git accepts (`git check-ref-format
    --branch`), or None."""
    if not name or len(name) > 255:
        return "must be 1 to 255 characters long"
    if name == "@" or name.startswith("-"):
        return "must not be '@' or start with '-'"
    if any(ord(c) < 0x20 or c == "\x7f" or c in " ~^:?*[\\" for c in name):
        return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
    if not name.isascii():
        return "must be ASCII (CodePipeline trigger filters match ASCII branch names)"
    if ".." in name or "@{" in name or "//" in name:
        return "must not contain '..', '@{' or '//'"
    if name.startswith("/") or name.endswith(("/", ".")) or name.endswith(".lock"):
        return "must not start with '/' or end with '/', '.' or '.lock'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "no path component may start with '.' or end with '.lock'"
    return None


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

    # The GitHub user or organisation that owns the repository.
    owner: str
    # The repository's name.
    repo: str
    # The branch whose pushes start the pipeline.
    branch: str = "main"
    # Globs of changed files that start the pipeline; empty: any file.
    included_paths: tuple[str, ...] = ()
    # Globs of changed files that do not start the pipeline by themselves.
    excluded_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildSettings:
    """The CodeBuild environment of every project in the pipeline."""

    # The CodeBuild compute type of every project.
    compute_type: str = "BUILD_GENERAL1_SMALL"
    # The CodeBuild image of every project.
    image: str = "aws/codebuild/standard:7.0"
    # How long one build may run before CodeBuild stops it (5-2160).
    timeout_minutes: int = 60
    # How long a build may wait for capacity before CodeBuild gives up (5-480).
    queued_timeout_minutes: int = 60
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

    # Installs the application's dependencies (every project runs it first).
    install: str = "npm ci"
    # Builds the application (the Build stage).
    build: str = "npm run build"
    # Runs the unit tests with coverage (the Build stage).
    unit_test: str = "npm test -- --coverage"
    # Runs the integration tests against the test target (TestEnv).
    integration_test: str = "npm run test:integration"
    # Runs the end-to-end tests against the staging target (StagingEnv).
    e2e_test: str = "npm run test:e2e"
    # Deploys the application with the target's deployer role (every deploy stage).
    deploy: str = "npm run deploy"


@dataclass(frozen=True)
class DeployTarget:
    """Where one deploy stage deploys to.

    The deploy project assumes `role_arn` (which may be in another account)
    instead of holding deploy permissions itself, and after deploying polls
    `health_check_url` for the health-check duration.
    """

    # The deploy stage this target belongs to: test, staging or production.
    environment: str
    # The role the stage's deploy project assumes to deploy (may be in another account).
    role_arn: str
    # An https URL that answers 2xx or 3xx while the target is healthy (the health probe checks it).
    health_check_url: str
    # Whether this target is the live production system. A pipeline may reach
    # a production target only through a manual approval (ApproveProduction).
    production: bool = False


@dataclass(frozen=True)
class ArtifactLifecycle:
    """How long pipeline artifacts live in the artifacts bucket."""

    # Days until artifacts move to STANDARD_IA (S3 refuses fewer than 30).
    transition_to_ia_days: int = 30
    # Days until artifacts are deleted (later than the transition).
    expiration_days: int = 90
    # Days an overwritten or deleted artifact version is kept.
    noncurrent_version_expiration_days: int = 30
    # Days until an unfinished multipart upload is cleaned up.
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

    # The state bucket; empty: `kiro-pipeline-{env}-tfstate-{account}`.
    bucket: str = ""
    # The DynamoDB lock table; empty: `kiro-pipeline-{env}-tfstate-lock`.
    lock_table: str = ""
    # Lock with the DynamoDB table (deprecated by HashiCorp in Terraform 1.11).
    dynamodb_locking: bool = True
    # Lock with a lock file in the bucket (Terraform 1.10+, `use_lockfile`).
    s3_native_locking: bool = True


@dataclass(frozen=True)
class ChangeWindow:
    """When the production deploy stage may be entered (its DeploymentWindow rule).

    Outside the window the stage is not entered; the break-glass is
    `python -m ops override`."""

    # Whether the production stage has a change window at all.
    enabled: bool = False
    # The times the stage may start, as CodePipeline's DeploymentWindow cron:
    # seconds minutes hours day-of-month month day-of-week [year]. The default
    # is every minute of 09:00-16:59, Monday to Thursday (no Friday releases).
    # This is stricter than AWS, because AWS's cron documentation contradicts
    # itself (seconds: '*' in its field table, '0' in its example, '0-59' in
    # the China-region copy; months: 1-12, or 0-11 in that copy): a cron is
    # accepted only in a form every reading allows, so no reading of the docs
    # makes it fail when the pipeline is updated. That is: single spaces
    # between fields; seconds '*'; '?' in exactly one of day-of-month and
    # day-of-week; numbers in range (minutes 0-59, hours 0-23, days 1-31,
    # months 1-12, weekdays 1-7 with SUN=1, years 1970-2199) or names in
    # capitals (JAN-DEC and SUN-SAT, which mean the same under every reading);
    # ',' '-' '*' '/' only, ranges ascending; no 'L', 'W' or '#'.
    cron: str = "* * 9-16 ? * MON-THU *"
    # The window's time zone: 'UTC', 'UTC+05:30' (a fixed offset from
    # UTC-12:00 to UTC+14:00), or an IANA name such as 'Europe/Berlin'
    # (daylight saving applies). The rule reference does not list the names it
    # takes; abbreviations are refused here, as ambiguous (CST is three zones).
    time_zone: str = "UTC"


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
    # Deployment records expire (DynamoDB TTL) after this many days. The
    # default keeps 13 months and a margin, the history DORA's yearly view needs.
    deployment_record_ttl_days: int = 400
    # Refuse to delete the deployments table and KMS key by accident.
    deletion_protection: bool = False
    # Days a scheduled KMS key deletion waits (7-30); it can be cancelled meanwhile.
    kms_deletion_window_days: int = 30
    # Terraform state storage and locking for this environment.
    state_backend: StateBackend = field(default_factory=StateBackend)
    # The deploy role and health-check URL of each deploy stage (test, staging, production).
    deploy_targets: tuple[DeployTarget, ...] = ()
    # Roles in each target's account that its deployer role may assume
    # (`python -m ops deployer-roles`): by default the CDK bootstrap roles,
    # since the application deploys as a CDK app. IAM role-name patterns.
    deployer_assumes: tuple[str, ...] = CDK_BOOTSTRAP_ROLES
    # The managed policy every role the stacks create carries as its
    # permissions boundary (an ARN in this account), made beforehand. With it,
    # `python -m ops ci-roles` lets the apply role create or change roles only
    # under this boundary. Empty: no boundary.
    iam_permissions_boundary_arn: str = ""
    # Compute type, image and timeout of the CodeBuild projects.
    build: BuildSettings = field(default_factory=BuildSettings)
    # The application's install, build, test and deploy commands.
    commands: ApplicationCommands = field(default_factory=ApplicationCommands)
    # When production deploys may start (off unless enabled; production enables it).
    change_window: ChangeWindow = field(default_factory=ChangeWindow)
    # Whether each Lambda function gets its own reserved concurrency (13 per
    # environment; topology/functions.py lists them). Off by default: a
    # reservation is taken from the account's concurrency limit, Lambda keeps
    # at least 100 unreserved, and a new account's limit can be as low as 10,
    # so reservations make `monitoring-{env}` fail to deploy there. Worth it in
    # a busy shared account, where other functions could take all the
    # concurrency and throttle the rollback function when it is needed;
    # `python -m ops preflight` then checks that the account can afford them.
    reserve_function_concurrency: bool = False

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
        # Validation refuses a region of no partition (or of any but aws).
        return partition_of(self.region) or "aws"

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


# Each partition's regions, by the prefix of their names: the partitions'
# `regionRegex` in the AWS SDKs' endpoint data (botocore's partitions.json;
# tests/test_config_values.py compares). "Every Region is in exactly one
# partition" (AWS Fault Isolation Boundaries, Partitions,
# https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


def partition_of(region: str) -> str | None:
    """The partition of a region name (`aws` for the commercial regions), or
    None for a name with a qualifier no partition has (`us-isoz-east-1`)."""
    for prefix, partition in PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    # A commercial region has no qualifier between its country and its direction.
    return None if re.match(r"[a-z]{2}-(?:gov|iso[a-z]?)-", region, re.ASCII) else "aws"


def standard_deploy_targets(env: str, account_id: str, health_check_url: str) -> tuple[DeployTarget, ...]:
    """The deploy targets of environment `env`'s pipeline: one per deploy stage
    (test, staging, production), each with its own deployer role
    `kiro-pipeline-{env}-{stage}-deployer` in `account_id`, and its own health
    URL: `health_check_url` may contain `{env}` and `{stage}`.

    Only the production environment's production stage is a production target;
    the test and staging environments' pipelines rehearse the whole flow on
    targets of their own and never touch production.
    """
    names = ResourceNames(env, account_id)
    return tuple(
        DeployTarget(
            environment=stage,
            # The commercial partition: targets are built before the region is
            # known, and IAM role ARNs carry no region.
            role_arn=f"arn:aws:iam::{account_id}:role/{names.deployer_role(stage)}",
            health_check_url=health_check_url.format(env=env, stage=stage),
            production=env == "production" and stage == "production",
        )
        for stage in ENVIRONMENT_NAMES
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
    """Every problem with `config`, as `field: what is wrong; what to do` lines.

    A field of the wrong type is reported, and only the checks that read it
    are skipped: every other problem is still found, so one run shows all.
    """
    checker = _Checker(config)
    for check in (
        checker.identity,
        checker.source,
        checker.bounds,
        checker.artifacts,
        checker.build,
        checker.targets,
        checker.state_backend,
        checker.change_window,
    ):
        check()
    return checker.problems


class _Checker:
    """The rules of `validate`, by topic; each adds to `problems`."""

    def __init__(self, config: EnvironmentConfig):
        self.config = config
        self.problems = _type_problems(config, "")
        for nested_name in ("github", "artifact_lifecycle", "state_backend", "build", "commands", "change_window"):
            nested = getattr(config, nested_name)
            if dataclasses.is_dataclass(nested):
                self.problems += _type_problems(nested, f"{nested_name}.")
        if isinstance(config.deploy_targets, tuple):
            for index, target in enumerate(config.deploy_targets):
                if isinstance(target, DeployTarget):
                    self.problems += _type_problems(target, f"deploy_targets[{index}].")
        self.mistyped = {p.split(":", 1)[0] for p in self.problems}

    def typed(self, *fields: str) -> bool:
        """Whether every field (and its parents) has the right type."""
        for path in fields:
            parts = path.split(".")
            if any(".".join(parts[: i + 1]) in self.mistyped for i in range(len(parts))):
                return False
        return True

    @staticmethod
    def fits(pattern: re.Pattern, value: str) -> bool:
        return pattern.fullmatch(value) is not None

    def bounded(self, name: str, value: int, low: int, high: int, unit: str, why: str = "") -> None:
        if self.typed(name) and not low <= value <= high:
            self.problems.append(f"{name}: must be {low} to {high} {unit}{why}, got {value}")

    def identity(self) -> None:
        config, problems, typed, fits = self.config, self.problems, self.typed, self.fits
        if typed("name") and config.name not in ENVIRONMENT_NAMES:
            problems.append(f"name: unknown environment {config.name!r}; use one of {', '.join(ENVIRONMENT_NAMES)}")
        if typed("account_id") and not fits(_ACCOUNT_ID, config.account_id):
            problems.append(
                f"account_id: {config.account_id!r} is not a 12-digit AWS account ID "
                "(see `aws sts get-caller-identity --query Account`)"
            )
        if typed("region") and not fits(_REGION, config.region):
            problems.append(f"region: {config.region!r} is not an AWS region name such as 'us-east-1'")
        elif typed("region") and partition_of(config.region) != "aws":
            # Not tested there: GitHub connections and the deploy targets' role
            # ARNs (standard_deploy_targets) assume the commercial partition.
            partition = partition_of(config.region)
            where = f"in the {partition} partition" if partition else "not in any partition AWS names"
            problems.append(
                f"region: {config.region!r} is {where}; kiro-pipeline supports the commercial regions "
                "(partition aws), such as us-east-1 or eu-west-1"
            )

    def source(self) -> None:
        config, problems, typed = self.config, self.problems, self.typed
        for name, rule in (("owner", github_owner_problem), ("repo", github_repo_problem)):
            why = rule(getattr(config.github, name)) if typed(f"github.{name}") else None
            if why:
                problems.append(f"github.{name}: {why}")
        if typed("github.branch"):
            why = valid_branch_name(config.github.branch)
            if why:
                problems.append(f"github.branch: {config.github.branch!r} is not a valid branch name: it {why}")
        why = email_problem(config.notification_email) if typed("notification_email") else None
        if why:
            problems.append(f"notification_email: {why}")

    def bounds(self) -> None:
        config, problems, typed, bounded = self.config, self.problems, self.typed, self.bounded
        bounded(
            "health_check_duration_minutes",
            config.health_check_duration_minutes,
            *HEALTH_CHECK_DURATION_RANGE,
            "minutes",
            " (the CodePipeline bake wait)",
        )
        bounded(
            "polling_interval_minutes",
            config.polling_interval_minutes,
            *POLLING_INTERVAL_RANGE,
            "minutes",
            " (an alarm period must fit in a day)",
        )
        bounded(
            "deployment_duration_threshold_minutes",
            config.deployment_duration_threshold_minutes,
            *DEPLOYMENT_DURATION_RANGE,
            "minutes",
        )
        bounded("deployment_record_ttl_days", config.deployment_record_ttl_days, 1, MAX_RECORD_TTL_DAYS, "days")
        if typed("log_retention_days") and config.log_retention_days not in LOG_RETENTION_DAYS:
            nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - config.log_retention_days))
            problems.append(
                f"log_retention_days: CloudWatch Logs does not accept {config.log_retention_days}; "
                f"use one of its values, such as {nearest}"
            )
        bounded("coverage_threshold_percent", config.coverage_threshold_percent, 0, 100, "percent")
        bounded("kms_deletion_window_days", config.kms_deletion_window_days, 7, 30, "days", " (what KMS accepts)")

    def artifacts(self) -> None:
        config, problems, typed, fits, bounded = self.config, self.problems, self.typed, self.fits, self.bounded
        lifecycle = config.artifact_lifecycle
        if typed("artifact_lifecycle.transition_to_ia_days"):
            if lifecycle.transition_to_ia_days < 30:
                problems.append(
                    f"artifact_lifecycle.transition_to_ia_days: S3 requires at least 30 days before "
                    f"STANDARD_IA, got {lifecycle.transition_to_ia_days}"
                )
            if (
                typed("artifact_lifecycle.expiration_days")
                and lifecycle.expiration_days <= lifecycle.transition_to_ia_days
            ):
                problems.append(
                    f"artifact_lifecycle.expiration_days: must be later than transition_to_ia_days "
                    f"({lifecycle.transition_to_ia_days}), got {lifecycle.expiration_days}"
                )
        for name in ("noncurrent_version_expiration_days", "abort_incomplete_multipart_upload_days"):
            bounded(f"artifact_lifecycle.{name}", getattr(lifecycle, name), 1, 3650, "days")

        if typed("artifacts_bucket_suffix", "name", "account_id"):
            if config.artifacts_bucket_suffix and not fits(_BUCKET_SUFFIX, config.artifacts_bucket_suffix):
                problems.append(
                    f"artifacts_bucket_suffix: {config.artifacts_bucket_suffix!r} may hold only lowercase "
                    "letters, digits and inner hyphens"
                )
            else:
                for bucket in (config.names.artifacts_bucket, config.names.access_logs_bucket):
                    why = valid_bucket_name(bucket)
                    if why:
                        problems.append(f"artifacts_bucket_suffix: makes the bucket name {bucket!r} invalid: it {why}")
                        break

        for kind in ("included_paths", "excluded_paths"):
            if typed(f"github.{kind}"):
                for pattern in getattr(config.github, kind):
                    if not fits(_PATH_GLOB, pattern):
                        problems.append(
                            f"github.{kind}: {pattern!r} is not a file-path glob (no spaces, at most 255 characters)"
                        )

    def build(self) -> None:
        config, problems, typed, fits, bounded = self.config, self.problems, self.typed, self.fits, self.bounded
        build = config.build
        if typed("build.compute_type") and build.compute_type not in COMPUTE_TYPES:
            problems.append(f"build.compute_type: {build.compute_type!r} is not one of {', '.join(COMPUTE_TYPES)}")
        if typed("build.image") and not build.image.strip():
            problems.append("build.image: must name a CodeBuild image, such as 'aws/codebuild/standard:7.0'")
        if typed("build.trivy_version") and not fits(_VERSION, build.trivy_version):
            problems.append(f"build.trivy_version: {build.trivy_version!r} is not a release version such as '0.58.1'")
        bounded(
            "build.timeout_minutes", build.timeout_minutes, *BUILD_TIMEOUT_RANGE, "minutes", " (what CodeBuild accepts)"
        )
        bounded(
            "build.queued_timeout_minutes",
            build.queued_timeout_minutes,
            *QUEUED_TIMEOUT_RANGE,
            "minutes",
            " (what CodeBuild accepts)",
        )
        if typed("commands"):
            for command in dataclasses.fields(config.commands):
                value = getattr(config.commands, command.name)
                if typed(f"commands.{command.name}") and not value.strip():
                    problems.append(f"commands.{command.name}: must be a shell command; use 'true' to skip the step")

    def targets(self) -> None:
        config, problems, typed, fits = self.config, self.problems, self.typed, self.fits
        if typed("deploy_targets"):
            problems += _target_problems(config, typed("approval_required"))
        if typed("deployer_assumes"):
            if not config.deployer_assumes:
                problems.append(
                    "deployer_assumes: name at least one role the deployer roles may assume "
                    "(default: the CDK bootstrap roles)"
                )
            for pattern in config.deployer_assumes:
                if not fits(_ROLE_NAME_PATTERN, pattern) or pattern.strip("*") == "":
                    problems.append(
                        f"deployer_assumes: {pattern!r} is not an IAM role-name pattern such as "
                        "'cdk-*-deploy-role-*' (and may not be all wildcards)"
                    )
        boundary = config.iam_permissions_boundary_arn
        if typed("iam_permissions_boundary_arn") and boundary:
            expected = f"arn:{config.partition}:iam::{config.account_id}:policy/"
            if not (boundary.startswith(expected) and fits(_POLICY_PATH, boundary[len(expected) :])):
                problems.append(
                    f"iam_permissions_boundary_arn: {boundary!r} is not a managed policy of this account; "
                    f"use {expected}NAME, or '' for no boundary"
                )
            elif "${" in boundary:
                # IAM allows '$' and '{' in a policy path, but `python -m ops
                # ci-roles` writes the ARN into a condition, where IAM reads
                # "a `$` prefix followed by a pair of curly braces" as a policy
                # variable (IAM policy elements: Variables and tags,
                # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
                problems.append(
                    f"iam_permissions_boundary_arn: {boundary!r} holds '${{', which IAM policies read as a policy "
                    "variable; move the boundary policy to a path without '${'"
                )

    def state_backend(self) -> None:
        config, problems, typed, fits = self.config, self.problems, self.typed, self.fits
        backend = config.state_backend
        if typed("state_backend.bucket") and backend.bucket:
            why = valid_bucket_name(backend.bucket)
            if why:
                problems.append(f"state_backend.bucket: {backend.bucket!r} is not a valid S3 bucket name: it {why}")
        if typed("state_backend.lock_table") and backend.lock_table and not fits(_DYNAMODB_TABLE, backend.lock_table):
            problems.append(f"state_backend.lock_table: {backend.lock_table!r} is not a valid DynamoDB table name")
        if typed("state_backend.dynamodb_locking", "state_backend.s3_native_locking") and not (
            backend.dynamodb_locking or backend.s3_native_locking
        ):
            problems.append(
                "state_backend: both dynamodb_locking and s3_native_locking are off; "
                "keep at least one, or concurrent applies can corrupt state"
            )

    def change_window(self) -> None:
        window, problems, typed = self.config.change_window, self.problems, self.typed
        # The rule functions/shared/window.py reads the window with (the
        # execution-age function), strictly: see ChangeWindow.cron.
        why = cron_problem(window.cron) if typed("change_window.cron") else None
        if why:
            problems.append(
                f"change_window.cron: {window.cron!r} is refused: {why.removeprefix('cron: ')}; "
                "for example '* * 9-16 ? * MON-THU *'"
            )
        why = time_zone_problem(window.time_zone) if typed("change_window.time_zone") else None
        if why:
            problems.append(f"change_window.time_zone: {why}")


def _target_problems(config: EnvironmentConfig, approval_known: bool) -> list[str]:
    problems = []
    targets = [t.environment for t in config.deploy_targets if isinstance(t, DeployTarget)]
    if sorted(targets) != sorted(ENVIRONMENT_NAMES):
        problems.append(
            f"deploy_targets: need exactly one target for each of {', '.join(ENVIRONMENT_NAMES)}, "
            f"got {', '.join(targets) or 'none'} (see standard_deploy_targets)"
        )
    for index, target in enumerate(config.deploy_targets):
        if not isinstance(target, DeployTarget) or _type_problems(target, ""):
            continue
        if not _ROLE_ARN.fullmatch(target.role_arn):
            problems.append(f"deploy_targets[{index}].role_arn: {target.role_arn!r} is not an IAM role ARN")
        # The health probe's own rule (functions/shared/urls.py): a URL it
        # would refuse at cold start is refused here, with its reason.
        why = https_url_problem(target.health_check_url)
        if why:
            problems.append(
                f"deploy_targets[{index}].health_check_url: {target.health_check_url!r} is not a URL the health "
                f"probe can check: it {why}"
            )
        # Only ProductionEnv has a manual approval before its deploy.
        if target.production and approval_known:
            if target.environment != "production":
                problems.append(
                    f"deploy_targets[{index}]: the production target is deployed by the {target.environment} stage, "
                    "which has no manual approval before it; only the production stage may deploy production"
                )
            elif not config.approval_required:
                problems.append(
                    "approval_required: this pipeline deploys a production target (deploy_targets"
                    f"[{index}]) and must require a manual approval before it; set approval_required=True"
                )
    return problems


def topology_problems(configs: typing.Sequence[EnvironmentConfig]) -> list[str]:
    """Problems between environments: no deploy role or health URL may be
    shared, or one environment's pipeline would deploy (or roll back) another's
    targets."""
    problems = []
    for attribute, what in (("role_arn", "deploy role"), ("health_check_url", "health URL")):
        owners: dict[str, list[str]] = {}
        for config in configs:
            for target in config.deploy_targets:
                owners.setdefault(getattr(target, attribute), []).append(f"{config.name}/{target.environment}")
        for value, users in sorted(owners.items()):
            if len(users) > 1:
                problems.append(
                    f"deploy_targets: the {what} {value!r} is shared by {', '.join(users)}; give each environment's "
                    "targets their own (standard_deploy_targets namespaces them by environment)"
                )
    return problems
