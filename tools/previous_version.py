"""The previous version's synthesized stacks, for the upgrade rehearsal.

    python -m tools.previous_version [REV]     (default: the newest release tag)

The upgrade gate asks what a deploy of this version does to an environment
that runs the previous one: no resource may be destroyed or replaced. So the
previous version is synthesized from its own sources (`git archive REV`,
its own `functions/package.py` and `main.py`, run with this checkout's
Python environment; the pinned packages are the same or the synth fails
loudly) into `.make/previous/<sha>/`. The result is cached by commit, and
written to a temporary directory that is renamed only when complete, so a
failed run never leaves a half-written version behind.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".make" / "previous"
# Release tags: `v<major>.<minor>.<patch>`, one per version that landed.
RELEASE_TAGS = "v[0-9]*"


class PreviousVersionUnavailable(RuntimeError):
    """The revision is not in this clone (a shallow clone, or no release tag yet)."""


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


def default_revision() -> str:
    """The newest release tag reachable from HEAD."""
    try:
        return _git("describe", "--tags", "--abbrev=0", f"--match={RELEASE_TAGS}", "HEAD")
    except PreviousVersionUnavailable as error:
        raise PreviousVersionUnavailable(
            f"no release tag ({RELEASE_TAGS}) is reachable from HEAD: fetch the tags (git fetch --tags, "
            f"or clone without --depth), or name a revision ({error})"
        ) from None


def synthesize(revision: str | None = None, cache: Path = CACHE, log=print) -> Path:
    """The stacks directory of `revision` (default: the newest release tag)."""
    revision = revision or default_revision()
    sha = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    target = cache / sha[:12]
    stacks = target / "cdktf.out" / "stacks"
    if stacks.is_dir():
        return stacks
    partial = cache / f"{sha[:12]}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log(f"synthesizing the previous version {revision} ({sha[:12]})")
    archive = subprocess.run([_git_path(), "archive", "--format=tar", sha], cwd=REPO, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(partial, filter="data")
    environ = {k: v for k, v in os.environ.items() if k not in ("ENV", "KIRO_FUNCTIONS_DIST", "CDKTF_CONTEXT_JSON")}
    environ.update(CDKTF_OUTDIR=str(partial / "cdktf.out"), PYTHONDONTWRITEBYTECODE="1", CHECKPOINT_DISABLE="1")
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
