"""`make bench-tests` (tools/bench_tests.py): budgets that add up, and a
table that says when one is missed."""

from __future__ import annotations

from tools import bench_tests


def test_the_step_budgets_add_up_to_cis_promise():
    assert sum(step.budget for step in bench_tests.STEPS) <= bench_tests.TOTAL_BUDGET == 900


def test_a_missed_budget_is_marked_and_the_slowest_tests_listed():
    steps = {step.name: step for step in bench_tests.STEPS}
    results = [
        bench_tests.Result(steps["test"], 100.0, 0, {"t.py::a": {"seconds": 3.0, "markers": ["unit"]}}),
        bench_tests.Result(
            steps["acceptance"],
            steps["acceptance"].budget + 1,
            0,
            {"r.py::b": {"seconds": 500.0, "markers": ["acceptance", "upgrade"]}},
        ),
    ]
    table = bench_tests.report(results)
    assert f"test                        100{steps['test'].budget:>9.0f}  ✓" in table
    assert "acceptance" in table and table.count("✗") == 2  # acceptance, and the upgrade gate's 500 s
    assert table.rstrip().endswith("3.0 s  t.py::a")
