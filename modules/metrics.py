"""The metrics-and-alarms table of `monitoring-{env}`: every metric the
dashboard graphs and every alarm, one row each (as cdk-monitoring-constructs
does). The monitoring stack makes an alarm of every row that has one, and the
dashboard renderer (modules/dashboard.py) draws every row that has a panel.
Adding an alarm is a row here.

Pure: no cdktf. The project's metrics (name, statistic, dimensions) are the
publishers' contract, functions/shared/contract/metrics.py; only AWS's own
metrics (SQS) are written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments import EnvironmentConfig
from functions.shared.contract import metrics as published
from topology import naming
from topology.functions import AGE_SCHEDULE_MINUTES, PROBE_PERIOD_SECONDS
from topology.naming import METRICS_NAMESPACE

# The alarm factory's comparison operators, by the sign a row uses.
COMPARISONS = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
}


@dataclass(frozen=True, kw_only=True)
class Alarm:
    suffix: str  # its name is `kiro-pipeline-{env}-{suffix}` (naming.ResourceNames.alarm)
    description: str
    comparison: str  # a key of COMPARISONS
    threshold: float
    topic: str  # the topic its actions notify (topology/topics.py)
    period_seconds: int | None = None  # None: the environment's polling interval
    evaluation_periods: int = 1
    # Missing data is no breach unless a row says so (the probe-silent alarm).
    treat_missing_data: str = "notBreaching"


@dataclass(frozen=True)
class Panel:
    """A dashboard graph: half the width, two a row, unless `full_width`;
    its period is the alarms' (the polling interval) unless it names one."""

    title: str
    full_width: bool = False
    period_seconds: int | None = None


@dataclass(frozen=True)
class Row:
    name: str
    statistic: str
    panel: Panel | None  # None: alarmed, not graphed
    alarm: Alarm | None = None
    # An AWS service's metric names its own namespace and dimensions; the
    # project's metrics (the default) are KiroPipeline's, by Environment.
    namespace: str = METRICS_NAMESPACE
    dimensions: tuple[tuple[str, str], ...] | None = None

    def dimensions_in(self, environment: str) -> dict[str, str]:
        return dict(self.dimensions) if self.dimensions is not None else {published.ENVIRONMENT: environment}


def ours(
    metric: published.Metric,
    panel: Panel | None,
    alarm: Alarm | None = None,
    dimensions: tuple[tuple[str, str], ...] | None = None,
) -> Row:
    """A row of a metric the project publishes: its name and statistic are the
    contract's, and so are its dimensions' names (default: Environment)."""
    named = tuple(name for name, _ in dimensions) if dimensions is not None else (published.ENVIRONMENT,)
    if named != metric.dimensions:
        raise ValueError(f"{metric.name} is published with dimensions {metric.dimensions}, not {named}")
    return Row(metric.name, metric.statistic, panel, alarm, dimensions=dimensions)


EXECUTIONS = Panel("Pipeline executions")
NOTHING_DEPLOYED = Panel("Pipeline executions that deployed nothing")
DURATION = Panel("Deployment duration and running age (seconds)")
DEAD_LETTERS = Panel("Dead-letter queue: events the functions gave up on")
HEALTH = Panel(
    "Target health (1 = healthy), from the health probe", full_width=True, period_seconds=PROBE_PERIOD_SECONDS
)
DORA_FREQUENCY = Panel("DORA: deployment frequency (per day)")
DORA_TIMES = Panel("DORA: lead time and recovery time (median, seconds)")
DORA_RATES = Panel("DORA: change failure and rework rates (%)")

# The DORA figures, published hourly by the dora-metrics function over the
# last DORA_WINDOW_DAYS (functions/shared/dora.py); graphed, not alarmed.
DORA_METRICS = (
    ours(published.DEPLOYMENT_FREQUENCY, DORA_FREQUENCY),
    ours(published.LEAD_TIME_FOR_CHANGES, DORA_TIMES),
    ours(published.FAILED_DEPLOYMENT_RECOVERY_TIME, DORA_TIMES),
    ours(published.CHANGE_FAILURE_RATE, DORA_RATES),
    ours(published.DEPLOYMENT_REWORK_RATE, DORA_RATES),
)


def stuck_minutes(config: EnvironmentConfig) -> int:
    """The duration alarm's threshold: the configured one, but below the
    CodeBuild time-out by two of the age function's rounds, so the alarm
    fires while a hung build hangs, before CodeBuild ends it."""
    ceiling = config.build.timeout_minutes - 2 * AGE_SCHEDULE_MINUTES
    return max(AGE_SCHEDULE_MINUTES, min(config.deployment_duration_threshold_minutes, ceiling))


def outcome_rows() -> tuple[Row, ...]:
    """One count per execution outcome, as the recorder publishes them
    (the contract's OUTCOME_METRICS). Deployments that succeeded or failed
    share a graph, and only the failures alarm (runbook: Incident 1); the
    outcomes that deployed nothing (a build failure, a rejection, an approval
    time-out, a gate, a cancellation) are the graph beside it."""
    deployed, failed = published.DEPLOYMENT_SUCCESS, published.DEPLOYMENT_FAILURE
    failures = Alarm(
        suffix="failures",
        description="A pipeline execution failed (runbook: Incident 1).",
        comparison=">=",
        threshold=1,
        topic="deployments",
    )
    rows = []
    for name in published.OUTCOME_METRICS.values():
        metric = published.BY_NAME[name]
        panel = EXECUTIONS if metric in (deployed, failed) else NOTHING_DEPLOYED
        rows.append(ours(metric, panel, failures if metric == failed else None))
    return tuple(rows)


def dead_letter_rows(config: EnvironmentConfig) -> tuple[Row, ...]:
    """One alarm per dead-letter queue, named after its queue: a function
    that gave up on an event (after its retries) put it there, and nothing
    else reads it. SQS publishes the queue's depth by itself: "Get the
    approximate number of messages available for retrieval from the queue.
    ApproximateNumberOfMessagesVisible"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-resources-required-process-messages.html),
    and its metrics are emitted only while the queue is active (the note of
    sqs-available-cloudwatch-metrics.html), so an idle, empty queue's missing
    data is no breach (notBreaching, the default)."""
    names, rows = config.names, []
    for queue in (names.functions_dlq,):
        suffix = queue.removeprefix(f"{names.pipeline}-")
        assert names.alarm(suffix) == queue, f"{queue} is not named by the naming helper"
        alarm = Alarm(
            suffix=suffix,
            description=f"A function gave up on an event: it waits in the dead-letter queue {queue}. "
            "Read it, fix the cause, then redrive or delete it (docs/operations.md).",
            comparison=">",
            threshold=0,
            topic="rollbacks",
            period_seconds=300,
        )
        rows.append(
            Row(
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                DEAD_LETTERS,
                alarm,
                namespace="AWS/SQS",
                dimensions=(("QueueName", queue),),
            )
        )
    return tuple(rows)


def probe_alarm(suffix: str, description: str, *, topic: str, rounds: int, treat_missing_data: str) -> Alarm:
    """An alarm on a metric the health probe publishes every round (a target's
    status, 1 when healthy; or the round itself, 1 a round), one period a
    round: below 1 for `rounds` rounds in a row."""
    return Alarm(
        suffix=suffix,
        description=description,
        comparison="<",
        threshold=1,
        topic=topic,
        period_seconds=PROBE_PERIOD_SECONDS,
        evaluation_periods=rounds,
        treat_missing_data=treat_missing_data,
    )


def health_rows(config: EnvironmentConfig) -> tuple[Row, ...]:
    """One alarm per deploy target on the health probe's status metric, in
    this region (the pipeline's bake conditions and the rollback function
    watch these by name), and the probe's own silence."""
    rows = []
    for target, stage in naming.DEPLOY_STAGES.items():
        url = config.deploy_target(target).health_check_url
        alarm = probe_alarm(
            naming.health_alarm_suffix(target),
            f"{target} fails its health check ({url}) twice in a row; rolls back {stage}.",
            topic="rollbacks",
            rounds=2,
            # No data is not a failure here: it must never start a rollback
            # of a healthy release. The probe-silent alarm covers silence.
            treat_missing_data="notBreaching",
        )
        dimensions = ((published.ENVIRONMENT, config.name), (published.TARGET, target))
        rows.append(ours(published.HEALTH_CHECK_STATUS, HEALTH, alarm, dimensions))
    # Silence fails closed: three minutes without a round (errors, throttles,
    # timeouts, a disabled schedule) is ALARM, and the bake conditions watch
    # it, so no release is promoted blind. The rollback function does not:
    # silence never rolls back a release by itself.
    silent = probe_alarm(
        naming.HEALTH_PROBE_SILENT,
        "The health probe has not reported for 3 minutes: the health alarms are blind, and "
        "bakes roll back until it reports again (check its log group).",
        topic="deployments",
        rounds=3,
        treat_missing_data="breaching",
    )
    return (*rows, ours(published.HEALTH_PROBE_ROUNDS, None, silent))


def table(config: EnvironmentConfig) -> tuple[Row, ...]:
    """Every metric and alarm of the environment. The graphs follow the
    table's order."""
    stuck = stuck_minutes(config)
    return (
        *outcome_rows(),
        ours(published.DEPLOYMENT_DURATION, DURATION),
        ours(
            published.EXECUTION_AGE,
            DURATION,
            Alarm(
                suffix="duration",
                description=f"An execution has made no progress for more than {stuck} minutes, not counting "
                "known waits (approval, change window, incident gate, bake, queue) until their expected end "
                "(runbook: Incident 3).",
                comparison=">",
                threshold=stuck * 60,
                topic="deployments",
                # Published every AGE_SCHEDULE_MINUTES while anything runs,
                # so it alarms during a hang, not after the execution ends.
                period_seconds=AGE_SCHEDULE_MINUTES * 60,
            ),
        ),
        ours(
            published.ROLLBACK_COUNT,
            Panel("Rollbacks"),
            Alarm(
                suffix="rollbacks",
                description="A stage was rolled back: by its own rollback, the rollback function or a person "
                "(runbook: Incident 2).",
                comparison=">=",
                threshold=1,
                topic="rollbacks",
            ),
        ),
        ours(
            published.TEST_COVERAGE,
            Panel("Test coverage (%)"),
            Alarm(
                suffix="test-coverage",
                description=f"Unit-test coverage fell below {config.coverage_threshold_percent}% "
                "(runbook: Incident 4).",
                comparison="<",
                threshold=config.coverage_threshold_percent,
                topic="deployments",
            ),
        ),
        *dead_letter_rows(config),
        *DORA_METRICS,
        *health_rows(config),
    )


def alarms(rows: tuple[Row, ...]) -> tuple[tuple[Row, Alarm], ...]:
    return tuple((row, row.alarm) for row in rows if row.alarm)


def alarm_topics(rows: tuple[Row, ...]) -> frozenset[str]:
    """The topics the alarms notify: their policies let CloudWatch publish."""
    return frozenset(alarm.topic for _, alarm in alarms(rows))
