"""Environment files that do not load fail gently (issue 22, "Why" 4).

Each test copies tests/fixtures/environments/ into a scratch directory, breaks
one file the way a person editing it would, and points KIRO_ENVIRONMENTS_DIR
there. A broken file must give one line naming the file, the line and the
field (with a suggestion for a typo), exit 2, and leave the commands of the
other environments working; commands over every environment fail whole and
write nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import environments
from environments import ConfigError

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "environments"


def shown(path: Path, cwd: Path = REPO) -> str:
    """A file as messages name it: relative to the working directory when inside it."""
    cwd = cwd.resolve()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def scratch_environments(tmp_path: Path) -> Path:
    directory = (tmp_path / "environments").resolve()
    shutil.copytree(FIXTURES, directory)
    return directory


@pytest.fixture(autouse=True)
def _in_scratch(tmp_path, monkeypatch):
    """In-process tests run where the scratch files are, as a user would."""
    monkeypatch.chdir(tmp_path)


def break_file(directory: Path, env: str, old: str, new: str, at: str | None = None) -> tuple[Path, int]:
    """Replace `old` by `new` in `env`.py; the file and the line of `at`
    (default `new`) in the result, where the message must point."""
    path = directory / f"{env}.py"
    text = path.read_text()
    assert text.count(old) == 1, f"the fixture {path.name} no longer holds {old!r} once"
    path.write_text(text.replace(old, new))
    return path, line_of(path, at if at is not None else new)


def line_of(path: Path, text: str) -> int:
    source = path.read_text()
    return source[: source.index(text)].count("\n") + 1


# name: (what is replaced, by what, where the message points (None: the new text), what it must say)
BREAKAGES = {
    "unknown field": (
        "polling_interval_minutes=15",
        "polling_interval_minute=15",
        None,
        ["EnvironmentConfig has no field 'polling_interval_minute'", "did you mean `polling_interval_minutes`?"],
    ),
    "unknown field of a nested setting": (
        'branch="main"',
        'brnch="main"',
        None,
        ["GitHubSource has no field 'brnch'", "did you mean `branch`?"],
    ),
    "missing required field": (
        "    polling_interval_minutes=15,\n",
        "",
        "CONFIG = EnvironmentConfig(",
        ["EnvironmentConfig needs polling_interval_minutes"],
    ),
    "field given twice": (
        "    polling_interval_minutes=15,\n",
        "    polling_interval_minutes=15,\n    polling_interval_minutes=10,\n",
        "    polling_interval_minutes=10",
        ["syntax error", "keyword argument repeated: polling_interval_minutes"],
    ),
    "wrong type": (
        "polling_interval_minutes=15",
        'polling_interval_minutes="15"',
        None,
        ["polling_interval_minutes: expected int, got str '15'"],
    ),
    "missing comma": (
        "approval_required=True,",
        "approval_required=True",
        None,
        ["syntax error", "Perhaps you forgot a comma?"],
    ),
    "undefined name": (
        "CONFIG = EnvironmentConfig(",
        "CONFIG = EnvironmentConfg(",
        None,
        ["name 'EnvironmentConfg' is not defined", "did you mean `EnvironmentConfig`?"],
    ),
    "import of a name that does not exist": (
        "    GitHubSource,\n",
        "    GitHubSorce,\n",
        "    GitHubSorce",
        ["cannot import name 'GitHubSorce' from 'environments.config'", "did you mean `GitHubSource`?"],
    ),
    "any other error": (
        'ACCOUNT_ID = "123456789012"',
        'ACCOUNT_ID = "123456789012" + 1',
        None,
        ["TypeError: can only concatenate str"],
    ),
}


class TestOneBrokenFile:
    @pytest.mark.parametrize("breakage", list(BREAKAGES))
    def test_is_one_line_naming_file_line_and_field(self, breakage, tmp_path, monkeypatch):
        old, new, at, expected = BREAKAGES[breakage]
        directory = scratch_environments(tmp_path)
        path, line = break_file(directory, "production", old, new, at)
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(ConfigError) as caught:
            environments.load("production")
        message = str(caught.value)
        assert caught.value.env == "production"
        assert "\n" not in message, message
        assert message.startswith(f"environments/production.py:{line}: "), message
        for part in expected:
            assert part in message, message

    @pytest.mark.parametrize("breakage", list(BREAKAGES))
    def test_leaves_the_other_environments_loading(self, breakage, tmp_path, monkeypatch):
        """select() compares the selected environments with every other one
        (shared deploy roles): one that does not load is left out there, and
        reported when it is itself selected."""
        old, new, at, _ = BREAKAGES[breakage]
        directory = scratch_environments(tmp_path)
        break_file(directory, "production", old, new, at)
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        assert [c.name for c in environments.select(["test", "staging"])] == ["test", "staging"]

    def test_several_broken_files_are_reported_together(self, tmp_path, monkeypatch):
        directory = scratch_environments(tmp_path)
        production, production_line = break_file(directory, "production", *BREAKAGES["unknown field"][:2])
        staging, staging_line = break_file(directory, "staging", "approval_required=False,", "approval_required=False")
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(ConfigError) as caught:
            environments.load_all()
        assert [p.split(": ", 1)[0] for p in caught.value.problems] == ["staging", "production"]
        assert caught.value.problems[0].startswith(f"staging: {shown(staging, tmp_path)}:{staging_line}: syntax error")
        assert caught.value.problems[1].startswith(f"production: {shown(production, tmp_path)}:{production_line}: ")

    def test_a_bad_value_names_its_line_and_every_problem(self, tmp_path, monkeypatch):
        directory = scratch_environments(tmp_path)
        path, email_line = break_file(
            directory, "production", '"devops-team@example.com"', '"devops-team"', at='notification_email="'
        )
        _, account_line = break_file(directory, "production", '"123456789012"', '"1234"', at="account_id=ACCOUNT_ID")
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(ConfigError) as caught:
            environments.load("production")
        lines = {p.split(": ", 2)[1]: p.split(": ", 1)[0] for p in caught.value.problems}
        where = shown(path, tmp_path)
        assert lines["notification_email"] == f"{where}:{email_line}"
        # account_id=ACCOUNT_ID: the keyword's line, where the field is set.
        assert lines["account_id"] == f"{where}:{account_line}"
        # A field no keyword sets (standard_deploy_targets made it): its parent's line.
        assert lines["deploy_targets[0].role_arn"] == f"{where}:{line_of(path, 'deploy_targets=')}"


class TestWhatAFileMustDefine:
    def test_a_file_without_config(self, tmp_path, monkeypatch):
        directory = scratch_environments(tmp_path)
        path, _ = break_file(directory, "staging", "CONFIG = EnvironmentConfig(", "SETTINGS = EnvironmentConfig(")
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(ConfigError, match=f"^{shown(path, tmp_path)}: defines no CONFIG") as caught:
            environments.load("staging")
        assert "\n" not in str(caught.value)

    def test_a_config_that_is_not_an_environment_config(self, tmp_path, monkeypatch):
        directory = scratch_environments(tmp_path)
        path = directory / "staging.py"
        path.write_text(path.read_text() + "CONFIG = {'name': 'staging'}\n")
        line = path.read_text().count("\n")
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(
            ConfigError, match=f"^{shown(path, tmp_path)}:{line}: CONFIG is a dict, not an EnvironmentConfig"
        ):
            environments.load("staging")

    def test_a_file_whose_config_names_another_environment_is_refused(self, tmp_path, monkeypatch):
        """staging.py with name="test" would deploy into test's table and pipeline."""
        directory = scratch_environments(tmp_path)
        path, line = break_file(directory, "staging", 'name="staging"', 'name="test"')
        monkeypatch.setenv(environments.DIRECTORY_VARIABLE, str(directory))
        with pytest.raises(ConfigError) as caught:
            environments.load("staging")
        message = str(caught.value)
        assert message.startswith(f"{shown(path, tmp_path)}:{line}: name: 'test' in staging.py"), message
        assert "name='staging'" in message
        assert [c.name for c in environments.select(["test", "production"])] == ["test", "production"]


# --- as a user runs them: the real parser, the real exit code -------------------------
def run(directory: Path, *argv: str, **environ: str) -> subprocess.CompletedProcess:
    env = {**os.environ, environments.DIRECTORY_VARIABLE: str(directory), **environ}
    return subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.integration
def test_ops_on_the_broken_environment_is_one_line_and_exit_2(tmp_path):
    directory = scratch_environments(tmp_path)
    path, line = break_file(directory, "production", *BREAKAGES["unknown field"][:2])
    result = run(directory, "-m", "ops", "deployments", "production")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: {shown(path)}:{line}: polling_interval_minute: EnvironmentConfig has no field "
        "'polling_interval_minute'; did you mean `polling_interval_minutes`?\n"
    )


def test_ops_on_another_environment_gets_past_its_configuration(no_aws_credentials, tmp_path):
    """With production.py broken, `ops deployments test` loads test and goes
    on to AWS (where it stops here, for want of credentials)."""
    directory = scratch_environments(tmp_path)
    break_file(directory, "production", "approval_required=True,", "approval_required=True")
    result = run(directory, "-m", "ops", "deployments", "test")
    assert result.returncode == 1, result.stderr  # an AWS failure, not a configuration error (2)
    assert "credentials" in result.stderr, result.stderr
    assert "production.py" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.integration
def test_the_validator_checks_one_environment_while_another_is_broken(tmp_path):
    directory = scratch_environments(tmp_path)
    path, line = break_file(directory, "production", "approval_required=True,", "approval_required=True")
    fine = run(directory, "-m", "environments", "test")
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.startswith("test: account 123456789012")
    broken = run(directory, "-m", "environments", "production")
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"error: {shown(path)}:{line}: syntax error") and broken.stderr.count("\n") == 1


@pytest.mark.integration
def test_the_validator_over_every_environment_fails_whole(tmp_path):
    directory = scratch_environments(tmp_path)
    production, _ = break_file(directory, "production", *BREAKAGES["unknown field"][:2])
    staging, _ = break_file(directory, "staging", 'name="staging"', 'name="test"')
    result = run(directory, "-m", "environments")
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: environment 'staging,production' has 2 configuration error(s):"
    assert lines[1].startswith(f"  - staging: {shown(staging)}:") and "name='staging'" in lines[1]
    assert lines[2].startswith(f"  - production: {shown(production)}:") and "did you mean" in lines[2]
    assert len(lines) == 3


@pytest.mark.integration
def test_synthesis_of_every_environment_fails_whole_and_writes_nothing(tmp_path):
    """`make synth` runs `python main.py` (cdktf.json): with ENV unset it
    synthesizes every environment, so one broken file stops it before the
    cdktf app exists, and the output directory is never made."""
    directory = scratch_environments(tmp_path)
    path, line = break_file(directory, "production", *BREAKAGES["unknown field"][:2])
    outdir = tmp_path / "cdktf.out"
    environ = {k: v for k, v in os.environ.items() if k not in ("ENV", "CDKTF_CONTEXT_JSON")}
    environ.update({environments.DIRECTORY_VARIABLE: str(directory), "CDKTF_OUTDIR": str(outdir)})
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {shown(path)}:{line}: ") and result.stderr.count("\n") == 1, result.stderr
    assert not outdir.exists()


@pytest.mark.integration
def test_the_teams_own_files_fail_as_gently(tmp_path):
    """Without KIRO_ENVIRONMENTS_DIR the files are imported as the package's
    modules (environments.production): a scratch checkout of the loader, with
    the fixture files in place of the team's, gives the same one line."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "environments", root / "environments", ignore=shutil.ignore_patterns("__pycache__"))
    for fixture in FIXTURES.glob("*.py"):
        shutil.copy(fixture, root / "environments" / fixture.name)
    path, line = break_file(root / "environments", "production", *BREAKAGES["unknown field"][:2])
    environ = {k: v for k, v in os.environ.items() if k != environments.DIRECTORY_VARIABLE}
    # The checkout's environments/ comes first (the working directory); what
    # it imports from the rest of the project, from this one.
    environ["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "environments"], cwd=root, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: {shown(path, root)}:{line}: polling_interval_minute: EnvironmentConfig has no field "
        "'polling_interval_minute'; did you mean `polling_interval_minutes`?\n"
    )
