"""Lambda entry point: posts the environment's notifications to Slack.

Subscribed to the deployments, approvals and rollbacks topics. The webhook is
the secret that `python -m ops setup-secrets ENV` stores; it is read at run
time (never through Terraform, so it is in no state file) and never logged.
With no secret stored, Slack is off: the message is acknowledged and says so
in the log. One post per SNS message (a conditional record, expiring after
two days), a failed post is released and retried, and a webhook Slack refuses
is logged without retries.

Environment: SECRET_ID, TABLE_NAME, ENVIRONMENT. Read at the first invocation.
"""

from __future__ import annotations

import functools
import time
import urllib.error

from functions.shared import settings
from functions.shared.log import Logger
from functions.slack_notifier import logic
from functions.slack_notifier.aws import AWS_ERRORS, Notifier, WebhookRejected

log = Logger("slack-notifier")
DEDUPLICATION_SECONDS = 2 * 24 * 3600


@functools.lru_cache(maxsize=1)
def config() -> dict:
    return settings.read(settings.SLACK_NOTIFIER)


@functools.lru_cache(maxsize=1)
def notifier() -> Notifier:
    return Notifier(secret_id=config()["SECRET_ID"], table=config()["TABLE_NAME"])


def handler(event, context=None) -> dict:
    log.bind(requestId=getattr(context, "aws_request_id", None))
    try:
        notifications = logic.parse(event, config()["ENVIRONMENT"])
    except logic.MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}
    url = notifier().webhook()
    if not url:
        log.info("Slack is not configured: no webhook secret", secret=config()["SECRET_ID"])
        return {"result": "not-configured"}
    if not logic.WEBHOOK.fullmatch(url):
        log.error("the stored secret is not a Slack webhook URL; not posting", secret=config()["SECRET_ID"])
        return {"result": "bad-secret"}
    posted = []
    for notification in notifications:
        key = logic.deduplication_key(notification)
        if not notifier().first_delivery(key, int(time.time()) + DEDUPLICATION_SECONDS):
            log.info("duplicate delivery: already posted", messageId=notification.message_id)
            continue
        try:
            notifier().post(url, logic.payload(notification))
        except WebhookRejected as error:
            log.error(
                "Slack refused the webhook; check the secret", reason=str(error), messageId=notification.message_id
            )
            continue
        except (urllib.error.URLError, OSError, *AWS_ERRORS) as error:
            notifier().forget(key)
            log.error("could not post to Slack; will be retried", error=type(error).__name__)
            raise
        posted.append(notification.message_id)
        log.info("posted to Slack", topic=notification.topic, messageId=notification.message_id)
    return {"result": "posted", "posted": posted}
