"""The function unit (modules/function.py) synthesized alone in a scratch
stack, as CDKTF's testing guide does: it owns its parts, and every part keeps
the address it would have at stack level (no state moves)."""

from __future__ import annotations

import json

import pytest

from environments import load

pytestmark = pytest.mark.constructs

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"


@pytest.fixture(scope="module")
def synthesized(function_zips):
    from cdktf import Testing
    from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
    from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

    from modules.base_stack import BaseStack
    from modules.function import FunctionSpec, PythonFunction

    stack = BaseStack(Testing.app(), "monitoring", load("test"))
    unit = PythonFunction(
        stack,
        FunctionSpec("health_probe", purpose="health-probe", timeout=30, environment={"A": "1"}),
        key_arn=KEY,
        dead_letters_arn=QUEUE,
    )
    rule = CloudwatchEventRule(stack, "demo_schedule", schedule_expression="rate(1 minute)")
    unit.invoked_by_rule(rule, "demo")
    unit.subscribed_to(SnsTopic(stack, "demo_topic"), "demo_topic_sub", "AllowTheDemoTopic")
    unit.asynchronous("demo_invoke_config", maximum_retry_attempts=0, maximum_event_age_in_seconds=60)
    synthesized = json.loads(Testing.synth(stack))
    synthesized["paths"] = sorted(child.node.path for child in unit.node.find_all() if child is not unit)
    return synthesized


def test_it_owns_its_role_log_group_function_and_permissions(synthesized):
    resources = synthesized["resource"]
    assert set(resources["aws_lambda_function"]) == {"health_probe"}
    function = resources["aws_lambda_function"]["health_probe"]
    assert function["function_name"] == "kiro-pipeline-test-health-probe"
    assert function["logging_config"]["log_group"] == "${aws_cloudwatch_log_group.health_probe_log_group.name}"
    assert function["role"] == "${aws_iam_role.health_probe_role.arn}"
    assert (
        resources["aws_cloudwatch_log_group"]["health_probe_log_group"]["name"]
        == "/aws/lambda/kiro-pipeline-test-health-probe"
    )
    assert set(resources["aws_lambda_permission"]) == {"demo_permission", "demo_topic_sub_permission"}
    assert resources["aws_cloudwatch_event_target"]["demo_target"]["arn"] == "${aws_lambda_function.health_probe.arn}"
    assert resources["aws_sns_topic_subscription"]["demo_topic_sub"]["protocol"] == "lambda"
    assert resources["aws_lambda_function_event_invoke_config"]["demo_invoke_config"]["maximum_retry_attempts"] == 0


def test_every_part_keeps_its_stack_level_address(synthesized):
    """Inside the unit, yet addressed as at stack level: `aws_iam_role.health_probe_role`,
    not `aws_iam_role.health_probe_unit_health_probe_role_<hash>`."""
    addresses = [
        f"{t}.{n}" for section in ("resource", "data") for t, body in synthesized[section].items() for n in body
    ]
    assert not [a for a in addresses if "_unit_" in a]
    # ...while the construct tree says where each part lives.
    assert "monitoring-test/health_probe_unit/health_probe" in synthesized["paths"]
    assert "monitoring-test/health_probe_unit/health_probe_role" in synthesized["paths"]


def test_its_policy_is_least_privilege(synthesized):
    document = synthesized["data"]["aws_iam_policy_document"]["health_probe_role_policy_document"]
    statements = {s["sid"]: s for s in document["statement"]}
    assert statements["WriteOwnLogs"]["resources"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/kiro-pipeline-test-health-probe:log-stream:*"
    ]
    assert statements["UseProjectKey"]["resources"] == [KEY]
    assert statements["KeepFailedEvents"]["resources"] == [QUEUE]
