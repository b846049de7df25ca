"""environments/ split in three homes (issue 23, item 5): the schema teams
edit (schema.py), the AWS value rules (rules.py) and the validation engine
(validation.py), with the environment names in topology/. `environments.config`
re-exports what teams' files imported before the split, so those files load
unchanged and give the same configurations.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import environments
import environments.config
from environments import DIRECTORY_VARIABLE, rules, schema, validation
from tools import config_reference
from topology import environments as topology_environments

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "environments"
MAX_LINES = 400

# The three team files as they were when the configuration was split
# (`git show HEAD:environments/<env>.py` at that commit), unmodified: what a
# team wrote before the split must load after it.
TODAYS_FILES = {
    "test": '''\
"""test: development and testing. No approval, fast feedback, basic alarms."""

from environments.config import EnvironmentConfig, GitHubSource, standard_deploy_targets

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="test",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("test", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    approval_required=False,
    health_check_duration_minutes=5,
    polling_interval_minutes=5,
)
''',
    "staging": '''\
"""staging: pre-production validation with production-like monitoring.

Approval is optional here and off by default; set `approval_required=True`
for a release that needs a second pair of eyes before production.
"""

from environments.config import EnvironmentConfig, GitHubSource, standard_deploy_targets

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="staging",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("staging", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    approval_required=False,
    health_check_duration_minutes=5,
    polling_interval_minutes=10,
)
''',
    "production": '''\
"""production: the live system. Mandatory approval, longer health checks,
and deletion protection on the data that matters."""

from environments.config import (
    BuildSettings,
    ChangeWindow,
    EnvironmentConfig,
    GitHubSource,
    standard_deploy_targets,
)

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="production",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("production", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    build=BuildSettings(compute_type="BUILD_GENERAL1_MEDIUM"),
    approval_required=True,
    health_check_duration_minutes=10,
    polling_interval_minutes=15,
    deletion_protection=True,
    # Releases start Monday to Thursday, 09:00-16:59 UTC; outside that, the
    # break-glass is `python -m ops override production --stage ProductionWindow`.
    change_window=ChangeWindow(enabled=True),
)
''',
}

# The public names of environments/config.py when it was one file: a team's
# file may import any of them, and "did you mean" suggests among them.
SINGLE_FILE_NAMES = [
    "ApplicationCommands",
    "ArtifactLifecycle",
    "BUILD_TIMEOUT_RANGE",
    "BuildSettings",
    "CDK_BOOTSTRAP_ROLES",
    "COMPUTE_TYPES",
    "ChangeWindow",
    "ConfigError",
    "DEPLOYMENT_DURATION_RANGE",
    "DeployTarget",
    "ENVIRONMENT_NAMES",
    "EnvironmentConfig",
    "GitHubSource",
    "HEALTH_CHECK_DURATION_RANGE",
    "LOG_RETENTION_DAYS",
    "MAX_RECORD_TTL_DAYS",
    "PARTITION_PREFIXES",
    "POLLING_INTERVAL_RANGE",
    "QUEUED_TIMEOUT_RANGE",
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

ACCOUNT = "123456789012"
URL = "https://{stage}-{env}.kiro.example.com/health"


def expected(name: str, approval: bool, health: int, polling: int, **more) -> schema.EnvironmentConfig:
    """What each of TODAYS_FILES configures, built from the schema itself."""
    return schema.EnvironmentConfig(
        name=name,
        account_id=ACCOUNT,
        region="us-east-1",
        github=schema.GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
        notification_email="devops-team@example.com",
        deploy_targets=schema.standard_deploy_targets(name, ACCOUNT, URL),
        approval_required=approval,
        health_check_duration_minutes=health,
        polling_interval_minutes=polling,
        **more,
    )


@pytest.fixture
def todays_files(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "environments"
    directory.mkdir()
    for name, text in TODAYS_FILES.items():
        (directory / f"{name}.py").write_text(text)
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(directory))
    return directory


class TestTodaysTeamFiles:
    def test_load_unchanged_and_give_the_same_configurations(self, todays_files):
        assert environments.load_all() == [
            expected("test", False, 5, 5),
            expected("staging", False, 5, 10),
            expected(
                "production",
                True,
                10,
                15,
                build=schema.BuildSettings(compute_type="BUILD_GENERAL1_MEDIUM"),
                deletion_protection=True,
                change_window=schema.ChangeWindow(enabled=True),
            ),
        ]

    def test_pass_python_m_environments(self, todays_files):
        result = subprocess.run(
            [sys.executable, "-m", "environments"],
            cwd=REPO,
            env={**os.environ, DIRECTORY_VARIABLE: str(todays_files)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["test", "staging", "production"]

    def test_a_mistyped_import_is_still_answered_with_the_name_it_meant(self, todays_files):
        path = todays_files / "production.py"
        path.write_text(path.read_text().replace("    ChangeWindow,\n", "    ChangeWindo,\n"))
        result = subprocess.run(
            [sys.executable, "-m", "environments", "production"],
            cwd=REPO,
            env={**os.environ, DIRECTORY_VARIABLE: str(todays_files)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2
        # The loader names a file inside the working directory by its relative
        # path (as a user typing commands in the checkout sees it).
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        assert result.stderr.splitlines() == [
            f"error: {shown}:6: cannot import name 'ChangeWindo' from 'environments.config'; "
            "did you mean `ChangeWindow`?"
        ]


class TestOneHomeEach:
    def test_environments_config_exports_what_the_single_file_did(self):
        assert sorted(n for n in dir(environments.config) if not n.startswith("_")) == sorted(SINGLE_FILE_NAMES)
        assert sorted(environments.config.__all__) == sorted(SINGLE_FILE_NAMES)

    @pytest.mark.parametrize(
        "name, home",
        [
            ("EnvironmentConfig", schema),
            ("DeployTarget", schema),
            ("ChangeWindow", schema),
            ("standard_deploy_targets", schema),
            ("ConfigError", validation),
            ("validate", validation),
            ("topology_problems", validation),
            ("is_region", rules),
            ("email_problem", rules),
            ("partition_of", rules),
            ("LOG_RETENTION_DAYS", rules),
            ("ENVIRONMENT_NAMES", topology_environments),
        ],
    )
    def test_each_exported_name_is_its_homes_object(self, name, home):
        assert getattr(environments.config, name) is getattr(home, name)

    def test_the_environment_names_are_assigned_only_in_topology(self):
        assigned = []
        product = ("topology", "environments", "modules", "ops", "tools", "functions", "review")
        for path in [REPO / "main.py", *sorted(p for package in product for p in (REPO / package).rglob("*.py"))]:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if any(isinstance(t, ast.Name) and t.id == "ENVIRONMENT_NAMES" for t in targets):
                    assigned.append(path.relative_to(REPO).as_posix())
        assert assigned == ["topology/environments.py"]

    def test_no_file_in_environments_is_over_the_limit(self):
        long = {p.name: n for p in PACKAGE.glob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
        assert long == {}

    def test_the_validation_engine_does_not_import_the_schema(self):
        # schema.py imports validation.py to validate each configuration as it
        # is built; the reverse import would be a cycle.
        tree = ast.parse((PACKAGE / "validation.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith(("environments.schema", "environments.config"))}


def test_the_reference_names_types_without_their_module():
    row = next(line for line in config_reference.render().splitlines() if line.startswith("| `deploy_targets` |"))
    assert "| `tuple[DeployTarget, ...]` |" in row
