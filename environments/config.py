"""What team files import: `from environments.config import EnvironmentConfig, ...`.

The configuration lives in three homes, and this module re-exports them under
the one name every environment file, `ops` and the tests have always imported:

- `schema.py`: the dataclasses a team edits, and `standard_deploy_targets`;
- `rules.py`: the AWS value rules (account ID, region and partition, ARNs,
  log retention, email, GitHub names, bucket names...);
- `validation.py`: the engine that collects every problem (`validate`,
  `ConfigError`, `topology_problems`);
- `topology/environments.py`: ENVIRONMENT_NAMES, a topology fact.

Its public names are exactly those of the single file it replaced (a test
holds them equal), so a team's file that loaded before loads unchanged, and a
mistyped name is answered with the same "did you mean" as before.
"""

from __future__ import annotations

# The modules and helpers the single file imported, and so exported: a team's
# file may import any of them from here (`from environments.config import field`).
import dataclasses
import re
import typing
from dataclasses import dataclass, field

from environments.rules import (
    BUILD_TIMEOUT_RANGE,
    CDK_BOOTSTRAP_ROLES,
    COMPUTE_TYPES,
    DEPLOYMENT_DURATION_RANGE,
    HEALTH_CHECK_DURATION_RANGE,
    LOG_RETENTION_DAYS,
    MAX_RECORD_TTL_DAYS,
    PARTITION_PREFIXES,
    POLLING_INTERVAL_RANGE,
    QUEUED_TIMEOUT_RANGE,
    cron_problem,
    email_problem,
    github_owner_problem,
    github_repo_problem,
    https_url_problem,
    is_region,
    partition_of,
    time_zone_problem,
    valid_branch_name,
    valid_bucket_name,
)
from environments.schema import (
    ApplicationCommands,
    ArtifactLifecycle,
    BuildSettings,
    ChangeWindow,
    DeployTarget,
    EnvironmentConfig,
    GitHubSource,
    StateBackend,
    standard_deploy_targets,
)
from environments.validation import ConfigError, topology_problems, validate
from topology.environments import ENVIRONMENT_NAMES
from topology.naming import ResourceNames

__all__ = [
    "BUILD_TIMEOUT_RANGE",
    "CDK_BOOTSTRAP_ROLES",
    "COMPUTE_TYPES",
    "DEPLOYMENT_DURATION_RANGE",
    "ENVIRONMENT_NAMES",
    "HEALTH_CHECK_DURATION_RANGE",
    "LOG_RETENTION_DAYS",
    "MAX_RECORD_TTL_DAYS",
    "PARTITION_PREFIXES",
    "POLLING_INTERVAL_RANGE",
    "QUEUED_TIMEOUT_RANGE",
    "ApplicationCommands",
    "ArtifactLifecycle",
    "BuildSettings",
    "ChangeWindow",
    "ConfigError",
    "DeployTarget",
    "EnvironmentConfig",
    "GitHubSource",
    "ResourceNames",
    "StateBackend",
    "annotations",
    "cron_problem",
    "dataclass",
    "dataclasses",
    "email_problem",
    "field",
    "github_owner_problem",
    "github_repo_problem",
    "https_url_problem",
    "is_region",
    "partition_of",
    "re",
    "standard_deploy_targets",
    "time_zone_problem",
    "topology_problems",
    "typing",
    "valid_branch_name",
    "valid_bucket_name",
    "validate",
]
