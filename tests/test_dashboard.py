"""The dashboard renderer (modules/dashboard.py): a pure function from the
metrics-and-alarms table and an environment's configuration to the dashboard
body, tested here without synthesis."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from environments import load
from modules import dashboard, metrics
from topology import naming

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config():
    return load("test")


@pytest.fixture(scope="module")
def table(config):
    return metrics.table(config)


def cells(widgets: list[dict]) -> list[tuple[int, int]]:
    return [
        (x, y) for w in widgets for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])
    ]


def test_half_width_graphs_two_a_row_then_full_width_then_the_alarm_status(table, config):
    widgets = dashboard.body(table, config)["widgets"]
    half = [w for w in widgets if w["type"] == "metric" and w["width"] == 12]
    full = [w for w in widgets if w["type"] == "metric" and w["width"] == 24]
    assert [(w["x"], w["y"]) for w in half] == [(12 * (i % 2), 6 * (i // 2)) for i in range(len(half))]
    below = max(w["y"] + w["height"] for w in half)
    assert [w["y"] for w in full] == [below + 6 * i for i in range(len(full))]
    assert widgets[-1]["type"] == "alarm" and widgets[-1]["y"] == below + 6 * len(full)
    assert len(cells(widgets)) == len(set(cells(widgets)))
    assert all(0 <= x < 24 for x, _ in cells(widgets))


def test_every_alarm_of_the_table_is_in_the_status_widget_and_nothing_else(table, config):
    status = dashboard.body(table, config)["widgets"][-1]["properties"]["alarms"]
    suffixes = sorted(alarm.suffix for _, alarm in metrics.alarms(table))
    prefix = f"arn:aws:cloudwatch:{config.region}:{config.account_id}:alarm:"
    assert status == [prefix + config.names.alarm(s) for s in suffixes]
    # The health and probe alarms are rows of the table too.
    assert {naming.HEALTH_PROBE_SILENT, *(naming.health_alarm_suffix(t) for t in naming.DEPLOY_STAGES)} <= set(suffixes)


def test_each_graph_draws_its_rows_with_their_dimensions_and_period(table, config):
    graphs = {w["properties"]["title"]: w for w in dashboard.body(table, config)["widgets"][:-1]}
    health = graphs[metrics.HEALTH.title]["properties"]
    assert health["period"] == 60
    assert [m[:6] for m in health["metrics"]] == [
        ["KiroPipeline", "HealthCheckStatus", "Environment", config.name, "Target", t] for t in naming.DEPLOY_STAGES
    ]
    executions = graphs[metrics.EXECUTIONS.title]["properties"]
    assert executions["period"] == config.polling_interval_minutes * 60
    assert executions["region"] == config.region


def test_a_new_row_is_a_new_graph_and_an_ungraphed_row_only_an_alarm(table, config):
    """The renderer draws what the table says: a row with a new panel gets a
    graph; a row without a panel (the probe-silent alarm) is only an alarm."""
    alarm = metrics.Alarm(suffix="demo", description="d", comparison=">", threshold=1, topic="deployments")
    added = (
        *table,
        metrics.Row("Demo", "Sum", metrics.Panel("Demo graph")),
        metrics.Row("Hidden", "Sum", None, alarm),
    )
    widgets = dashboard.body(added, config)["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    assert titles.count("Demo graph") == 1
    assert not any(m[1] == "Hidden" for w in widgets[:-1] for m in w["properties"]["metrics"])
    assert widgets[-1]["properties"]["alarms"][0].endswith(":alarm:" + config.names.alarm("demo"))
    assert len(cells(widgets)) == len(set(cells(widgets)))


def test_the_period_follows_the_configuration(table, config):
    slower = dataclasses.replace(config, polling_interval_minutes=config.polling_interval_minutes + 4)
    graphs = dashboard.body(metrics.table(slower), slower)["widgets"]
    assert graphs[0]["properties"]["period"] == slower.polling_interval_minutes * 60


def test_the_renderer_and_the_table_import_no_cdktf():
    """Pure: they load without cdktf, so they are tested without synthesis."""
    probe = "import sys, modules.dashboard, modules.metrics; print(sorted(m for m in sys.modules if 'cdktf' in m))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
