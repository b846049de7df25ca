"""Per-environment configuration: `load("test")`, `load_all()`, `select(...)`.

Each environment lives in its own module (`environments/test.py`, ...) as one
frozen `EnvironmentConfig`, validated when it is built. Loading several
environments reports the errors of all of them together.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from environments.config import (
    ENVIRONMENT_NAMES,
    ApplicationCommands,
    ArtifactLifecycle,
    BuildSettings,
    ConfigError,
    DeployTarget,
    EnvironmentConfig,
    GitHubSource,
    StateBackend,
    standard_deploy_targets,
    topology_problems,
)

__all__ = [
    "ENVIRONMENT_NAMES",
    "ApplicationCommands",
    "ArtifactLifecycle",
    "BuildSettings",
    "ConfigError",
    "DeployTarget",
    "EnvironmentConfig",
    "GitHubSource",
    "StateBackend",
    "standard_deploy_targets",
    "UnknownEnvironmentError",
    "load",
    "load_all",
    "select",
]


class UnknownEnvironmentError(ValueError):
    def __init__(self, unknown: Iterable[str]):
        self.unknown = tuple(unknown)
        names = ", ".join(repr(n) for n in self.unknown)
        super().__init__(f"unknown environment {names}: valid names are {', '.join(ENVIRONMENT_NAMES)}")


def load(name: str) -> EnvironmentConfig:
    """The validated configuration of one environment."""
    return select([name])[0]


def load_all() -> list[EnvironmentConfig]:
    return select(ENVIRONMENT_NAMES)


def select(names: Iterable[str]) -> list[EnvironmentConfig]:
    """Load the named environments, reporting every unknown name or invalid config at once."""
    names = list(names)
    unknown = [n for n in names if n not in ENVIRONMENT_NAMES]
    if unknown:
        raise UnknownEnvironmentError(unknown)
    configs, errors = [], []
    for name in names:
        try:
            module = importlib.import_module(f"environments.{name}")
            configs.append(module.CONFIG)
        except ConfigError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        problems = [f"{e.env}: {p}" for e in errors for p in e.problems]
        raise ConfigError(",".join(e.env for e in errors), problems)
    # Environments must not share targets, whichever of them were selected:
    # compare with every other environment that loads.
    others = []
    for name in ENVIRONMENT_NAMES:
        if name not in names:
            try:
                others.append(importlib.import_module(f"environments.{name}").CONFIG)
            except ConfigError:
                pass  # reported when that environment itself is selected
    problems = topology_problems(configs + others)
    if problems:
        raise ConfigError(",".join(c.name for c in configs), problems)
    return configs
