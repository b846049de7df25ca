"""The dashboard's body, rendered from the metrics-and-alarms table
(modules/metrics.py) and the environment's configuration: a pure function,
tested without synthesis (tests/test_dashboard.py).

The layout: the table's half-width panels two a row, in the table's order;
then each full-width panel on a row of its own; then the status of every
alarm. CloudWatch places widgets on a 24-column grid: "The width of the
widget in grid units (in a 24-column grid)" (CloudWatch dashboard body
structure, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

from environments import EnvironmentConfig
from modules.metrics import Panel, Row, alarms
from topology import naming

GRID_WIDTH = 24
HEIGHT = 6
ALARM_STATUS_HEIGHT = 4


def panels(rows: tuple[Row, ...]) -> dict[Panel, list[Row]]:
    """The graphed rows by panel, in the order the table first names each."""
    found: dict[Panel, list[Row]] = {}
    for row in rows:
        if row.panel is not None:
            found.setdefault(row.panel, []).append(row)
    return found


def metric_widget(panel: Panel, rows: list[Row], config: EnvironmentConfig, *, x: int, y: int) -> dict:
    """A graph of the panel's rows, each with its namespace and dimensions."""
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": GRID_WIDTH if panel.full_width else GRID_WIDTH // 2,
        "height": HEIGHT,
        "properties": {
            "title": panel.title,
            "region": config.region,
            "view": "timeSeries",
            "period": panel.period_seconds or config.polling_interval_minutes * 60,
            "metrics": [
                [
                    row.namespace,
                    row.name,
                    *(part for dimension in row.dimensions_in(config.name).items() for part in dimension),
                    {"stat": row.statistic},
                ]
                for row in rows
            ],
        },
    }


def alarm_arns(rows: tuple[Row, ...], config: EnvironmentConfig) -> list[str]:
    """Every alarm of the table, by suffix."""
    names = config.names
    return [
        naming.arn(config.partition, "cloudwatch", config.region, config.account_id, f"alarm:{names.alarm(suffix)}")
        for suffix in sorted(alarm.suffix for _, alarm in alarms(rows))
    ]


def body(rows: tuple[Row, ...], config: EnvironmentConfig) -> dict:
    """The dashboard body (its JSON, before escaping for Terraform)."""
    graphs = panels(rows)
    half = [(panel, graphed) for panel, graphed in graphs.items() if not panel.full_width]
    full = [(panel, graphed) for panel, graphed in graphs.items() if panel.full_width]
    below = HEIGHT * -(-len(half) // 2)  # the half-width graphs' rows, two a row
    widgets = [
        *(
            metric_widget(panel, graphed, config, x=(GRID_WIDTH // 2) * (i % 2), y=HEIGHT * (i // 2))
            for i, (panel, graphed) in enumerate(half)
        ),
        *(metric_widget(panel, graphed, config, x=0, y=below + HEIGHT * i) for i, (panel, graphed) in enumerate(full)),
        {
            "type": "alarm",
            "x": 0,
            "y": below + HEIGHT * len(full),
            "width": GRID_WIDTH,
            "height": ALARM_STATUS_HEIGHT,
            "properties": {"title": "Alarm status", "alarms": alarm_arns(rows, config)},
        },
    ]
    return {"widgets": widgets}
