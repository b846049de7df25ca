"""Assembles the stacks of each environment into one CDKTF app."""

from __future__ import annotations

import os
from typing import Sequence

from cdktf import App

from environments import ENVIRONMENT_NAMES, EnvironmentConfig, select
from modules.core import CoreStack

# `ENV=test make synth`, or `cdktf synth` with context {"environment": "test"}.
ENVIRONMENT_VARIABLE = "ENV"
CONTEXT_KEY = "environment"


def selected_environment_names(app: App, environ: dict[str, str] | None = None) -> list[str]:
    """The environments to synthesize: all, unless ENV or the context names some.

    Several may be given, comma-separated (`ENV=test,staging`).
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(ENVIRONMENT_VARIABLE) or app.node.try_get_context(CONTEXT_KEY) or ""
    names = [n.strip() for n in str(raw).split(",") if n.strip()]
    return names or list(ENVIRONMENT_NAMES)


def add_environment(app: App, config: EnvironmentConfig) -> dict[str, object]:
    """The stacks of one environment, in dependency order."""
    core = CoreStack(app, config)
    return {"core": core}


def build_app(
    outdir: str | None = None,
    environments: Sequence[EnvironmentConfig] | None = None,
    context: dict | None = None,
) -> App:
    app = App(outdir=outdir, context=context) if outdir else App(context=context)
    configs = environments if environments is not None else select(selected_environment_names(app))
    for config in configs:
        add_environment(app, config)
    return app
