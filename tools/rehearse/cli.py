"""`make rehearse ENV=test`: deploy an environment for real, with real
Terraform and the real hashicorp/aws provider, against a moto server on
127.0.0.1, then prove that a second plan is clean and `ops validate` agrees.

    python -m tools.rehearse ENV [--stacks-dir cdktf.out/stacks] [--scratch-dir DIR] [--upgrade-from [REV]]

With `--upgrade-from` (`make rehearse-upgrade`), the previous version REV
(default: the last release in RELEASES, tools/previous_version.py) is deployed
first, and this version over it: its plans must destroy or replace nothing.
Exit 0 when the rehearsal passed, 1 when it failed, 2 on a configuration
error, 130 when interrupted (Ctrl-C: one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from environments import ConfigError, UnknownEnvironmentError
from tools import previous_version
from tools.rehearse.report import summary
from tools.rehearse.results import RehearsalFailed
from tools.rehearse.run import SCRATCH, rehearse
from tools.terraform_cli import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearse", description=__doc__.split("\n\n")[0])
    parser.add_argument("env")
    parser.add_argument("--stacks-dir", type=Path, default=REPO / "cdktf.out" / "stacks")
    parser.add_argument(
        "--scratch-dir", type=Path, default=SCRATCH, help="the scratch copies' directory (default: .make/rehearsal)"
    )
    parser.add_argument(
        "--upgrade-from",
        metavar="REV",
        nargs="?",
        const="",
        help="deploy the previous version REV first (default: the last release in RELEASES); nothing may be destroyed",
    )
    args = parser.parse_args(argv)
    try:
        previous = None
        if args.upgrade_from is not None:
            revision = args.upgrade_from or previous_version.default_revision()
            previous = (revision, previous_version.synthesize(revision))
        rehearsal = rehearse(args.env, args.stacks_dir, args.scratch_dir, previous=previous)
    except (previous_version.PreviousVersionUnavailable, ConfigError, UnknownEnvironmentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RehearsalFailed as error:
        print(f"rehearsal FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # By now every `with` has run: Terraform's process group is killed
        # (tools/terraform_cli.py), `ops` children with it (subprocess.run),
        # and the moto server stopped by PID (MotoServer.stop). Nothing runs
        # on AWS: the rehearsal only ever talks to its own server.
        print("rehearsal interrupted: stopped the terraform and moto server processes it started", file=sys.stderr)
        return 130
    print(summary(rehearsal))
    return 0 if rehearsal.ok else 1
