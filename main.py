#!/usr/bin/env python
"""CDKTF entry point: `cdktf synth` runs this (see cdktf.json).

Synthesizes core-{env}, pipeline-{env} and monitoring-{env} for every
environment, or only those named by `ENV` (`ENV=test make synth`,
`ENV=test,staging ...`) or by the cdktf context value `environment`.
Environments and Lambda packages are checked before the (slow) CDKTF import,
so a bad name, an environment file that does not load (environments.select
reports each as `file:line: field: fix`) or a missing `make functions` fails
at once with exit 2, before the App exists: nothing is written to the output
directory, and a synthesis over every environment fails whole. (The cdktf CLI
then exits 1, so `make synth` fails; it neither removes nor touches an
earlier cdktf.out.)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from environments import ENVIRONMENT_NAMES, ConfigError, UnknownEnvironmentError, select
from functions import package

ENVIRONMENT_VARIABLE = "ENV"
CONTEXT_KEY = "environment"


def selected_environment_names(environ: Mapping[str, str]) -> list[str]:
    """ENV wins over the cdktf context; neither means every environment."""
    raw = environ.get(ENVIRONMENT_VARIABLE, "")
    if not raw.strip():
        # cdktf-cli hands the app its context as JSON in this variable.
        context = json.loads(environ.get("CDKTF_CONTEXT_JSON") or "{}")
        raw = str(context.get(CONTEXT_KEY) or "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    return names or list(ENVIRONMENT_NAMES)


def main() -> int:
    try:
        configs = select(selected_environment_names(os.environ))
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    try:
        package.require_packages()
    except package.MissingPackages as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from modules.app import build_app

    build_app(configs).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
