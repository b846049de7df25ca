"""Helpers that give one home to what several constructs wrote alike: the
confused-deputy guard of a service's statement (modules/iam.from_service) and
the health probe's alarm shape (modules/metrics.probe_alarm)."""

from __future__ import annotations

from modules import iam, metrics
from topology.functions import PROBE_PERIOD_SECONDS

ACCOUNT = "123456789012"


def test_a_service_statement_is_limited_to_this_account_and_the_source():
    statement = iam.from_service(
        "AllowThisRule",
        ["sns:Publish"],
        ["arn:aws:sns:us-east-1:123456789012:topic"],
        service="events.amazonaws.com",
        account_id=ACCOUNT,
        source_arn="arn:aws:events:us-east-1:123456789012:rule/kiro-pipeline-test-*",
    )
    assert statement.sid == "AllowThisRule"
    assert statement.effect == "Allow"
    assert list(statement.actions) == ["sns:Publish"]
    assert list(statement.resources) == ["arn:aws:sns:us-east-1:123456789012:topic"]
    assert list(statement.service_principals) == ["events.amazonaws.com"]
    assert not statement.aws_principals
    # The account first, then the source: the order the policies synthesize in.
    assert list(statement.conditions.items()) == [
        (("StringEquals", "aws:SourceAccount"), [ACCOUNT]),
        (("ArnLike", "aws:SourceArn"), ["arn:aws:events:us-east-1:123456789012:rule/kiro-pipeline-test-*"]),
    ]


def test_a_service_statement_without_a_source_keeps_the_account_condition_only():
    statement = iam.from_service(
        "TrustOnlyThisResource", ["sts:AssumeRole"], [], service="lambda.amazonaws.com", account_id=ACCOUNT
    )
    assert dict(statement.conditions) == {("StringEquals", "aws:SourceAccount"): [ACCOUNT]}
    assert list(statement.resources) == []


def test_a_probe_alarm_fires_below_one_for_its_rounds_each_a_probe_period():
    alarm = metrics.probe_alarm(
        "health-probe-silent", "silent", topic="deployments", rounds=3, treat_missing_data="breaching"
    )
    assert alarm == metrics.Alarm(
        suffix="health-probe-silent",
        description="silent",
        comparison="<",
        threshold=1,
        topic="deployments",
        period_seconds=PROBE_PERIOD_SECONDS,
        evaluation_periods=3,
        treat_missing_data="breaching",
    )
    assert alarm.comparison in metrics.COMPARISONS
