"""What a notification on one of the environment's topics says in Slack.

Pure functions, no boto3. SNS delivers three kinds of message to the topics:
CloudWatch alarm state changes (JSON), CodeStar notifications about the
pipeline (JSON with `detail`), and the rollback function's plain text. Each
becomes one short Slack message; anything else is passed on as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from functions.shared import fields, records
from functions.shared.outcomes import MalformedEvent

# What the sender accepts as a webhook: Slack's incoming-webhook URLs only,
# so a wrong secret can never make the function post elsewhere.
WEBHOOK = re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+", re.ASCII)
MAX_TEXT = 3000  # Slack's limit for a section's text is 3,000 characters
ICONS = {"deployments": ":rocket:", "approvals": ":raised_hand:", "rollbacks": ":rotating_light:"}


@dataclass(frozen=True)
class Notification:
    message_id: str
    topic: str  # deployments, approvals or rollbacks
    text: str


def parse(event: Any, environment: str) -> list[Notification]:
    """The notifications in an SNS event, or MalformedEvent."""
    try:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise MalformedEvent("event has no Records")
        return [_notification(record, environment) for record in records]
    except MalformedEvent:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, UnicodeError) as error:
        raise MalformedEvent(f"event could not be read: {type(error).__name__}") from None


def _notification(record: dict, environment: str) -> Notification:
    sns = record["Sns"]
    message_id = fields.text(sns.get("MessageId"), "Sns.MessageId", max_length=100)
    topic_arn = fields.text(sns.get("TopicArn"), "Sns.TopicArn", max_length=300)
    message = fields.text(sns.get("Message"), "Sns.Message", max_length=300_000)
    subject = sns.get("Subject") or ""
    topic = topic_arn.rsplit(":", 1)[-1].removeprefix(f"kiro-pipeline-{environment}-")
    return Notification(message_id, topic, render(topic, subject if isinstance(subject, str) else "", message))


def render(topic: str, subject: str, message: str) -> str:
    icon = ICONS.get(topic, ":bell:")
    try:
        body = json.loads(message)
    except (ValueError, RecursionError):
        # Not JSON, or JSON nested deeper than the interpreter's recursion
        # limit (json.loads raises RecursionError, not a ValueError, for
        # `[` * 100000): either way it is shown as the plain text it is.
        body = None
    if isinstance(body, dict) and "AlarmName" in body:
        text = f"{icon} *{body.get('AlarmName')}* is *{body.get('NewStateValue')}*\n{body.get('NewStateReason', '')}"
    elif isinstance(body, dict) and isinstance(body.get("detail"), dict):
        detail = body["detail"]
        state = detail.get("state") or detail.get("action") or body.get("detailType", "")
        text = f"{icon} *{detail.get('pipeline', '')}* {detail.get('stage', '') or ''} {state}".replace("  ", " ") + (
            f"\nexecution {detail['execution-id']}" if detail.get("execution-id") else ""
        )
    else:
        text = f"{icon} *{subject}*\n{message}" if subject else f"{icon} {message}"
    return text[:MAX_TEXT]


def payload(notification: Notification) -> bytes:
    return json.dumps({"text": notification.text}).encode("utf-8")


def deduplication_key(notification: Notification) -> str:
    """SNS delivers at least once: one post per SNS message ID."""
    return f"{records.NOTIFICATION_PREFIX}{notification.message_id}"
