"""The checkers behind tests/test_architecture.py's rules: each returns the
breaks it finds, one line each, so a rule's test asserts `== []` on the
repository and a planted break's test asserts the exact line.

Standard library and our leaf tables only (topology, the contract).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from functions.shared.contract import metrics, records
from topology.functions import Function

REPO = Path(__file__).resolve().parent.parent.parent


# --- layers and cycles ------------------------------------------------------------
PACKAGES = ("topology", "environments", "modules", "ops", "tools", "functions", "review")
# What each package may import of ours (besides itself).
ALLOWED = {
    "topology": set(),
    # A function's zip holds functions/ alone (functions/package.py).
    "functions": set(),
    "environments": {"topology", "functions"},
    "modules": {"topology", "environments", "functions"},
    "ops": {"topology", "environments", "functions"},
    "tools": {"topology", "environments", "modules", "ops", "functions", "review"},
    # Plan review runs on the runner's bare python3 (tests/test_review_package.py).
    "review": {"topology"},
}
# One module below its package's layer, by name: `ops preflight` resolves the
# Terraform provider exactly as the rehearsal and `make tf-validate` do, so
# the Terraform CLI's facts keep one home. It must stay a leaf (standard
# library only).
# The stage and action names and the record's attribute names live in the
# functions' contract, which the Lambda zips carry; topology reads them there
# (functions/shared/contract/stages.py, records.py).
# Each borrowed module must stay a leaf: it imports nothing of ours.
ALLOWED_MODULES = {
    "ops": {"tools.terraform_cli"},
    "topology": {"functions.shared.contract.stages", "functions.shared.contract.records"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules of ours that `path` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in found if n.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    modules = {
        module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if "__pycache__" not in p.parts
    }
    return {name: {i for i in imports(path) if i in modules and i != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_breaks(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} imports {target}"
        for name, targets in edges.items()
        for target in targets
        if name.split(".")[0] in ALLOWED
        and target.split(".")[0] != name.split(".")[0]
        and target.split(".")[0] not in ALLOWED[name.split(".")[0]]
        and target not in ALLOWED_MODULES.get(name.split(".")[0], set())
    ]


# --- one function per package, one import name ------------------------------------
FUNCTIONS_ROOT = REPO / "functions"
SHARED = "shared"


def folders(root: Path) -> set[str]:
    """The packages under functions/ (package.py is a file; caches are not packages)."""
    return {p.name for p in root.iterdir() if p.is_dir() and p.name not in (SHARED, "__pycache__")}


def entry_point(handler: Path) -> ast.FunctionDef | None:
    """The module-level `handler` function of handler.py, if there is one."""
    for node in ast.parse(handler.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name == "handler":
            return node
    return None


def imported_modules(path: Path) -> set[str]:
    """The modules a file imports absolutely."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def imported_roots(path: Path) -> set[str]:
    """The packages of ours (under functions.) and the other top-level names a file imports."""
    roots = set()
    for module in imported_modules(path):
        parts = module.split(".")
        roots.add(parts[1] if parts[0] == "functions" and len(parts) > 1 else parts[0])
    return roots


def function_package_breaks(root: Path, rows: tuple[Function, ...]) -> list[str]:
    """Every break of the one-function-per-package rule, one line each."""
    found = []
    packages = folders(root)
    by_package: dict[str, list[str]] = {}
    for row in rows:
        by_package.setdefault(row.package, []).append(row.function)
    for name in sorted(packages):
        handler = root / name / "handler.py"
        if not handler.is_file():
            found.append(f"functions/{name}/ has no handler.py: a folder of functions/ is one function")
            continue
        entry = entry_point(handler)
        if entry is None:
            found.append(f"functions/{name}/handler.py defines no handler(event, context)")
        elif [a.arg for a in entry.args.args[:2]] != ["event", "context"]:
            found.append(f"functions/{name}/handler.py: handler's first parameters must be (event, context)")
        functions = by_package.get(name, [])
        if len(functions) != 1:
            found.append(
                f"functions/{name}/ is the package of {len(functions)} rows of topology/functions.py "
                f"({', '.join(functions) or 'none'}): it must be exactly one"
            )
        for module in sorted((root / name).rglob("*.py")):
            second = {m for m in imported_modules(module) if m.split(".")[0] in packages | {SHARED}}
            if second:
                found.append(
                    f"{module.relative_to(root.parent).as_posix()} imports {', '.join(sorted(second))}: "
                    "code of functions/ has one import name, functions.<package> (as in the zip)"
                )
            others = (imported_roots(module) & packages) - {name}
            if others:
                found.append(
                    f"{module.relative_to(root.parent).as_posix()} imports {', '.join(sorted(others))}: "
                    "a function imports only its own package and shared/ (move the code to shared/)"
                )
    for package_name, functions in sorted(by_package.items()):
        if package_name not in packages:
            found.append(
                f"topology/functions.py: {', '.join(functions)} runs package {package_name!r}, "
                f"which functions/ does not have"
            )
    return found


def copy_of_functions(tmp_path: Path) -> Path:
    copy = tmp_path / "functions"
    shutil.copytree(FUNCTIONS_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


# --- the contract instead of literals ---------------------------------------------
CONTRACT = REPO / "functions" / "shared" / "contract"
# Attribute names the scan can hold to the contract by their text alone:
# the twins are also field names of AWS answers and events (records.py says so).
GUARDED = (records.ATTRIBUTES - records.AWS_FIELD_TWINS) | metrics.NAMES


# Every attribute name, twins included: where code is plainly writing one of
# our records (a dict whose keys include a contract constant), no key is text.
ATTRIBUTE_NAMES = records.ATTRIBUTES
# Calls whose keyword names are log fields, not record attributes.
LOGGERS = {"log", "logger"}


def _is_contract_name(node: ast.AST) -> bool:
    """`records.X`: a contract constant."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "records"


def _is_log_call(node: ast.Call) -> bool:
    return (
        isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS
    )


def literal_uses(path: Path, source: str | None = None) -> list[str]:
    """`file:line 'name'` for each place a record attribute or metric name is
    written as text: a string constant equal to a guarded name (docstrings
    included: a name in prose is written with its constant too); a keyword
    argument named after one (`record(failureReason=...)`; log fields
    excepted); and, in a dict that is plainly a record (a key is a contract
    constant), a text key equal to any attribute, the names AWS shares too."""
    tree = ast.parse(path.read_text() if source is None else source)
    found = []

    def at(node: ast.AST, name: str) -> None:
        found.append(f"{path.relative_to(REPO)}:{node.lineno} {name!r}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in GUARDED:
            at(node, node.value)
        elif isinstance(node, ast.Call) and not _is_log_call(node):
            for keyword in node.keywords:
                if keyword.arg in GUARDED:
                    at(keyword.value, keyword.arg)
        elif isinstance(node, ast.Dict) and any(_is_contract_name(k) for k in node.keys if k is not None):
            for key in node.keys:
                text = isinstance(key, ast.Constant) and isinstance(key.value, str)
                if text and key.value in ATTRIBUTE_NAMES - GUARDED:
                    at(key, key.value)
    # One line per place, by line (ast.walk is breadth-first), in the order found within a line.
    return sorted(dict.fromkeys(found), key=lambda line: int(line.split(":")[1].split()[0]))


BUILDSPECS = REPO / "buildspecs"


def buildspec_literals(path: Path, text: str | None = None) -> list[str]:
    """`file:line 'name'` for each word of a buildspec equal to a guarded
    name: the buildspecs read the contract's names from variables the
    pipeline stack gives them (modules/build_project.py)."""
    import re

    found = []
    for number, line in enumerate((path.read_text() if text is None else text).splitlines(), 1):
        found += [
            f"{path.relative_to(REPO)}:{number} {word!r}"
            for word in re.findall(r"[A-Za-z]\w*", line)
            if word in GUARDED
        ]
    return found


def product_files() -> list[Path]:
    files = []
    for root in ("functions", "ops", "modules"):
        for path in sorted((REPO / root).rglob("*.py")):
            if "__pycache__" not in path.parts and not path.is_relative_to(CONTRACT):
                files.append(path)
    return files


# --- small functions, shared fixtures ----------------------------------------------
# Declarative tables: one row or statement after another, clearer whole.
LONG_ALLOWED = {
    # The metrics-and-alarms table: adding an alarm is a row here, so it grows by rows.
    ("modules/metrics.py", "table"),
    ("modules/core.py", "_kms_key"),
    ("modules/build_project.py", "_project_statements"),
    ("ops/ci_access.py", "release_denies"),
}
MAX_FUNCTION_LINES = 60


def long_functions(paths, root: Path = REPO) -> list[tuple[str, str, int]]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append((path.relative_to(root).as_posix(), node.name, length))
    return found


# A session fixture of the acceptance tier and the one test file that may use
# it: under `--dist loadfile` a file's tests share a worker, so it is built once.
SHARED_FIXTURES = {"production_rehearsal": "test_rehearsal.py"}


def fixture_breaks(paths) -> list[str]:
    """Test files that ask for a shared acceptance fixture other than its own
    file (it would be built again on the other worker)."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text())
        asked = {
            arg.arg
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for arg in node.args.args
            if arg.arg in SHARED_FIXTURES
        }
        found += [f"{path.name}: {name}" for name in sorted(asked) if SHARED_FIXTURES[name] != path.name]
    return found


# --- the CodePipeline semantics model stands apart -----------------------------------
MODEL = REPO / "tests" / "codepipeline_model"


def model_import_breaks(paths) -> dict[str, list[str]]:
    """Imports of the semantics model's files beyond the standard library,
    botocore and the model itself, by file."""
    import sys

    allowed = set(sys.stdlib_module_names) | {"botocore"}
    found: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] not in allowed:
                    found.setdefault(path.name, []).append(name)
    return found
