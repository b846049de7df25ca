"""Per-environment configuration: `load("test")`, `load_all()`, `select(...)`.

Each environment lives in its own module (`environments/test.py`, ...) as one
frozen `EnvironmentConfig`, validated when it is built. Loading several
environments reports the errors of all of them together.

`KIRO_ENVIRONMENTS_DIR`, when set, names a directory of environment files of
the same form (`<name>.py`) read instead of `environments/`. The test suite
and the rehearsals set it to `tests/fixtures/environments/`, so that what a
team writes into its own environment files changes no test outcome.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

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
    "DIRECTORY_VARIABLE",
    "load",
    "load_all",
    "module",
    "select",
]

DIRECTORY_VARIABLE = "KIRO_ENVIRONMENTS_DIR"


class UnknownEnvironmentError(ValueError):
    def __init__(self, unknown: Iterable[str]):
        self.unknown = tuple(unknown)
        names = ", ".join(repr(n) for n in self.unknown)
        super().__init__(f"unknown environment {names}: valid names are {', '.join(ENVIRONMENT_NAMES)}")


def module(name: str) -> ModuleType:
    """The module that defines environment `name`: `environments.<name>`, or
    `<name>.py` in the directory KIRO_ENVIRONMENTS_DIR names."""
    directory = os.environ.get(DIRECTORY_VARIABLE, "").strip()
    if not directory:
        return importlib.import_module(f"environments.{name}")
    path = Path(directory).resolve() / f"{name}.py"
    # One module per (directory, name), so two directories never share a CONFIG.
    key = f"_kiro_environments_{hashlib.sha256(str(path.parent).encode()).hexdigest()[:12]}_{name}"
    if key in sys.modules:
        return sys.modules[key]
    if not path.is_file():
        raise ConfigError(
            name, [f"{DIRECTORY_VARIABLE}={directory}: {path} does not exist (unset it to read environments/)"]
        )
    spec = importlib.util.spec_from_file_location(key, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    sys.modules[key] = loaded  # only once it loaded: a failed file is read again next time
    return loaded


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
            configs.append(module(name).CONFIG)
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
                others.append(module(name).CONFIG)
            except ConfigError:
                pass  # reported when that environment itself is selected
    problems = topology_problems(configs + others)
    if problems:
        raise ConfigError(",".join(c.name for c in configs), problems)
    return configs
