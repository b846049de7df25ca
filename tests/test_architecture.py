"""The rules of the code's structure, each stated once and each shown to
fail on a planted break (the checkers: tests/support/architecture.py).

1. Layers: no package imports one above it (topology < environments <
   modules, ops < tools); review/ reads only topology (the workflows run it
   on a bare python3: tests/test_review_package.py runs it so); a module
   borrowed across a layer by name is a leaf. No import cycles.
2. One function per package: every folder of functions/ but shared/ is
   exactly one row of topology/functions.py, with handler(event, context);
   a function imports only its own package and shared/.
3. One import name: the functions' code is `functions.<package>` and
   `functions.shared` everywhere (zip, ops, tests), never `shared.*`.
4. The contract instead of literals: no product file under functions/,
   ops/ or modules/ writes a record attribute or a metric name as a string
   or a keyword argument, nor a record's key as text, and no
   buildspec writes one at all (the stack passes them as variables).
5. Small functions; an acceptance fixture used by its own file only; the
   CodePipeline semantics model imports no product code.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys

from tests.support.architecture import (
    ALLOWED_MODULES,
    BUILDSPECS,
    FUNCTIONS_ROOT,
    LONG_ALLOWED,
    MODEL,
    PACKAGES,
    REPO,
    SHARED_FIXTURES,
    buildspec_literals,
    copy_of_functions,
    cycles,
    fixture_breaks,
    function_package_breaks,
    graph,
    layer_breaks,
    literal_uses,
    long_functions,
    model_import_breaks,
    product_files,
)
from topology.functions import FUNCTIONS


# --- 1. layers and cycles -----------------------------------------------------------
def test_no_package_imports_one_above_it():
    assert layer_breaks(graph()) == []


def test_the_layer_check_finds_review_importing_more_than_topology():
    planted = {"review.plan_files": {"environments.config", "topology.naming"}}
    assert layer_breaks(planted) == ["review.plan_files imports environments.config"]


def test_the_layer_check_finds_topology_borrowing_more_than_its_leaf_modules():
    planted = {"topology.naming": {"functions.shared.contract.stages", "functions.shared.contract.metrics"}}
    assert layer_breaks(planted) == ["topology.naming imports functions.shared.contract.metrics"]


def test_the_layer_check_finds_a_function_importing_outside_functions():
    planted = {"functions.rollback.logic": {"functions.shared.stages", "topology.naming"}}
    assert layer_breaks(planted) == ["functions.rollback.logic imports topology.naming"]


def test_modules_borrowed_across_a_layer_are_leaves():
    edges = graph()
    for borrowed in set().union(*ALLOWED_MODULES.values()):
        assert borrowed in edges, borrowed
        assert edges[borrowed] == set(), f"{borrowed} imports {edges[borrowed]}: it must stay a leaf"


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# --- 2. one function per package ---------------------------------------------------
def test_each_folder_of_functions_is_one_function_of_the_table():
    assert function_package_breaks(FUNCTIONS_ROOT, FUNCTIONS) == []


def test_a_second_function_in_a_package_is_caught():
    """The break of issue 23: one package holding several functions (the
    recorder's package once carried the execution age, DORA and incidents)."""
    recorder = next(row for row in FUNCTIONS if row.function == "deployment_recorder")
    planted = (*FUNCTIONS, dataclasses.replace(recorder, function="execution_age_again", purpose="again"))
    assert function_package_breaks(FUNCTIONS_ROOT, planted) == [
        "functions/deployment_recorder/ is the package of 2 rows of topology/functions.py "
        "(deployment_recorder, execution_age_again): it must be exactly one"
    ]


def test_a_folder_without_handler_or_row_is_caught(tmp_path):
    from functions import package

    root = copy_of_functions(tmp_path)
    (root / "stray").mkdir()
    (root / "stray" / "logic.py").write_text("X = 1\n")
    (root / "orphan").mkdir()
    (root / "orphan" / "handler.py").write_text("def handler(event, context=None):\n    return {}\n")
    assert function_package_breaks(root, FUNCTIONS) == [
        "functions/orphan/ is the package of 0 rows of topology/functions.py (none): it must be exactly one",
        "functions/stray/ has no handler.py: a folder of functions/ is one function",
    ]
    # The zip builder finds the new function by itself (and not the stray folder).
    assert "orphan" in package.discover(root) and "stray" not in package.discover(root)


def test_a_handler_without_entry_point_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    handler = root / "incident_recorder" / "handler.py"
    handler.write_text(handler.read_text().replace("def handler(", "def handle("))
    assert function_package_breaks(root, FUNCTIONS) == [
        "functions/incident_recorder/handler.py defines no handler(event, context)"
    ]


def test_a_row_whose_package_is_missing_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    shutil.rmtree(root / "dora_metrics")
    assert function_package_breaks(root, FUNCTIONS) == [
        "topology/functions.py: dora_metrics runs package 'dora_metrics', which functions/ does not have"
    ]


def test_a_function_importing_another_functions_package_is_caught(tmp_path):
    root = copy_of_functions(tmp_path)
    handler = root / "execution_age" / "handler.py"
    handler.write_text(handler.read_text() + "\nfrom functions.deployment_recorder import logic  # noqa\n")
    assert function_package_breaks(root, FUNCTIONS) == [
        "functions/execution_age/handler.py imports deployment_recorder: a function imports only its own "
        "package and shared/ (move the code to shared/)"
    ]


# --- 3. one import name -------------------------------------------------------------
def test_shared_code_under_a_second_import_name_is_caught(tmp_path):
    """`shared.*` beside `functions.shared.*` loaded every class twice in one
    process (an isinstance across the two failed)."""
    root = copy_of_functions(tmp_path)
    handler = root / "rollback" / "handler.py"
    handler.write_text(handler.read_text() + "\nfrom shared import records  # noqa\n")
    assert function_package_breaks(root, FUNCTIONS) == [
        "functions/rollback/handler.py imports shared: code of functions/ has one import name, "
        "functions.<package> (as in the zip)"
    ]


def test_no_module_of_functions_is_loaded_under_a_second_name():
    """After importing every handler (as Lambda does), nothing of functions/
    is in sys.modules under a name without the `functions.` prefix."""
    import importlib

    for row in FUNCTIONS:
        module = importlib.import_module(f"functions.{row.package}.handler")
        assert module.handler.__module__ == f"functions.{row.package}.handler"
    roots = {"shared", *(row.package for row in FUNCTIONS)}
    assert not {name for name in sys.modules if name.split(".")[0] in roots}


# --- 4. the contract instead of literals --------------------------------------------
def test_no_product_file_writes_a_record_attribute_or_metric_name_as_a_literal():
    found = [use for path in product_files() for use in literal_uses(path)]
    assert not found, "use functions/shared/contract/ instead of the literal:\n" + "\n".join(found)


def test_the_literal_scan_finds_a_planted_literal():
    """A publisher that writes a metric name and an attribute by hand is
    caught, with its file and line."""
    path = REPO / "functions" / "deployment_recorder" / "logic.py"
    planted = path.read_text() + '\nBROKEN = {"commitId": 1, "metric": "DeploymentFailure"}\n'
    found = literal_uses(path, planted)
    line = planted.count("\n")
    assert found == [
        f"functions/deployment_recorder/logic.py:{line} 'commitId'",
        f"functions/deployment_recorder/logic.py:{line} 'DeploymentFailure'",
    ]


def test_the_literal_scan_finds_an_attribute_written_as_a_keyword_or_a_record_key():
    """The breaks a reviewer found: `record(failureReason=...)` names an
    attribute as a keyword, and a record's dict mixes contract constants with
    text keys AWS shares (`"status"`, `"alarmName"`). A log field and an AWS
    answer read by its field name are not breaks."""
    path = REPO / "functions" / "rollback" / "handler.py"
    planted = path.read_text() + (
        "\n\ndef planted(run, store):\n"
        "    run.record(failureReason='x')\n"
        "    log.info('rolled back', failureReason='x')\n"
        "    store.claim('k', {records.ENVIRONMENT: 'test', 'status': 'STARTED'})\n"
        "    return {'status': 'answer'}\n"
    )
    end = planted.count("\n")
    assert literal_uses(path, planted) == [
        f"functions/rollback/handler.py:{end - 3} 'failureReason'",
        f"functions/rollback/handler.py:{end - 1} 'status'",
    ]


def test_the_literal_scan_covers_every_publisher():
    scanned = {p.relative_to(REPO).as_posix() for p in product_files()}
    publishers = {
        "functions/deployment_recorder/logic.py",
        "functions/shared/dora.py",
        "functions/shared/store.py",
        "functions/health_probe/logic.py",
        "functions/rollback/handler.py",
        "ops/commands/summary.py",
    }
    publishers |= {p.relative_to(REPO).as_posix() for p in (FUNCTIONS_ROOT / "execution_age").glob("*.py")}
    assert publishers <= scanned


def test_no_buildspec_writes_a_record_attribute_or_metric_name():
    found = [use for path in sorted(BUILDSPECS.glob("*.yml")) for use in buildspec_literals(path)]
    assert found == [], "take the name from a variable the pipeline stack sets:\n" + "\n".join(found)


def test_the_buildspec_scan_finds_a_planted_name():
    """The break this replaced: build.yml wrote `TestCoverage` and
    `unitTests` by hand."""
    path = BUILDSPECS / "build.yml"
    planted = (
        path.read_text()
        + "    RESULT_ATTRIBUTE: unitTests\n      - aws cloudwatch put-metric-data --metric-name TestCoverage\n"
    )
    lines = planted.count("\n")
    assert buildspec_literals(path, planted) == [
        f"buildspecs/build.yml:{lines - 1} 'unitTests'",
        f"buildspecs/build.yml:{lines} 'TestCoverage'",
    ]


# --- 5. small functions, fixtures, the semantics model ------------------------------
def test_no_function_over_sixty_lines():
    paths = [REPO / "main.py", *(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))]
    long = [f for f in long_functions(p for p in paths if "__pycache__" not in p.parts) if f[:2] not in LONG_ALLOWED]
    assert long == []


def test_the_length_check_counts_lines(tmp_path):
    source = tmp_path / "long_function_probe.py"
    source.write_text("def f():\n" + "    x = 1\n" * 61)
    assert [(name, n) for _, name, n in long_functions([source], root=tmp_path)] == [("f", 62)]


def test_only_its_own_file_uses_the_production_rehearsal(tmp_path):
    assert fixture_breaks(sorted((REPO / "tests").glob("test_*.py"))) == []
    # The check can fail: another file that asks for it.
    stray = tmp_path / "test_stray.py"
    stray.write_text("def test_x(production_rehearsal):\n    pass\n")
    assert fixture_breaks([stray]) == ["test_stray.py: production_rehearsal"]
    assert set(SHARED_FIXTURES) == {"production_rehearsal"}


def test_the_codepipeline_model_imports_no_product_code(tmp_path):
    """The semantics model answers from AWS's documentation, not from our
    code: it imports the standard library, botocore and itself only (the
    scenario harness, tests/support/delivery_world.py, connects the two)."""
    assert model_import_breaks(sorted(MODEL.glob("*.py"))) == {}
    planted = tmp_path / "planted.py"
    planted.write_text("from topology import naming\nimport json\n")
    assert model_import_breaks([planted]) == {"planted.py": ["topology"]}
