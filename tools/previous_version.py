"""The previous version's synthesized stacks, for the upgrade rehearsal.

    python -m tools.previous_version [REV]     (default: the last line of RELEASES)

The release list is the tracked file `RELEASES`: one line per release,
`vMAJOR.MINOR.PATCH <full commit>`, oldest first. It is a file, not git
tags, because tags do not travel with a clone: the gate must find the
previous release in every clone, CI's included. A clone without the file, or
without the commit it names (a shallow clone), fails with the fix; it never
skips.

The upgrade gate asks what a deploy of this version does to an environment
that runs the previous one: no resource may be destroyed or replaced. So the
previous version is synthesized from its own sources (`git archive REV`,
its own `functions/package.py` and `main.py`, run with this checkout's
Python environment; the pinned packages are the same or the synth fails
loudly) into `.make/previous/<sha>/`. The result is cached by commit, and
written to a temporary directory that is renamed only when complete, so a
failed run never leaves a half-written version behind.

Its environments are the test configuration, not the team's values: the
files of `KIRO_ENVIRONMENTS_DIR` (tests/fixtures/environments/ in the test
suite) replace the archive's `environments/<name>.py` before it synthesizes,
so both sides of the upgrade are built from the test configuration whatever
either version's environment files say. A release that has its own
`tests/fixtures/environments/` is synthesized with those (written for its
schema); an older one with this checkout's. Without the variable, the
previous version's own files are used.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from environments import DIRECTORY_VARIABLE, ENVIRONMENT_NAMES

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".make" / "previous"
RELEASES = REPO / "RELEASES"
_RELEASE_LINE = re.compile(r"^(v\d+\.\d+\.\d+) ([0-9a-f]{40})$")


class PreviousVersionUnavailable(RuntimeError):
    """The revision is not in this clone (no RELEASES, or a shallow clone)."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str


def releases(path: Path = RELEASES) -> list[Release]:
    """Every release in `path`, oldest first; every malformed line named at once."""
    if not path.is_file():
        raise PreviousVersionUnavailable(
            f"{path.name} is missing: the upgrade gate reads the previous release from it "
            f"(one line per release: 'vMAJOR.MINOR.PATCH <full commit>'); restore it from git"
        )
    found, problems = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _RELEASE_LINE.match(line.strip())
        if match is None:
            problems.append(f"{path.name}:{number}: {line.strip()!r} is not 'vMAJOR.MINOR.PATCH <40-hex commit>'")
        else:
            found.append(Release(*match.groups()))
    if problems:
        raise PreviousVersionUnavailable("; ".join(problems))
    if not found:
        raise PreviousVersionUnavailable(f"{path.name} lists no release: add 'vMAJOR.MINOR.PATCH <full commit>'")
    return found


def _git_path() -> str:
    found = shutil.which("git")
    if not found:
        raise PreviousVersionUnavailable("git is not on PATH")
    return found


def _git(*args: str) -> str:
    result = subprocess.run([_git_path(), *args], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise PreviousVersionUnavailable(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def default_release(path: Path = RELEASES) -> Release:
    """The last release in RELEASES, whose commit must be in this clone."""
    release = releases(path)[-1]
    try:
        _git("cat-file", "-e", f"{release.commit}^{{commit}}")
    except PreviousVersionUnavailable:
        raise PreviousVersionUnavailable(
            f"{path.name} names {release.version} at {release.commit}, which is not in this clone: "
            f"clone with full history (no --depth), or run git fetch --unshallow"
        ) from None
    return release


def default_revision() -> str:
    """The commit of the last release in RELEASES."""
    return default_release().commit


def _configured_environments() -> list[Path]:
    """The environment files KIRO_ENVIRONMENTS_DIR names (none when unset):
    one per environment name, nothing else from that directory."""
    directory = os.environ.get(DIRECTORY_VARIABLE, "").strip()
    if not directory:
        return []
    files = [Path(directory).resolve() / f"{name}.py" for name in ENVIRONMENT_NAMES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise PreviousVersionUnavailable(f"{DIRECTORY_VARIABLE}={directory}: missing {', '.join(missing)}")
    return files


def _release_environments(tree: Path, environments: list[Path]) -> list[Path]:
    """The release's own copy of the test configuration when it has one (its
    schema is the one it was written for), else the files given."""
    own = [tree / "tests" / "fixtures" / "environments" / path.name for path in environments]
    return own if own and all(p.is_file() for p in own) else environments


def _cache_key(sha: str, environments: list[Path]) -> str:
    """The commit, and the environment files that replace its own."""
    if not environments:
        return sha[:12]
    digest = hashlib.sha256(b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in environments))
    return f"{sha[:12]}-{digest.hexdigest()[:12]}"


def synthesize(revision: str | None = None, cache: Path = CACHE, log=print, env: str | None = None) -> Path:
    """The stacks directory of `revision` (default: the last release in RELEASES):
    every environment, or only `env`."""
    revision = revision or default_revision()
    sha = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    environments = _configured_environments()
    target = cache / (_cache_key(sha, environments) + (f"-{env}" if env else ""))
    stacks = target / "cdktf.out" / "stacks"
    if stacks.is_dir():
        return stacks
    partial = cache / f"{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log(f"synthesizing the previous version {revision} ({sha[:12]})")
    archive = subprocess.run([_git_path(), "archive", "--format=tar", sha], cwd=REPO, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(partial, filter="data")
    chosen = _release_environments(partial, environments)
    for path in chosen:
        shutil.copyfile(path, partial / "environments" / path.name)
    if chosen:
        log(f"  with the environments of {chosen[0].parent}")
    # Not KIRO_ENVIRONMENTS_DIR either: the chosen files are now the archive's
    # environments/, and the variable would make the old code load this
    # checkout's fixtures, whose fields its schema may not know.
    dropped = ("ENV", "KIRO_FUNCTIONS_DIST", "CDKTF_CONTEXT_JSON", DIRECTORY_VARIABLE)
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ.update(CDKTF_OUTDIR=str(partial / "cdktf.out"), PYTHONDONTWRITEBYTECODE="1", CHECKPOINT_DISABLE="1")
    if env:
        environ["ENV"] = env  # main.py synthesizes only this environment
    for step in (["functions/package.py"], ["main.py"]):
        run = subprocess.run([sys.executable, *step], cwd=partial, env=environ, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{revision}: python {step[0]} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return stacks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        print(synthesize(argv[0] if argv else None))
    except PreviousVersionUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
