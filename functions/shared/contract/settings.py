"""Each function's settings: the environment variables its handler reads,
and how each is parsed, validated once at cold start.

The monitoring stack gives each function its environment; the test
tests/test_contract.py holds the variables each synthesized function gets
equal to its handler's settings here (BY_HANDLER, keyed by the Lambda
handler string's module).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..stages import APPROVAL_TIMEOUT


class SettingsError(RuntimeError):
    """Every missing or invalid variable, reported together."""


def read(spec: Mapping[str, Callable[[str], object]], environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Parse each variable in `spec` with its parser; raise one error naming all problems."""
    environ = os.environ if environ is None else environ
    values, problems = {}, []
    for name, parse in spec.items():
        raw = environ.get(name, "")
        if not raw.strip():
            problems.append(f"{name} is not set")
            continue
        try:
            values[name] = parse(raw)
        except (TypeError, ValueError) as error:
            problems.append(f"{name}={raw!r} is invalid: {error}")
    if problems:
        raise SettingsError("configuration error: " + "; ".join(problems))
    return values


def arn(service: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        parts = value.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != service:
            raise ValueError(f"not an ARN of {service}")
        return value

    return parse


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be positive")
    return number


def spec(settings: Mapping[str, Callable[[str], object]], **parsers: Callable[[str], object]) -> dict[str, Callable]:
    """A function's settings, with some parsers replaced by the function's
    own (a stricter reading that lives in its package); a name the settings
    do not have is a programming error, raised at import."""
    unknown = sorted(set(parsers) - set(settings))
    if unknown:
        raise KeyError(f"not settings of this function: {', '.join(unknown)}")
    return {**settings, **parsers}


# --- variable names --------------------------------------------------------
TABLE_NAME = "TABLE_NAME"
TABLE_INDEX = "TABLE_INDEX"
PIPELINE_NAME = "PIPELINE_NAME"
PIPELINE_ARN = "PIPELINE_ARN"
TOPIC_ARN = "TOPIC_ARN"
ENVIRONMENT = "ENVIRONMENT"
METRICS_NAMESPACE = "METRICS_NAMESPACE"
RECORD_TTL_DAYS = "RECORD_TTL_DAYS"
ROLLBACK_ALARMS = "ROLLBACK_ALARMS"
ARTIFACT_EXPIRATION_DAYS = "ARTIFACT_EXPIRATION_DAYS"
ALARM_TARGETS = "ALARM_TARGETS"
WINDOW_DAYS = "WINDOW_DAYS"
TARGETS = "TARGETS"
TIMEOUT_SECONDS = "TIMEOUT_SECONDS"
SECRET_ID = "SECRET_ID"  # noqa: S105 - a variable name, not a secret
WINDOW_CRON = "WINDOW_CRON"
WINDOW_TIME_ZONE = "WINDOW_TIME_ZONE"
INCIDENT_WAIT_MINUTES = "INCIDENT_WAIT_MINUTES"
APPROVAL_TIMEOUT_MINUTES = "APPROVAL_TIMEOUT_MINUTES"
BAKE_MINUTES = "BAKE_MINUTES"
CALENDAR_NAME = "CALENDAR_NAME"
FREEZE_STAGE = "FREEZE_STAGE"
DEPLOYMENTS_TOPIC_ARN = "DEPLOYMENTS_TOPIC_ARN"

# --- each function's settings: name -> parser (required) -----------------------
DEPLOYMENT_RECORDER = {
    TABLE_NAME: str,
    PIPELINE_NAME: str,
    ENVIRONMENT: str,
    METRICS_NAMESPACE: str,
    RECORD_TTL_DAYS: positive_int,
}
ROLLBACK = {
    TABLE_NAME: str,
    TABLE_INDEX: str,
    PIPELINE_ARN: arn("codepipeline"),
    TOPIC_ARN: arn("sns"),
    ENVIRONMENT: str,
    RECORD_TTL_DAYS: positive_int,
    # A JSON object of alarm to stage; rollback/aws.py's parse_alarm_map reads it.
    ROLLBACK_ALARMS: json.loads,
    # Targets older than this have lost their artifacts: refused.
    ARTIFACT_EXPIRATION_DAYS: positive_int,
}
INCIDENT_RECORDER = {
    TABLE_NAME: str,
    ENVIRONMENT: str,
    ALARM_TARGETS: json.loads,
    RECORD_TTL_DAYS: positive_int,
}
DORA_METRICS = {
    TABLE_NAME: str,
    TABLE_INDEX: str,
    ENVIRONMENT: str,
    METRICS_NAMESPACE: str,
    WINDOW_DAYS: positive_int,
}
HEALTH_PROBE = {
    # A JSON object of deploy target to https URL; health_probe/targets.py reads it.
    TARGETS: json.loads,
    ENVIRONMENT: str,
    METRICS_NAMESPACE: str,
    TIMEOUT_SECONDS: positive_int,
}
SLACK_NOTIFIER = {SECRET_ID: str, TABLE_NAME: str, ENVIRONMENT: str}
EXECUTION_AGE = {PIPELINE_NAME: str, ENVIRONMENT: str, METRICS_NAMESPACE: str}
FREEZE_GATE = {
    CALENDAR_NAME: str,
    PIPELINE_NAME: str,
    FREEZE_STAGE: str,
    TABLE_NAME: str,
    ENVIRONMENT: str,
    RECORD_TTL_DAYS: positive_int,
    DEPLOYMENTS_TOPIC_ARN: arn("sns"),
}
# Optional settings: name -> (parser, default when unset or empty). The known
# waits and when each is expected to end: the window (the pipeline's own cron
# and time zone, when it has one: the stack leaves them out otherwise), the
# incident gate's WaitTime, the approval's time-out (its default is
# CodePipeline's, shared/stages.py's APPROVAL_TIMEOUT), the bake.
EXECUTION_AGE_OPTIONAL: dict[str, tuple[Any, Any]] = {
    WINDOW_CRON: (str.strip, ""),
    WINDOW_TIME_ZONE: (str.strip, "UTC"),
    INCIDENT_WAIT_MINUTES: (positive_int, 30),
    APPROVAL_TIMEOUT_MINUTES: (positive_int, int(APPROVAL_TIMEOUT.total_seconds()) // 60),
    BAKE_MINUTES: (positive_int, 10),
}

# Every function's variables, in order, by its package (functions/<package>/):
# the monitoring stack gives each function these (modules/lambdas.py; an
# optional one only when it has a value), and its handler reads them.
BY_PACKAGE: dict[str, tuple[str, ...]] = {
    "deployment_recorder": tuple(DEPLOYMENT_RECORDER),
    "rollback": tuple(ROLLBACK),
    "incident_recorder": tuple(INCIDENT_RECORDER),
    "dora_metrics": tuple(DORA_METRICS),
    "health_probe": tuple(HEALTH_PROBE),
    "slack_notifier": tuple(SLACK_NOTIFIER),
    "execution_age": (*EXECUTION_AGE, *EXECUTION_AGE_OPTIONAL),
    "freeze_gate": tuple(FREEZE_GATE),
}
# The same, by the module of its Lambda handler string.
BY_HANDLER: dict[str, frozenset[str]] = {
    f"functions.{package}.handler": frozenset(names) for package, names in BY_PACKAGE.items()
}

# What shared/settings.py re-exports: the reader, its parsers, and every setting.
__all__ = sorted(
    ["SettingsError", "arn", "positive_int", "read", "spec"] + [name for name in dict(globals()) if name.isupper()]
)
