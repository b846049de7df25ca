"""Per-environment configuration: `load("test")`, `load_all()`, `select(...)`.

Each environment lives in its own module (`environments/test.py`, ...) as one
frozen `EnvironmentConfig`, validated when it is built. Loading several
environments reports the errors of all of them together.

A file that does not load (a typo in a field name, a missing comma, a value
of the wrong type, no CONFIG, or a CONFIG named after another environment)
is reported as one `ConfigError` line naming the file, the line and the
field, with a suggestion where one is close; it never surfaces as a
traceback, and it does not stop the other environments from loading.

`KIRO_ENVIRONMENTS_DIR`, when set, names a directory of environment files of
the same form (`<name>.py`) read instead of `environments/`. The test suite
and the rehearsals set it to `tests/fixtures/environments/`, so that what a
team writes into its own environment files changes no test outcome.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

# What team files import (`environments.config`): its names answer a
# mistyped name or field in a file with "did you mean".
from environments import config as _config_module

# The package loads environments; the schema's names are imported from
# environments.config (what teams' files import), their one public home.
from environments.schema import EnvironmentConfig
from environments.validation import ConfigError, topology_problems
from topology.environments import ENVIRONMENT_NAMES

__all__ = [
    "ENVIRONMENT_NAMES",
    "ConfigError",
    "EnvironmentConfig",
    "UnknownEnvironmentError",
    "EnvironmentFileError",
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


class EnvironmentFileError(ConfigError):
    """An environment file that does not load, or loads something other than
    its environment. Each problem starts `file:line:`, as a compiler's would,
    so one problem reads as one line an editor can jump to."""

    def __str__(self) -> str:
        return self.problems[0] if len(self.problems) == 1 else super().__str__()


def module(name: str) -> ModuleType:
    """The module that defines environment `name`: `environments.<name>`, or
    `<name>.py` in the directory KIRO_ENVIRONMENTS_DIR names. Whatever
    executing the file raises becomes an EnvironmentFileError."""
    directory = os.environ.get(DIRECTORY_VARIABLE, "").strip()
    if not directory:
        try:
            return importlib.import_module(f"environments.{name}")
        except Exception as error:
            raise _file_error(name, Path(__file__).resolve().parent / f"{name}.py", error) from error
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
    try:
        spec.loader.exec_module(loaded)
    except Exception as error:
        raise _file_error(name, path, error) from error
    sys.modules[key] = loaded  # only once it loaded: a failed file is read again next time
    return loaded


def _config_of(name: str) -> EnvironmentConfig:
    """The CONFIG of environment `name`'s file, once it is known to be that
    environment's EnvironmentConfig."""
    loaded = module(name)
    path = Path(loaded.__file__)
    if not hasattr(loaded, "CONFIG"):
        raise EnvironmentFileError(
            name, [f"{_shown(path)}: defines no CONFIG; end it with CONFIG = EnvironmentConfig(name={name!r}, ...)"]
        )
    config = loaded.CONFIG
    if not isinstance(config, EnvironmentConfig):
        source = _Source(path)
        raise EnvironmentFileError(
            name,
            [
                f"{source.where(source.assignment('CONFIG'))}: CONFIG is a {type(config).__name__}, "
                f"not an EnvironmentConfig; set CONFIG = EnvironmentConfig(name={name!r}, ...)"
            ],
        )
    if config.name != name:
        # Every name (table, pipeline, state key) derives from config.name:
        # staging.py named "test" would deploy over test's resources.
        source = _Source(path)
        raise EnvironmentFileError(
            name,
            [
                f"{source.where(source.keyword('name'))}: name: {config.name!r} in {path.name}; a file configures "
                f"the environment it is named after, so set name={name!r} (with {config.name!r} it would use "
                f"{config.name}'s table, pipeline and state)"
            ],
        )
    return config


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
            configs.append(_config_of(name))
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
                others.append(_config_of(name))
            except ConfigError:
                pass  # reported when that environment itself is selected (module() converts every error)
    problems = topology_problems(configs + others)
    if problems:
        raise ConfigError(",".join(c.name for c in configs), problems)
    return configs


# --- what went wrong in a file, as `file:line: field: fix` ----------------------------
def _shown(path: Path) -> str:
    """`path` as a person typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Source:
    """The file's syntax tree, to find the line where a field is set."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.tree: ast.AST | None = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            self.tree = None

    def where(self, line: int | None) -> str:
        return f"{_shown(self.path)}:{line}" if line else _shown(self.path)

    def _lines(self, wanted) -> list[int]:
        if self.tree is None:
            return []
        return sorted({node.lineno for node in ast.walk(self.tree) if wanted(node)})

    @staticmethod
    def _only(lines: list[int]) -> int | None:
        return lines[0] if len(lines) == 1 else None

    def keyword(self, name: str) -> int | None:
        """The line of the one `name=` argument in the file, if there is one."""
        return self._only(self._lines(lambda node: isinstance(node, ast.keyword) and node.arg == name))

    def call(self, callee: str) -> int | None:
        """The line of the one call of `callee(...)` in the file, if there is one."""

        def called(node):
            if not isinstance(node, ast.Call):
                return False
            function = node.func
            return (isinstance(function, ast.Name) and function.id == callee) or (
                isinstance(function, ast.Attribute) and function.attr == callee
            )

        return self._only(self._lines(called))

    def assignment(self, name: str) -> int | None:
        """The line of the last top-level assignment to `name`."""
        if self.tree is None:
            return None
        lines = [
            node.lineno
            for node in getattr(self.tree, "body", [])
            if isinstance(node, ast.Assign | ast.AnnAssign)
            and any(isinstance(t, ast.Name) and t.id == name for t in getattr(node, "targets", None) or [node.target])
        ]
        return lines[-1] if lines else None

    def imported(self, name: str) -> int | None:
        """The line of the one `import name` / `from ... import name` in the file."""
        return self._only(self._lines(lambda node: isinstance(node, ast.alias) and node.name == name))

    def bound(self) -> set[str]:
        """The names the file assigns, imports or defines."""
        names: set[str] = set()
        for node in ast.walk(self.tree) if self.tree is not None else ():
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
        return names

    def field(self, path: str) -> int | None:
        """The line setting field `path` (`deploy_targets[0].role_arn`): the
        innermost part that is set by name exactly once in the file."""
        for part in reversed([p for p in re.split(r"[.\[\]]+", path) if p and not p.isdigit()]):
            line = self.keyword(part)
            if line:
                return line
        return None


def _suggestion(wrong: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(wrong, sorted(set(candidates)), n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


def _line_in(path: Path, error: BaseException) -> int | None:
    """The line of the file that was executing when `error` was raised (its
    innermost frame in that file)."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if Path(traceback.tb_frame.f_code.co_filename).resolve() == path:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _parameters(qualified: str) -> tuple[str, list[str]] | None:
    """The class or function of environments.config that a TypeError's
    `EnvironmentConfig.__init__()` (or `standard_deploy_targets()`) names, and
    the names it takes."""
    name = qualified.removesuffix(".__init__")
    target = getattr(_config_module, name, None)
    if target is None:
        return None
    if dataclasses.is_dataclass(target):
        return name, [f.name for f in dataclasses.fields(target) if f.init]
    try:
        return name, list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return None


_CALL_ERROR = re.compile(r"(?P<callee>[\w.]+)\(\) (?P<what>.*)")


def _call_problem(error: TypeError, source: _Source, line: int | None) -> str | None:
    """A call with fields it does not take or without fields it needs."""
    found = _CALL_ERROR.fullmatch(str(error))
    known = _parameters(found["callee"]) if found else None
    if known is None:
        return None
    callee, parameters = known
    what = found["what"]
    unexpected = re.fullmatch(r"got an unexpected keyword argument '(\w+)'", what)
    if unexpected:
        wrong = unexpected[1]
        hint = _suggestion(wrong, parameters) or f"; it takes {', '.join(parameters)}"
        return f"{source.where(source.keyword(wrong) or line)}: {wrong}: {callee} has no field {wrong!r}{hint}"
    missing = re.fullmatch(r"missing \d+ required (?:positional|keyword-only) arguments?: (.*)", what)
    if missing:
        fields = re.findall(r"'(\w+)'", missing[1])
        return (
            f"{source.where(source.call(callee) or line)}: {', '.join(fields)}: {callee} needs "
            f"{' and '.join(fields)}; add {', '.join(f'{f}=...' for f in fields)}"
        )
    return f"{source.where(source.call(callee) or line)}: {callee}: {what}; pass each field by name (field=value)"


def _file_error(name: str, path: Path, error: Exception) -> EnvironmentFileError:
    """`error`, raised while executing environment `name`'s file, as problems
    naming the file, the line and the field."""
    source = _Source(path)
    line = _line_in(path, error)
    if isinstance(error, ConfigError):
        # The validation's own problems (a bad value, a wrong type), each at
        # the line where its field is set.
        return EnvironmentFileError(
            name, [f"{source.where(source.field(p.split(':', 1)[0]) or line)}: {p}" for p in error.problems]
        )
    problem = _call_problem(error, source, line) if isinstance(error, TypeError) else None
    return EnvironmentFileError(name, [problem or _raised_problem(error, source, line)])


def _raised_problem(error: Exception, source: _Source, line: int | None) -> str:
    exported = [n for n in dir(_config_module) if not n.startswith("_")]
    if isinstance(error, SyntaxError):
        if error.filename and Path(error.filename).resolve() == source.path:
            where = source.where(error.lineno)
            return f"{where}: syntax error: {error.msg} (Python stops at the first; fix it, run again)"
        return f"{source.where(line)}: syntax error in {error.filename}:{error.lineno}: {error.msg}"
    if isinstance(error, NameError) and error.name:
        known = source.bound() | set(dir(builtins))
        hint = _suggestion(error.name, [*exported, *known])
        if hint and hint.split("`")[1] not in known:
            hint += " (import it from environments.config)"
        return f"{source.where(line)}: {error}{hint}"
    missing = re.match(r"cannot import name '(\w+)'", str(error)) if isinstance(error, ImportError) else None
    if missing and error.name == _config_module.__name__:
        return (
            f"{source.where(source.imported(missing[1]) or line)}: cannot import name {missing[1]!r} "
            f"from 'environments.config'{_suggestion(missing[1], exported)}"
        )
    hint = ""
    if isinstance(error, AttributeError) and getattr(error, "name", None) and getattr(error, "obj", None) is not None:
        hint = _suggestion(error.name, [n for n in dir(error.obj) if not n.startswith("_")])
    return f"{source.where(line)}: {type(error).__name__}: {error}{hint}"
