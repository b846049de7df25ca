"""The notification topic unit (modules/topic.py) synthesized alone in a
scratch stack: it owns its topic, policy and subscription, each part keeps its
stack-level address (no state moves), and its policy always denies plain
HTTP."""

from __future__ import annotations

import json

import pytest

from environments import load

pytestmark = pytest.mark.constructs


@pytest.fixture(scope="module")
def synthesized():
    from cdktf import Testing

    from modules.base_stack import BaseStack
    from modules.iam import Statement
    from modules.topic import NotificationTopic, TopicSpec

    stack = BaseStack(Testing.app(), "monitoring", load("test"))
    arn = "arn:aws:sns:us-east-1:123456789012:demo-alerts"
    publisher = Statement(
        sid="AllowAlarms", actions=["sns:Publish"], resources=[arn], service_principals=["cloudwatch.amazonaws.com"]
    )
    alerts = NotificationTopic(
        stack,
        TopicSpec("alerts", "demo-alerts", arn, "key-arn", "arn:aws:iam::123456789012:root", [publisher], "a@b.co"),
    )
    NotificationTopic(stack, TopicSpec("quiet", "demo-quiet", arn.replace("alerts", "quiet"), "key-arn", "root"))
    assert alerts.policy.node.id == "alerts_topic_policy"
    return json.loads(Testing.synth(stack))


def test_the_topic_owns_its_policy_and_subscription_at_stack_level_addresses(synthesized):
    resources = synthesized["resource"]
    assert resources["aws_sns_topic"]["alerts_topic"]["kms_master_key_id"] == "key-arn"
    assert resources["aws_sns_topic_policy"]["alerts_topic_policy"]["arn"] == "${aws_sns_topic.alerts_topic.arn}"
    email = resources["aws_sns_topic_subscription"]["alerts_topic_email"]
    assert (email["protocol"], email["endpoint"]) == ("email", "a@b.co")
    assert "quiet_topic_email" not in resources["aws_sns_topic_subscription"]  # no address, no subscription
    assert not [name for body in resources.values() for name in body if "_unit_" in name]


def test_the_policy_lets_the_account_and_the_named_publishers_in_and_denies_plain_http(synthesized):
    documents = synthesized["data"]["aws_iam_policy_document"]
    alerts = [s["sid"] for s in documents["alerts_topic_policy_document"]["statement"]]
    quiet = [s["sid"] for s in documents["quiet_topic_policy_document"]["statement"]]
    assert alerts == ["AllowAccountToManageAndPublish", "AllowAlarms", "DenyInsecureTransport"]
    assert quiet == ["AllowAccountToManageAndPublish", "DenyInsecureTransport"]
    deny = documents["quiet_topic_policy_document"]["statement"][-1]
    assert deny["effect"] == "Deny"
    assert [(c["test"], c["variable"], c["values"]) for c in deny["condition"]] == [
        ("Bool", "aws:SecureTransport", ["false"])
    ]
