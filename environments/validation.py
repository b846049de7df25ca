"""Validation of an environment's configuration: the engine that applies the
AWS value rules (`rules.py`) to every field of an `EnvironmentConfig` and
collects every problem, and `topology_problems`, the checks between
environments.

A problem is one line, `field: what is wrong; what to do`. A field of the
wrong type is reported, and only the checks that read it are skipped, so one
run shows every problem. The engine reads the schema's types from its
annotations rather than importing `schema.py`, which imports it to validate
each configuration as it is built.
"""

from __future__ import annotations

import dataclasses
import re
import typing

# Not `from environments import rules`: that names the package, whose
# __init__ imports this module (a cycle in the architecture test's graph).
import environments.rules as rules
from topology.environments import ENVIRONMENT_NAMES

# An environments.schema.EnvironmentConfig: named, not imported (schema imports
# this module, and the import graph has no cycles).
Config = typing.Any


class ConfigError(ValueError):
    """Every problem found in one environment's configuration, reported together."""

    def __init__(self, env: str, problems: typing.Sequence[str]):
        self.env = env
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"environment {env!r} has {len(self.problems)} configuration error(s):\n{lines}")


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


def validate(config: Config) -> list[str]:
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

    def __init__(self, config: Config):
        self.config = config
        self.problems = _type_problems(config, "")
        for nested_name in ("github", "artifact_lifecycle", "state_backend", "build", "commands", "change_window"):
            nested = getattr(config, nested_name)
            if dataclasses.is_dataclass(nested):
                self.problems += _type_problems(nested, f"{nested_name}.")
        if isinstance(config.deploy_targets, tuple):
            for index, target in enumerate(config.deploy_targets):
                if isinstance(target, _target_type(config)):
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
        if typed("account_id") and not fits(rules.ACCOUNT_ID_PATTERN, config.account_id):
            problems.append(
                f"account_id: {config.account_id!r} is not a 12-digit AWS account ID "
                "(see `aws sts get-caller-identity --query Account`)"
            )
        if typed("region") and not fits(rules.REGION_PATTERN, config.region):
            problems.append(f"region: {config.region!r} is not an AWS region name such as 'us-east-1'")
        elif typed("region") and rules.partition_of(config.region) != "aws":
            # Not tested there: GitHub connections and the deploy targets' role
            # ARNs (standard_deploy_targets) assume the commercial partition.
            partition = rules.partition_of(config.region)
            where = f"in the {partition} partition" if partition else "not in any partition AWS names"
            problems.append(
                f"region: {config.region!r} is {where}; kiro-pipeline supports the commercial regions "
                "(partition aws), such as us-east-1 or eu-west-1"
            )

    def source(self) -> None:
        config, problems, typed = self.config, self.problems, self.typed
        for name, rule in (("owner", rules.github_owner_problem), ("repo", rules.github_repo_problem)):
            why = rule(getattr(config.github, name)) if typed(f"github.{name}") else None
            if why:
                problems.append(f"github.{name}: {why}")
        if typed("github.branch"):
            why = rules.valid_branch_name(config.github.branch)
            if why:
                problems.append(f"github.branch: {config.github.branch!r} is not a valid branch name: it {why}")
        why = rules.email_problem(config.notification_email) if typed("notification_email") else None
        if why:
            problems.append(f"notification_email: {why}")

    def bounds(self) -> None:
        config, problems, typed, bounded = self.config, self.problems, self.typed, self.bounded
        bounded(
            "health_check_duration_minutes",
            config.health_check_duration_minutes,
            *rules.HEALTH_CHECK_DURATION_RANGE,
            "minutes",
            " (the CodePipeline bake wait)",
        )
        bounded(
            "polling_interval_minutes",
            config.polling_interval_minutes,
            *rules.POLLING_INTERVAL_RANGE,
            "minutes",
            " (an alarm period must fit in a day)",
        )
        bounded(
            "deployment_duration_threshold_minutes",
            config.deployment_duration_threshold_minutes,
            *rules.DEPLOYMENT_DURATION_RANGE,
            "minutes",
        )
        bounded("deployment_record_ttl_days", config.deployment_record_ttl_days, 1, rules.MAX_RECORD_TTL_DAYS, "days")
        if typed("log_retention_days") and config.log_retention_days not in rules.LOG_RETENTION_DAYS:
            nearest = min(rules.LOG_RETENTION_DAYS, key=lambda d: abs(d - config.log_retention_days))
            problems.append(
                f"log_retention_days: CloudWatch Logs does not accept {config.log_retention_days}; "
                f"use one of its values, such as {nearest}"
            )
        bounded("coverage_threshold_percent", config.coverage_threshold_percent, 0, 100, "percent")
        bounded(
            "kms_deletion_window_days",
            config.kms_deletion_window_days,
            *rules.KMS_DELETION_WINDOW_RANGE,
            "days",
            " (what KMS accepts)",
        )

    def artifacts(self) -> None:
        config, problems, typed, fits, bounded = self.config, self.problems, self.typed, self.fits, self.bounded
        lifecycle = config.artifact_lifecycle
        if typed("artifact_lifecycle.transition_to_ia_days"):
            if lifecycle.transition_to_ia_days < rules.MIN_STANDARD_IA_DAYS:
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
            if config.artifacts_bucket_suffix and not fits(rules.BUCKET_SUFFIX_PATTERN, config.artifacts_bucket_suffix):
                problems.append(
                    f"artifacts_bucket_suffix: {config.artifacts_bucket_suffix!r} may hold only lowercase "
                    "letters, digits and inner hyphens"
                )
            else:
                for bucket in (config.names.artifacts_bucket, config.names.access_logs_bucket):
                    why = rules.valid_bucket_name(bucket)
                    if why:
                        problems.append(f"artifacts_bucket_suffix: makes the bucket name {bucket!r} invalid: it {why}")
                        break

        for kind in ("included_paths", "excluded_paths"):
            if typed(f"github.{kind}"):
                for pattern in getattr(config.github, kind):
                    if not fits(rules.PATH_GLOB_PATTERN, pattern):
                        problems.append(
                            f"github.{kind}: {pattern!r} is not a file-path glob (no spaces, at most 255 characters)"
                        )

    def build(self) -> None:
        config, problems, typed, fits, bounded = self.config, self.problems, self.typed, self.fits, self.bounded
        build = config.build
        if typed("build.compute_type") and build.compute_type not in rules.COMPUTE_TYPES:
            problems.append(
                f"build.compute_type: {build.compute_type!r} is not one of {', '.join(rules.COMPUTE_TYPES)}"
            )
        if typed("build.image") and not build.image.strip():
            problems.append("build.image: must name a CodeBuild image, such as 'aws/codebuild/standard:7.0'")
        if typed("build.trivy_version") and not fits(rules.VERSION_PATTERN, build.trivy_version):
            problems.append(f"build.trivy_version: {build.trivy_version!r} is not a release version such as '0.58.1'")
        bounded(
            "build.timeout_minutes",
            build.timeout_minutes,
            *rules.BUILD_TIMEOUT_RANGE,
            "minutes",
            " (what CodeBuild accepts)",
        )
        bounded(
            "build.queued_timeout_minutes",
            build.queued_timeout_minutes,
            *rules.QUEUED_TIMEOUT_RANGE,
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
                if not fits(rules.ROLE_NAME_PATTERN, pattern) or pattern.strip("*") == "":
                    problems.append(
                        f"deployer_assumes: {pattern!r} is not an IAM role-name pattern such as "
                        "'cdk-*-deploy-role-*' (and may not be all wildcards)"
                    )
        boundary = config.iam_permissions_boundary_arn
        if typed("iam_permissions_boundary_arn") and boundary:
            expected = f"arn:{config.partition}:iam::{config.account_id}:policy/"
            if not (boundary.startswith(expected) and fits(rules.POLICY_PATH_PATTERN, boundary[len(expected) :])):
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
            why = rules.valid_bucket_name(backend.bucket)
            if why:
                problems.append(f"state_backend.bucket: {backend.bucket!r} is not a valid S3 bucket name: it {why}")
        if (
            typed("state_backend.lock_table")
            and backend.lock_table
            and not fits(rules.DYNAMODB_TABLE_PATTERN, backend.lock_table)
        ):
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
        why = rules.cron_problem(window.cron) if typed("change_window.cron") else None
        if why:
            problems.append(
                f"change_window.cron: {window.cron!r} is refused: {why.removeprefix('cron: ')}; "
                "for example '* * 9-16 ? * MON-THU *'"
            )
        why = rules.time_zone_problem(window.time_zone) if typed("change_window.time_zone") else None
        if why:
            problems.append(f"change_window.time_zone: {why}")


def _target_type(config: Config) -> type:
    """DeployTarget, read from the schema's `deploy_targets: tuple[DeployTarget, ...]`."""
    return typing.get_args(typing.get_type_hints(type(config))["deploy_targets"])[0]


def _target_problems(config: Config, approval_known: bool) -> list[str]:
    problems = []
    target_type = _target_type(config)
    targets = [t.environment for t in config.deploy_targets if isinstance(t, target_type)]
    if sorted(targets) != sorted(ENVIRONMENT_NAMES):
        problems.append(
            f"deploy_targets: need exactly one target for each of {', '.join(ENVIRONMENT_NAMES)}, "
            f"got {', '.join(targets) or 'none'} (see standard_deploy_targets)"
        )
    for index, target in enumerate(config.deploy_targets):
        if not isinstance(target, target_type) or _type_problems(target, ""):
            continue
        if not rules.ROLE_ARN_PATTERN.fullmatch(target.role_arn):
            problems.append(f"deploy_targets[{index}].role_arn: {target.role_arn!r} is not an IAM role ARN")
        # The health probe's own rule (functions/shared/urls.py): a URL it
        # would refuse at cold start is refused here, with its reason.
        why = rules.https_url_problem(target.health_check_url)
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


def topology_problems(configs: typing.Sequence[Config]) -> list[str]:
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
