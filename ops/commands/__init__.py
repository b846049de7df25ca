"""The `python -m ops` commands, one module each. Each module's COMMANDS maps
a command name to its Command (what it runs, its help, its arguments); this
registry collects them in the order `--help` lists them. options.py is no
command: it holds the options several commands declare alike."""

from __future__ import annotations

from ops.arguments import Command
from ops.commands import (
    alarms,
    approval,
    bootstrap,
    changes,
    ci_roles,
    deployer_roles,
    deployments,
    dora,
    freeze,
    health,
    logs,
    override,
    parameters,
    preflight,
    provenance,
    rollback,
    secrets,
    stop,
    subscribe,
    summary,
    trigger,
    validate,
)

_MODULES = (
    bootstrap,
    deployer_roles,
    ci_roles,
    preflight,
    validate,
    secrets,
    parameters,
    subscribe,
    deployments,
    logs,
    health,
    summary,
    dora,
    changes,
    provenance,
    trigger,
    approval,
    stop,
    rollback,
    override,
    freeze,
    alarms,
)
_ALL = {name: command for module in _MODULES for name, command in module.COMMANDS.items()}
# The order of `python -m ops --help`.
ORDER = (
    "bootstrap",
    "deployer-roles",
    "ci-roles",
    "preflight",
    "validate",
    "setup-secrets",
    "setup-parameters",
    "subscribe",
    "health",
    "summary",
    "dora",
    "changes",
    "provenance",
    "trigger",
    "approve",
    "reject",
    "stop",
    "rollback",
    "override",
    "freeze",
    "deployments",
    "logs",
    "alarms",
)
COMMANDS: dict[str, Command] = {name: _ALL[name] for name in ORDER}
