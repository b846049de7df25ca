"""A model of CodePipeline V2's semantics, for tests (not product code).

It reads a synthesized `aws_codepipeline` resource, runs executions on a
simulated clock in a scripted world, sends EventBridge events in AWS's
documented shapes and answers CodePipeline API calls from its own state.
Every behaviour is a rule in `rules` (documented / inferred / assumed, with the
sentence and page); open points are `Readings` switches; every rule has
mutations. docs/codepipeline-semantics.md lists them.

    sim = Simulation(resource, world, start=datetime(2026, 3, 2, 9, tzinfo=UTC))
    sim.subscribe(handler)
    sim.client.start_pipeline_execution(name=..., sourceRevisions=[...])
    sim.advance(hours=2)
    sim.timeline.running_on("ProductionDeploy", at)

Only the standard library and botocore are imported.
"""

from .client import EXCEPTIONS, MODEL, ModelClient, ModelError, client_error
from .cron import Window, parse_cron, parse_time_zone, window
from .pipeline import InvalidPipeline, PipelineDecl, api_declaration, load_pipeline
from .rules import ASSUMED, DOCUMENTED, INFERRED, REGISTRY, SWITCHES, Mode, Readings, Rule, mutations
from .simulation import Deployment, Execution, ModelSession, Simulation, Timeline
from .world import Alarm, World

__all__ = [
    "ASSUMED",
    "DOCUMENTED",
    "EXCEPTIONS",
    "INFERRED",
    "MODEL",
    "REGISTRY",
    "SWITCHES",
    "Alarm",
    "Deployment",
    "Execution",
    "InvalidPipeline",
    "Mode",
    "ModelClient",
    "ModelError",
    "ModelSession",
    "PipelineDecl",
    "Readings",
    "Rule",
    "Simulation",
    "Timeline",
    "Window",
    "World",
    "api_declaration",
    "client_error",
    "load_pipeline",
    "mutations",
    "parse_cron",
    "parse_time_zone",
    "window",
]
