"""Load only the AWS provider submodules the app uses (upstream CDKTF issue 3753).

`cdktf_cdktf_provider_aws/__init__.py` imports all of its ~2,200 submodules
eagerly, which costs most of a synth's time; this app uses a few dozen, each
imported directly (`from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket`).
`enable()` registers the package in `sys.modules` without running that
`__init__`, so each `from cdktf_cdktf_provider_aws.<x> import ...` loads
just `<x>` (and the shared `_jsii` assembly it needs). The synthesized JSON is
byte-identical either way; tests/test_provider_import.py checks it.

Set KIRO_EAGER_PROVIDER_IMPORT=1 to turn it off (for debugging, and for
`make bench`). If the package does not look as expected (a future layout),
`enable()` warns once and leaves the normal import in place.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import types
import warnings

PACKAGE = "cdktf_cdktf_provider_aws"
DISABLE_VARIABLE = "KIRO_EAGER_PROVIDER_IMPORT"
# Skipping the package's __init__ is safe while it defines nothing a submodule
# needs: today its only definition is a `check_type` helper, of which every
# submodule has its own copy; the rest imports submodules and publishes them.
_ALLOWED_DEFINITIONS = {"check_type"}
_MIN_SUBMODULE_IMPORTS = 1000

_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        warnings.warn(f"{message}; importing {PACKAGE} normally (slower synth)", RuntimeWarning, stacklevel=3)
        _warned = True


def _layout_is_expected(spec) -> bool:
    if spec is None or not spec.origin or not spec.submodule_search_locations:
        return False
    package_dir = list(spec.submodule_search_locations)[0]
    if not os.path.isfile(os.path.join(package_dir, "_jsii", "__init__.py")):
        return False
    with open(spec.origin, encoding="utf-8") as init:
        tree = ast.parse(init.read())
    definitions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    submodule_imports = sum(1 for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None)
    return definitions <= _ALLOWED_DEFINITIONS and submodule_imports >= _MIN_SUBMODULE_IMPORTS


def enable() -> str:
    """Install the lazy package; returns what happened, for logs and tests:
    "lazy", "disabled", "already-imported" or "fallback"."""
    if os.environ.get(DISABLE_VARIABLE) == "1":
        return "disabled"
    existing = sys.modules.get(PACKAGE)
    if existing is not None:
        return "lazy" if getattr(existing, "__kiro_lazy__", False) else "already-imported"
    spec = importlib.util.find_spec(PACKAGE)
    if not _layout_is_expected(spec):
        _warn_once(f"{PACKAGE} does not have the layout {__name__} expects")
        return "fallback"

    module = importlib.util.module_from_spec(spec)  # created, never executed
    module.__kiro_lazy__ = True

    def __getattr__(name: str) -> types.ModuleType:
        # `import cdktf_cdktf_provider_aws as aws; aws.s3_bucket` still works.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{PACKAGE}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    module.__getattr__ = __getattr__
    sys.modules[PACKAGE] = module
    return "lazy"
