"""The schema a team edits: the frozen dataclasses of one environment's
configuration (`environments/<env>.py` builds one `EnvironmentConfig`), and
`standard_deploy_targets`, the factory of its deploy targets.

Each field's comment is its documentation: `python -m tools.config_reference`
renders docs/configuration-reference.md from these comments. An
`EnvironmentConfig` is validated when it is built (`validation.py`): every
problem is collected and reported together in one `ConfigError`, each line
naming the field and what to do about it. Nothing here imports cdktf or boto3.

Teams import these names from `environments.config`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from environments.rules import CDK_BOOTSTRAP_ROLES, partition_of
from environments.validation import ConfigError, validate
from topology.environments import ENVIRONMENT_NAMES
from topology.naming import ResourceNames


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
    # Whether production releases of this pipeline wait out the one-off
    # freezes of its change calendar (`python -m ops freeze`): on, the stacks
    # add the calendar and the freeze gate function (monitoring-{env}). Off by
    # default; production turns it on.
    respect_freezes: bool = False
    # Whether each Lambda function gets its own reserved concurrency (13 per
    # environment, 14 with respect_freezes; topology/functions.py lists them). Off by default: a
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
