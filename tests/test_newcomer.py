"""A new team's first day, as docs/first-deployment.md tells it, in a fresh
copy of this checkout (acceptance tier).

The copy is a clone of this checkout with the working tree laid over it;
the toolchain (.venv/, .venv-awscli/, node_modules/) is linked from this
checkout rather than installed again: installing is `make install`'s
business and CI's first step. In the copy the guide's step 2 is filled in
with values that are not the samples (another account, owner, address and
health URLs) in all three environment files. Then:

- the unit and stacks tiers run there and pass: what a team commits into
  its environment files changes no test outcome (the tests read
  tests/fixtures/environments/);
- the newcomer path runs there, reading the team's files: `python -m
  environments`, then the rehearsal of `test` (tools/rehearse/run.py: a moto
  server started in the team's account; bootstrap, deployer roles,
  preflight, the three stacks with real Terraform, `ops validate`). Its ✗
  lines must be exactly the closed lists of checks the emulator cannot
  pass (tools/emulator.py), and preflight must find no placeholder.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tools import emulator

pytestmark = [pytest.mark.slow, pytest.mark.terraform, pytest.mark.acceptance]

REPO = Path(__file__).resolve().parent.parent
TOOLCHAIN = (".venv", ".venv-awscli", "node_modules")
ENVIRONMENTS = ("test", "staging", "production")

# The guide's step 2, with a team's own values (none of them a sample value).
ACCOUNT = "246813579024"
FILLED = {
    '"123456789012"': f'"{ACCOUNT}"',
    'owner="your-org"': 'owner="acme-platform"',
    'repo="kiro-codebuild-worker"': 'repo="kiro-worker"',
    '"devops-team@example.com"': '"platform-oncall@acme-corp.io"',
    "kiro.example.com": "apps.acme-corp.io",
}


def _copy_checkout(target: Path) -> None:
    """A fresh clone of this checkout (its history too: the release checks
    read it), with the working tree's files laid over it (tracked, and new
    files that are not ignored), so uncommitted work is what is tried."""
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(target)], check=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        destination = target / name
        if not source.is_file():  # deleted in the working tree, not yet committed
            destination.unlink(missing_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
        destination.chmod(source.stat().st_mode & 0o777)
    for tool in TOOLCHAIN:
        if (REPO / tool).exists():
            (target / tool).symlink_to(REPO / tool)
    (target / ".make").mkdir(exist_ok=True)


def _fill_in(environments: Path) -> None:
    """The guide's step 2 on the sample files. The samples come from
    tests/fixtures/environments/ (the same files as shipped, with the sample
    values), never from the clone's environments/: what a team has committed
    there must not change this test's outcome."""
    fixtures = REPO / "tests" / "fixtures" / "environments"
    for env in ENVIRONMENTS:
        path = environments / f"{env}.py"
        text = (fixtures / f"{env}.py").read_text()
        for sample, value in FILLED.items():
            assert sample in text, f"the sample {env}.py no longer has {sample}: update FILLED to the guide's step 2"
            text = text.replace(sample, value)
        path.write_text(text)


def _team_environment(clone: Path) -> dict[str, str]:
    """The shell of a team member: no test settings, no AWS credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KIRO_", "PYTEST", "MOTO_"))}
    # As every make target runs: the Node.js that `npm ci` installed first on PATH.
    path = f"{clone / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, "PYTHONPATH": "", "CI": "true", "CHECKPOINT_DISABLE": "1"}


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("newcomer") / "kiro-pipeline"
    _copy_checkout(target)
    _fill_in(target / "environments")
    return target


def run(clone: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), *args],
        cwd=clone,
        env=_team_environment(clone),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_team_files_hold_no_sample_value_and_validate(clone):
    for env in ENVIRONMENTS:
        text = (clone / "environments" / f"{env}.py").read_text()
        assert not any(sample in text for sample in FILLED), env
    checked = run(clone, "-m", "environments")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count(f"account {ACCOUNT}") == 3


def test_the_unit_and_stacks_tiers_pass_whatever_the_team_wrote(clone):
    result = run(
        clone,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "(unit or stacks) and not acceptance",
        f"--basetemp={clone / '.make' / 'newcomer-tests'}",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) > 500, result.stdout[-2000:]


@pytest.fixture(scope="module")
def newcomer_rehearsal(clone) -> subprocess.CompletedProcess:
    """`make functions`, `ENV=test make synth`'s app, then `make rehearse
    ENV=test`, in the copy, reading the team's files."""
    built = run(clone, "functions/package.py")
    assert built.returncode == 0, built.stderr
    env = {**_team_environment(clone), "ENV": "test", "CDKTF_OUTDIR": str(clone / "cdktf.out")}
    synthesized = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "main.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert synthesized.returncode == 0, synthesized.stderr[-3000:]
    return run(clone, "-m", "tools.rehearse", "test", "--scratch-dir", str(clone / ".make" / "rehearsal"))


def _section(output: str, heading: str) -> list[str]:
    """The ✓/✗/! lines of one section of the rehearsal's summary."""
    lines, inside = [], False
    for line in output.splitlines():
        if line.startswith(heading):
            inside = True
            continue
        if inside and not line.startswith("  "):
            break
        if inside and line.strip()[:1] in "✓✗!":
            lines.append(line.strip())
    return lines


def test_the_newcomer_path_runs_in_the_teams_account(newcomer_rehearsal):
    output = newcomer_rehearsal.stdout + newcomer_rehearsal.stderr
    assert newcomer_rehearsal.returncode == 0, output[-6000:]
    assert f"account {ACCOUNT}" in output
    assert "rehearsal passed" in output
    # The deployer roles were made before any stack, in the team's account.
    assert f"arn:aws:iam::{ACCOUNT}:role/kiro-pipeline-test-deploy-test-role" in output


def test_preflight_fails_only_where_the_emulator_cannot_answer(newcomer_rehearsal):
    preflight = _section(newcomer_rehearsal.stdout, "ops preflight test")
    assert preflight, newcomer_rehearsal.stdout[-4000:]
    failed = [line for line in preflight if line.startswith("✗")]
    assert [line for line in failed if not any(line[2:].startswith(p) for p in emulator.PREFLIGHT_NOT_EMULATED)] == []
    assert any(line.startswith("✓ No placeholder values") for line in preflight), preflight
    assert any(line.startswith(f"✓ AWS credentials for account {ACCOUNT}") for line in preflight), preflight


def test_validate_fails_exactly_the_checks_the_emulator_cannot_pass(newcomer_rehearsal):
    validate = _section(newcomer_rehearsal.stdout, "ops validate test")
    assert validate, newcomer_rehearsal.stdout[-4000:]
    failed = {
        prefix
        for line in validate
        if line.startswith("✗")
        for prefix in emulator.NOT_EMULATED_CHECKS
        if line[2:].startswith(prefix)
    }
    unexplained = [
        line
        for line in validate
        if line.startswith("✗") and not any(line[2:].startswith(p) for p in emulator.NOT_EMULATED_CHECKS)
    ]
    assert unexplained == []
    # A first deployment (no upgrade): only the connection, which moto lacks.
    assert failed == {"GitHub connection "}
