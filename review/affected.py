"""Which environments a change affects, for the pull-request plan.

    python3 -m review.affected FILE...   (or the changed files on stdin, one a line)

Prints the environments to plan, one a line, in ENVIRONMENT_NAMES order. A
change to one environment's file plans that environment; a change to what
every stack is built from plans all of them; documentation and tests alone
plan none. Anything this table does not know plans all: when in doubt, all.
"""

from __future__ import annotations

import re
import sys

from topology.environments import ENVIRONMENT_NAMES

# Changes that cannot change any stack's plan.
NO_INFRASTRUCTURE = re.compile(r"^(docs/|tests/|README\.md$|\.github/ISSUE_TEMPLATE/|[^/]+\.md$)")
ONE_ENVIRONMENT = re.compile(r"^environments/(?P<env>[a-z]+)\.py$")


def affected(paths: list[str]) -> list[str]:
    chosen: set[str] = set()
    for path in (p.strip() for p in paths):
        if not path or NO_INFRASTRUCTURE.match(path):
            continue
        match = ONE_ENVIRONMENT.match(path)
        if match and match.group("env") in ENVIRONMENT_NAMES:
            chosen.add(match.group("env"))
        else:
            return list(ENVIRONMENT_NAMES)  # shared code, config or tooling: every environment
    return [env for env in ENVIRONMENT_NAMES if env in chosen]


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    for env in affected(paths or sys.stdin.read().splitlines()):
        print(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
