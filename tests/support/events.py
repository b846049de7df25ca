"""Events in the documented shapes, from tests/fixtures/events, with overrides."""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def execution(state: str, time: str, execution_id: str = "exec-1", pipeline: str = "kiro-pipeline-test") -> dict:
    event = _load("pipeline_execution")
    # Each distinct event has its own ID; a redelivery of it keeps it, as EventBridge's do.
    event["id"] = f"execution-{execution_id}-{state}-{time}"
    event["time"] = time
    event["detail"].update({"state": state, "execution-id": execution_id, "pipeline": pipeline})
    return event


def stage(
    stage_name: str, state: str, time: str, execution_id: str = "exec-1", pipeline: str = "kiro-pipeline-test"
) -> dict:
    event = _load("stage_execution")
    event["id"] = f"stage-{execution_id}-{stage_name}-{state}-{time}"
    event["time"] = time
    event["detail"].update({"stage": stage_name, "state": state, "execution-id": execution_id, "pipeline": pipeline})
    return event


def alarm(
    name: str = "kiro-pipeline-test-staging-health",
    value: str = "ALARM",
    timestamp: str = "2026-11-22T05:00:00.123+0000",
) -> dict:
    event = _load("alarm_state_change")
    event["detail"]["alarmName"] = name
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"]
    event["detail"]["state"].update({"value": value, "timestamp": timestamp})
    return event


def without(event: dict, *path: str) -> dict:
    """A copy of `event` with the key at `path` removed (for malformed cases)."""
    broken = copy.deepcopy(event)
    node = broken
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return broken
