"""One package per function (issue 23, item 2): every folder of functions/
but shared/ is exactly one Lambda function, with its own handler.py whose
`handler(event, context)` is the entry point, and the package of exactly one
row of topology/functions.py; every row's package exists; a function's code
imports only its own package and shared/ of ours, so each zip runs alone.
functions/package.py builds a zip per such folder, found by itself.

Each rule is shown to fail on a planted break, in a copy of functions/.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
import zipfile
from pathlib import Path

from functions import package
from topology.functions import FUNCTIONS, Function

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "functions"
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


def problems(root: Path, rows: tuple[Function, ...]) -> list[str]:
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
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


# --- the rules ------------------------------------------------------------------
def test_each_folder_of_functions_is_one_function_of_the_table():
    assert problems(ROOT, FUNCTIONS) == []


def test_the_zip_builder_builds_exactly_the_tables_packages():
    """Adding a function needs no edit to package.py: it finds the folder."""
    assert set(package.FUNCTIONS) == {row.package for row in FUNCTIONS}
    assert package.discover(ROOT) == package.FUNCTIONS


def test_shared_code_loads_under_one_name_in_each_zip(tmp_path):
    """A function's zip holds no other function's package: only its own and shared/."""
    for row in FUNCTIONS:
        with zipfile.ZipFile(package.build(row.package, tmp_path)) as archive:
            tops = {name.split("/")[0] for name in archive.namelist()}
        assert tops == {"functions"}, row.function
        packages = {name.split("/")[1] for name in archive.namelist() if name.count("/") > 1}
        assert packages == {row.package, SHARED}, row.function


# --- planted breaks ---------------------------------------------------------------
def test_a_second_function_in_a_package_is_caught():
    """The break of issue 23: one package holding several functions (the
    recorder's package once carried the execution age, DORA and incidents)."""
    recorder = next(row for row in FUNCTIONS if row.function == "deployment_recorder")
    planted = (*FUNCTIONS, dataclasses.replace(recorder, function="execution_age_again", purpose="again"))
    assert problems(ROOT, planted) == [
        "functions/deployment_recorder/ is the package of 2 rows of topology/functions.py "
        "(deployment_recorder, execution_age_again): it must be exactly one"
    ]


def test_a_folder_without_handler_or_row_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    (root / "stray").mkdir()
    (root / "stray" / "logic.py").write_text("X = 1\n")
    (root / "orphan").mkdir()
    (root / "orphan" / "handler.py").write_text("def handler(event, context=None):\n    return {}\n")
    assert problems(root, FUNCTIONS) == [
        "functions/orphan/ is the package of 0 rows of topology/functions.py (none): it must be exactly one",
        "functions/stray/ has no handler.py: a folder of functions/ is one function",
    ]
    # The zip builder finds the new function by itself (and not the stray folder).
    assert "orphan" in package.discover(root) and "stray" not in package.discover(root)


def test_a_handler_without_entry_point_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    handler = root / "incident_recorder" / "handler.py"
    handler.write_text(handler.read_text().replace("def handler(", "def handle("))
    assert problems(root, FUNCTIONS) == ["functions/incident_recorder/handler.py defines no handler(event, context)"]


def test_a_row_whose_package_is_missing_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    shutil.rmtree(root / "dora_metrics")
    assert problems(root, FUNCTIONS) == [
        "topology/functions.py: dora_metrics runs package 'dora_metrics', which functions/ does not have"
    ]


def test_a_function_importing_another_functions_package_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    handler = root / "execution_age" / "handler.py"
    handler.write_text(handler.read_text() + "\nfrom functions.deployment_recorder import logic  # noqa\n")
    assert problems(root, FUNCTIONS) == [
        "functions/execution_age/handler.py imports deployment_recorder: a function imports only its own "
        "package and shared/ (move the code to shared/)"
    ]


def test_shared_code_under_a_second_import_name_is_caught(tmp_path):
    """Issue 23: `shared.*` beside `functions.shared.*` loaded every class
    twice in one process (an isinstance across the two failed)."""
    root = copy_of_functions(tmp_path)
    handler = root / "rollback" / "handler.py"
    handler.write_text(handler.read_text() + "\nfrom shared import records  # noqa\n")
    assert problems(root, FUNCTIONS) == [
        "functions/rollback/handler.py imports shared: code of functions/ has one import name, "
        "functions.<package> (as in the zip)"
    ]


def test_each_handler_module_loads_under_one_name():
    """Lambda runs `functions.<package>.handler.handler`: the module loads
    from the zip's root exactly as the tests and ops load it from the
    repository root, and no second name of shared code is loaded."""
    import importlib
    import sys

    for row in FUNCTIONS:
        module = importlib.import_module(f"functions.{row.package}.handler")
        assert callable(module.handler)
        assert Path(module.__file__).resolve() == ROOT / row.package / "handler.py"
        assert module.handler.__module__ == f"functions.{row.package}.handler"
    assert not {name for name in sys.modules if name.split(".")[0] in {SHARED, *folders(ROOT)}}
