"""Validate environment configuration: `python -m environments [NAME ...]`.

Prints each environment's key settings, or every configuration error at once
(exit code 2), a file that does not load as `file:line: field: fix`. With no
names, checks all environments, and fails whole if any one of them fails.
"""

import sys

from environments import ENVIRONMENT_NAMES, ConfigError, UnknownEnvironmentError, select


def main(argv: list[str]) -> int:
    try:
        configs = select(argv or ENVIRONMENT_NAMES)
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for c in configs:
        print(
            f"{c.name}: account {c.account_id}, region {c.region}, "
            f"source {c.github.owner}/{c.github.repo}@{c.github.branch}, "
            f"approval {'required' if c.approval_required else 'not required'}, "
            f"state s3://{c.state_bucket}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
