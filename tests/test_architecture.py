"""The import structure: no cycles between our modules, and no package imports
one above it (topology < environments < modules, ops < tools; review reads
only topology, since the workflows run it on a bare python3)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("topology", "environments", "modules", "ops", "tools", "functions", "review")
# What each package may import of ours (besides itself).
ALLOWED = {
    "topology": set(),
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
# library only): test_the_modules_ops_borrows_from_tools_are_leaves.
ALLOWED_MODULES = {"ops": {"tools.terraform_cli"}}


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


def test_no_import_cycles():
    assert cycles(graph()) == []


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


def test_no_package_imports_one_above_it():
    assert layer_breaks(graph()) == []


def test_the_layer_check_finds_review_importing_more_than_topology():
    planted = {"review.plan_files": {"environments.config", "topology.naming"}}
    assert layer_breaks(planted) == ["review.plan_files imports environments.config"]


def test_the_modules_ops_borrows_from_tools_are_leaves():
    edges = graph()
    for borrowed in ALLOWED_MODULES["ops"]:
        assert borrowed in edges, borrowed
        assert edges[borrowed] == set(), f"{borrowed} imports {edges[borrowed]}: it must stay standard library only"


def test_the_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Declarative policy tables: one statement after another, clearer whole.
LONG_ALLOWED = {
    ("modules/core.py", "_kms_key"),
    ("modules/build_project.py", "_project_statements"),
    ("ops/ci_access.py", "release_denies"),
}
MAX_FUNCTION_LINES = 60


def long_functions(paths) -> list[tuple[str, str, int]]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append((path.relative_to(REPO).as_posix(), node.name, length))
    return found


def test_no_function_over_sixty_lines():
    paths = [REPO / "main.py", *(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))]
    long = [f for f in long_functions(p for p in paths if "__pycache__" not in p.parts) if f[:2] not in LONG_ALLOWED]
    assert long == []


def test_the_length_check_counts_lines():
    source = REPO / ".make" / "long_function_probe.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text("def f():\n" + "    x = 1\n" * 61)
    assert [(name, n) for _, name, n in long_functions([source])] == [("f", 62)]


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


def test_only_its_own_file_uses_the_production_rehearsal(tmp_path):
    assert fixture_breaks(sorted((REPO / "tests").glob("test_*.py"))) == []
    # The check can fail: another file that asks for it.
    stray = tmp_path / "test_stray.py"
    stray.write_text("def test_x(production_rehearsal):\n    pass\n")
    assert fixture_breaks([stray]) == ["test_stray.py: production_rehearsal"]


def test_the_codepipeline_model_imports_no_product_code():
    """The semantics model answers from AWS's documentation, not from our
    code: it imports the standard library, botocore and itself only (the
    scenario harness, tests/support/delivery_world.py, connects the two)."""
    import ast
    import sys

    model = REPO / "tests" / "codepipeline_model"
    allowed = set(sys.stdlib_module_names) | {"botocore"}
    found = {}
    for path in sorted(model.glob("*.py")):
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
    assert found == {}
