"""Every metric the functions (and the build) publish: namespace, name,
unit, the statistic its readers use, and its dimensions. Publishers,
`ops` and the monitoring stack's alarms and dashboard read the names here.

docs/deployment-records.md says how often each can reach CloudWatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import stages

# topology/naming.py's METRICS_NAMESPACE (the functions cannot import
# topology/; tests/test_contract.py holds the two equal). The functions read
# it from their METRICS_NAMESPACE setting.
NAMESPACE = "KiroPipeline"
# Dimension names.
ENVIRONMENT = "Environment"
TARGET = "Target"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # PutMetricData's Unit
    statistic: str  # what alarms and the dashboard read
    dimensions: tuple[str, ...] = (ENVIRONMENT,)

    def dimensions_of(self, *values: str) -> list[dict[str, str]]:
        """Its Dimensions (PutMetricData, GetMetricStatistics) with `values`,
        the environment first."""
        if len(values) != len(self.dimensions):
            raise ValueError(f"{self.name} has dimensions {self.dimensions}, given {values}")
        return [{"Name": name, "Value": value} for name, value in zip(self.dimensions, values, strict=True)]

    def datum(self, value: float, *dimension_values: str, at: datetime | None = None) -> dict[str, Any]:
        """One PutMetricData entry of this metric: its name, its unit, and its
        dimensions in order with `dimension_values` (the environment first),
        so a publisher names none of them itself."""
        entry: dict[str, Any] = {"MetricName": self.name, "Dimensions": self.dimensions_of(*dimension_values)}
        if at is not None:
            entry["Timestamp"] = at
        return {**entry, "Value": value, "Unit": self.unit}


# The deployment recorder's outcome counts (publish_metrics: at most once per final state).
DEPLOYMENT_SUCCESS = Metric("DeploymentSuccess", "Count", "Sum")
DEPLOYMENT_FAILURE = Metric("DeploymentFailure", "Count", "Sum")
BUILD_FAILURE = Metric("BuildFailure", "Count", "Sum")
RELEASE_REJECTED = Metric("ReleaseRejected", "Count", "Sum")
APPROVAL_TIMED_OUT = Metric("ApprovalTimedOut", "Count", "Sum")
RELEASE_BLOCKED_BY_GATE = Metric("ReleaseBlockedByGate", "Count", "Sum")
EXECUTION_CANCELED_BY_UPDATE = Metric("ExecutionCanceledByUpdate", "Count", "Sum")
ROLLBACK_COUNT = Metric("RollbackCount", "Count", "Sum")
DEPLOYMENT_DURATION = Metric("DeploymentDuration", "Seconds", "Maximum")
# The execution-age function's gauge.
EXECUTION_AGE = Metric("ExecutionAge", "Seconds", "Maximum")
# The dora-metrics function's hourly gauges. CloudWatch has no per-day unit:
# the rate goes out unit-less (its name says per day); ratios as Percent.
DEPLOYMENT_FREQUENCY = Metric("DeploymentFrequency", "None", "Maximum")
LEAD_TIME_FOR_CHANGES = Metric("LeadTimeForChanges", "Seconds", "Maximum")
CHANGE_FAILURE_RATE = Metric("ChangeFailureRate", "Percent", "Maximum")
FAILED_DEPLOYMENT_RECOVERY_TIME = Metric("FailedDeploymentRecoveryTime", "Seconds", "Maximum")
DEPLOYMENT_REWORK_RATE = Metric("DeploymentReworkRate", "Percent", "Maximum")
# The health probe's, every minute.
HEALTH_CHECK_STATUS = Metric("HealthCheckStatus", "None", "Minimum", (ENVIRONMENT, TARGET))
# Neither alarmed nor graphed: Average is how a reader would look at it.
HEALTH_CHECK_LATENCY = Metric("HealthCheckLatency", "Milliseconds", "Average", (ENVIRONMENT, TARGET))
# One datum per round, whatever the targets say (the probe-silent alarm).
HEALTH_PROBE_ROUNDS = Metric("HealthProbeRounds", "Count", "Sum")
# The build's (buildspecs/build.yml, aws cloudwatch put-metric-data).
TEST_COVERAGE = Metric("TestCoverage", "Percent", "Minimum")

# The count each execution outcome publishes (shared/stages.py's outcomes).
# DeploymentFailure
# (the -failures alarm, runbook Incident 1) means a deploy, its tests or its
# bake failed; a rejection, a time-out or a gate deployed nothing and has its
# own metric.
OUTCOME_METRICS = {
    stages.DEPLOYED: DEPLOYMENT_SUCCESS.name,
    stages.DEPLOY_FAILED: DEPLOYMENT_FAILURE.name,
    stages.BUILD_FAILED: BUILD_FAILURE.name,
    stages.REJECTED: RELEASE_REJECTED.name,
    stages.APPROVAL_TIMED_OUT: APPROVAL_TIMED_OUT.name,
    stages.BLOCKED_BY_GATE: RELEASE_BLOCKED_BY_GATE.name,
    stages.CANCELED: EXECUTION_CANCELED_BY_UPDATE.name,
}

ALL = tuple(value for value in dict(globals()).values() if isinstance(value, Metric))
BY_NAME = {metric.name: metric for metric in ALL}
NAMES = frozenset(BY_NAME)
