"""A notification topic that owns its parts: the topic (encrypted with the
project key), its policy (the account manages and publishes, the named
services publish, nothing goes over plain HTTP) and its email subscription.

No state moves: its elements keep their stack-level logical IDs (modules/ids.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from modules import iam
from modules.iam import Statement, policy_document
from modules.ids import keep_logical_id

# What the account's own principals may do through their IAM policies (the
# rollback function publishes this way).
ACCOUNT_ACTIONS = (
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)


@dataclass(frozen=True)
class TopicSpec:
    # The topic's purpose (`deployments`, `rollbacks`, ...): its parts are
    # `<purpose>_topic`, `<purpose>_topic_policy`, `<purpose>_topic_email`.
    purpose: str
    name: str
    # The topic's ARN, known before it exists (the policy names it).
    arn: str
    kms_key_arn: str
    account_root: str
    # Services that publish, each with its Allow statement (sid and conditions).
    publishers: Sequence[Statement] = ()
    email: str | None = None


class NotificationTopic(Construct):
    def __init__(self, scope: Construct, spec: TopicSpec):
        super().__init__(scope, f"{spec.purpose}_topic_unit")
        cid = f"{spec.purpose}_topic"
        self.topic = keep_logical_id(SnsTopic(self, cid, name=spec.name, kms_master_key_id=spec.kms_key_arn))
        self.arn = self.topic.arn
        statements = [
            Statement(
                sid="AllowAccountToManageAndPublish",
                actions=list(ACCOUNT_ACTIONS),
                resources=[spec.arn],
                aws_principals=[spec.account_root],
            ),
            *spec.publishers,
            iam.deny_plain_http(["sns:Publish", "sns:Subscribe"], [spec.arn]),
        ]
        # Services that check the policy when they are wired to the topic
        # (CodeStar Notifications) depend on this element.
        self.policy = keep_logical_id(
            SnsTopicPolicy(
                self,
                f"{cid}_policy",
                arn=self.topic.arn,
                policy=policy_document(self, f"{cid}_policy_document", statements).json,
            )
        )
        if spec.email:
            keep_logical_id(
                SnsTopicSubscription(
                    self, f"{cid}_email", topic_arn=self.topic.arn, protocol="email", endpoint=spec.email
                )
            )
