#!/usr/bin/env python
"""CDKTF entry point: `cdktf synth` runs this (see cdktf.json).

Synthesizes core-{env}, pipeline-{env} and monitoring-{env} for every
environment, or only for those named by ENV (`ENV=test make synth`).
"""

import sys

from environments import ConfigError, UnknownEnvironmentError


def main() -> int:
    from modules.app import build_app

    try:
        app = build_app()
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
