"""One alarm factory: every alarm is named by the environment's names object
(`ResourceNames.alarm`), and its actions are passed in, never looked up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from modules.literal import literal
from topology.naming import ResourceNames


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, str]
    statistic: str


class AlarmFactory:
    def __init__(self, scope: Construct, names: ResourceNames, period_seconds: int):
        self.scope = scope
        self.names = names
        self.period_seconds = period_seconds
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}

    def name(self, suffix: str) -> str:
        return self.names.alarm(suffix)

    def alarm(
        self,
        suffix: str,
        *,
        description: str,
        metric: Metric,
        comparison: str,
        threshold: float,
        actions: Sequence[str],
        period_seconds: int | None = None,
        evaluation_periods: int = 1,
        treat_missing_data: str = "notBreaching",
    ) -> CloudwatchMetricAlarm:
        alarm = CloudwatchMetricAlarm(
            self.scope,
            f"alarm_{suffix.replace('-', '_')}",
            alarm_name=self.name(suffix),
            alarm_description=literal(description),
            namespace=metric.namespace,
            metric_name=metric.name,
            dimensions=dict(metric.dimensions),
            statistic=metric.statistic,
            comparison_operator=comparison,
            threshold=threshold,
            period=period_seconds or self.period_seconds,
            evaluation_periods=evaluation_periods,
            treat_missing_data=treat_missing_data,
            alarm_actions=list(actions),
            ok_actions=list(actions),
        )
        self.alarms[suffix] = alarm
        return alarm
