"""The contract (functions/shared/contract/): one home for what crosses a
boundary. Product code under functions/ and ops/ names a record attribute or
a metric only through it, and each synthesized function gets exactly the
environment its handler's settings read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from functions.shared.contract import metrics, records, settings
from tests.conftest import REPO
from topology import naming, projects

CONTRACT = REPO / "functions" / "shared" / "contract"
# Attribute names the scan can hold to the contract by their text alone:
# the twins are also field names of AWS answers and events (records.py says so).
GUARDED = (records.ATTRIBUTES - records.AWS_FIELD_TWINS) | metrics.NAMES


def literal_uses(path: Path, source: str | None = None) -> list[str]:
    """`file:line 'name'` for each string constant equal to a guarded name
    (docstrings included: a name in prose is written with its constant too)."""
    tree = ast.parse(path.read_text() if source is None else source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in GUARDED:
            found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
    return found


def product_files() -> list[Path]:
    files = []
    for root in ("functions", "ops"):
        for path in sorted((REPO / root).rglob("*.py")):
            if "__pycache__" not in path.parts and not path.is_relative_to(CONTRACT):
                files.append(path)
    return files


def test_no_product_file_writes_a_record_attribute_or_metric_name_as_a_literal():
    found = [use for path in product_files() for use in literal_uses(path)]
    assert not found, "use functions/shared/contract/ instead of the literal:\n" + "\n".join(found)


def test_the_scan_finds_a_planted_literal():
    """The planted break: a publisher that writes a metric name and an
    attribute by hand is caught, with its file and line."""
    path = REPO / "functions" / "deployment_recorder" / "logic.py"
    planted = path.read_text() + '\nBROKEN = {"commitId": 1, "metric": "DeploymentFailure"}\n'
    found = literal_uses(path, planted)
    line = planted.count("\n")
    assert found == [
        f"functions/deployment_recorder/logic.py:{line} 'commitId'",
        f"functions/deployment_recorder/logic.py:{line} 'DeploymentFailure'",
    ]


def test_the_scan_covers_every_publisher():
    scanned = {p.relative_to(REPO).as_posix() for p in product_files()}
    for publisher in (
        "functions/deployment_recorder/logic.py",
        "functions/execution_age/handler.py",
        "functions/shared/dora.py",
        "functions/shared/store.py",
        "functions/health_probe/logic.py",
        "functions/rollback/handler.py",
        "ops/commands/summary.py",
    ):
        assert publisher in scanned


def test_every_attribute_the_docs_list_is_in_the_contract():
    table = (REPO / "docs" / "deployment-records.md").read_text().split("| attribute | type | meaning |")[1]
    rows = [line for line in table.split("\n\n")[0].splitlines() if line.startswith("| `")]
    documented = {name.strip("` ") for row in rows for name in row.split("|")[1].split(",")}
    assert documented - records.ATTRIBUTES == set()


def test_every_metric_the_docs_list_is_in_the_contract():
    text = (REPO / "docs" / "deployment-records.md").read_text()
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `") and "(" in line.split("|")[1]]
    documented = {name for column in rows for name in re.findall(r"`(\w+)`", column)}
    assert documented == metrics.NAMES


def test_the_contract_namespace_is_the_stacks():
    assert metrics.NAMESPACE == naming.METRICS_NAMESPACE


def test_the_build_and_test_projects_write_the_contract_names():
    """The buildspecs write a metric and test results by name (no Python
    there): they must be the contract's."""
    build = (REPO / "buildspecs" / "build.yml").read_text()
    assert f"--metric-name {metrics.TEST_COVERAGE.name}" in build
    assert f"RESULT_ATTRIBUTE: {records.UNIT_TESTS}" in build
    written = {p.result_attribute for p in projects.all_projects() if p.result_attribute}
    assert written == {records.INTEGRATION_TESTS, records.E2E_TESTS}


def test_each_function_gets_the_environment_its_handler_reads(stacks):
    checked = set()
    for name, stack in stacks.items():
        for resource, function in stack.resources("aws_lambda_function").items():
            module = function["handler"].rsplit(".", 1)[0]
            assert module in settings.BY_HANDLER, (
                f"{name}: {resource} runs {module}, which has no settings in the contract"
            )
            given = set(function.get("environment", {}).get("variables", {}))
            # Optional settings (only the execution age has them) may be left out.
            optional = set(settings.EXECUTION_AGE_OPTIONAL) if module == "functions.execution_age.handler" else set()
            assert settings.BY_HANDLER[module] - optional <= given <= settings.BY_HANDLER[module], f"{name}: {resource}"
            checked.add(module)
    assert checked == set(settings.BY_HANDLER)


@pytest.mark.parametrize("module", sorted(settings.BY_HANDLER))
def test_each_handler_reads_its_contract_settings(module, monkeypatch):
    """A handler reads exactly its contract settings: with every one unset,
    its settings error names each of them, and no other."""
    import importlib

    for variable in {v for names in settings.BY_HANDLER.values() for v in names}:
        monkeypatch.delenv(variable, raising=False)
    handler = importlib.import_module(module)
    handler.config.cache_clear()
    # The handler loads the contract as `shared.*` (two copies: see the report).
    with pytest.raises(RuntimeError, match="configuration error") as raised:
        handler.config()
    handler.config.cache_clear()
    named = {v for v in settings.BY_HANDLER[module] if f"{v} is not set" in str(raised.value)}
    optional = set(settings.EXECUTION_AGE_OPTIONAL) if module == "functions.execution_age.handler" else set()
    assert named == settings.BY_HANDLER[module] - optional
