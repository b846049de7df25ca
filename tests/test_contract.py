"""The contract (functions/shared/contract/): one home for what crosses a
boundary: the docs list what it holds, the buildspecs write its names, and
each synthesized function gets exactly the environment its handler's
settings read. That product code names a record attribute or a metric only
through it is a rule of tests/test_architecture.py."""

from __future__ import annotations

import re

import pytest

from functions.shared.contract import metrics, records, settings
from tests.conftest import REPO
from topology import naming, projects


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


def test_the_projects_are_given_the_contract_names_their_buildspecs_write():
    """The buildspecs name no metric or record attribute: the pipeline stack
    gives each recording project the record's key and its result's attribute,
    and the build the coverage metric's name, from the contract."""
    written = {p.name: p.result_attribute for p in projects.all_projects() if p.result_attribute}
    assert written == {
        "build": records.UNIT_TESTS,
        "integration-test": records.INTEGRATION_TESTS,
        "e2e-test": records.E2E_TESTS,
    }


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
    with pytest.raises(RuntimeError, match="configuration error") as raised:
        handler.config()
    handler.config.cache_clear()
    named = {v for v in settings.BY_HANDLER[module] if f"{v} is not set" in str(raised.value)}
    optional = set(settings.EXECUTION_AGE_OPTIONAL) if module == "functions.execution_age.handler" else set()
    assert named == settings.BY_HANDLER[module] - optional
