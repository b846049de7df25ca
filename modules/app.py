"""Assembles the stacks of each environment into one CDKTF app."""

from __future__ import annotations

from collections.abc import Sequence

from modules import provider_import

# Before any stack module imports a provider submodule (see provider_import).
provider_import.enable()

from cdktf import App  # noqa: E402 - after enable()

from environments import EnvironmentConfig  # noqa: E402 - after enable()
from modules.core import CoreStack  # noqa: E402 - after enable()
from modules.monitoring import MonitoringStack  # noqa: E402 - after enable()
from modules.pipeline import PipelineStack  # noqa: E402 - after enable()


def add_environment(app: App, config: EnvironmentConfig) -> None:
    """The stacks of one environment, in dependency order; each later stack
    receives the earlier ones' outputs as plain objects."""
    core = CoreStack(app, config)
    pipeline = PipelineStack(app, config, core.outputs)
    monitoring = MonitoringStack(app, config, core.outputs, pipeline.outputs)
    # Pipeline's outputs reach monitoring as plain names (PipelineOutputs), so
    # CDKTF sees no reference between them; the order is stated instead.
    monitoring.add_dependency(pipeline)


def build_app(environments: Sequence[EnvironmentConfig], outdir: str | None = None) -> App:
    """An app with every stack of `environments`.

    `outdir` defaults to CDKTF's own choice: CDKTF_OUTDIR, else cdktf.out.
    """
    app = App(outdir=outdir) if outdir else App()
    for config in environments:
        add_environment(app, config)
    return app
