"""The Slack notifier on moto (Secrets Manager, DynamoDB) with a fake webhook
server on 127.0.0.1: what it posts, once per SNS message, what it does when
Slack is off, refuses or fails, and that the webhook URL never reaches a log."""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.error

import boto3
import pytest
from moto import mock_aws

from functions.slack_notifier import handler, logic
from tests.support.tables import create_deployments_table

TOPIC = "arn:aws:sns:us-east-1:123456789012:kiro-pipeline-test-{}"
SECRET = "kiro-pipeline-test-slack-webhook"


class FakeSlack:
    """Records each POST; answers with the next status in `statuses` (200 after)."""

    def __init__(self):
        self.posts: list[dict] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                owner.posts.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
                status = owner.statuses.pop(0) if owner.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/SECRETPART"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(aws_credentials, monkeypatch):
    slack = FakeSlack()
    with mock_aws():
        table = create_deployments_table("test")
        for name, value in {"SECRET_ID": SECRET, "TABLE_NAME": table, "ENVIRONMENT": "test"}.items():
            monkeypatch.setenv(name, value)
        handler.config.cache_clear()
        handler.notifier.cache_clear()
        # The real sender accepts only https://hooks.slack.com/...; the fake is local.
        monkeypatch.setattr(logic, "WEBHOOK", re.compile(r"http://127\.0\.0\.1:\d+/services/.+"))
        yield slack
    slack.stop()


def store_webhook(url):
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=url)


def sns_event(*messages):
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"MessageId": message_id, "TopicArn": TOPIC.format(topic), "Subject": subject, "Message": body},
            }
            for message_id, topic, subject, body in messages
        ]
    }


ALARM = (
    "m-1",
    "rollbacks",
    "ALARM: kiro-pipeline-test-staging-health",
    json.dumps(
        {"AlarmName": "kiro-pipeline-test-staging-health", "NewStateValue": "ALARM", "NewStateReason": "2 of 2 failed"}
    ),
)
ROLLBACK = ("m-2", "rollbacks", "Rollback Initiated: kiro-pipeline-test StagingEnv", "Rolling back to: e2")
PIPELINE = (
    "m-3",
    "deployments",
    None,
    json.dumps(
        {
            "detailType": "CodePipeline Pipeline Execution State Change",
            "detail": {"pipeline": "kiro-pipeline-test", "state": "FAILED", "execution-id": "e9"},
        }
    ),
)


def test_each_kind_of_message_is_posted_readably(world):
    store_webhook(world.url)
    result = handler.handler(sns_event(ALARM, ROLLBACK, PIPELINE))
    assert result == {"result": "posted", "posted": ["m-1", "m-2", "m-3"]}
    texts = [p["body"]["text"] for p in world.posts]
    assert texts[0].startswith(":rotating_light: *kiro-pipeline-test-staging-health* is *ALARM*")
    assert texts[1] == ":rotating_light: *Rollback Initiated: kiro-pipeline-test StagingEnv*\nRolling back to: e2"
    assert texts[2].startswith(":rocket: *kiro-pipeline-test*") and "FAILED" in texts[2] and "e9" in texts[2]


def test_a_duplicate_delivery_posts_once(world):
    store_webhook(world.url)
    handler.handler(sns_event(ALARM))
    assert handler.handler(sns_event(ALARM)) == {"result": "posted", "posted": []}
    assert len(world.posts) == 1


def test_slack_off_without_a_secret_and_nothing_posted(world, capsys):
    assert handler.handler(sns_event(ALARM)) == {"result": "not-configured"}
    assert world.posts == []
    assert "Slack is not configured" in capsys.readouterr().out


def test_a_failed_post_is_retried_and_then_posted_once(world):
    store_webhook(world.url)
    world.statuses = [500]
    with pytest.raises(urllib.error.HTTPError):
        handler.handler(sns_event(ROLLBACK))  # SNS retries the delivery
    assert handler.handler(sns_event(ROLLBACK))["posted"] == ["m-2"]
    assert len(world.posts) == 2  # the failed attempt and the retry; no third


def test_a_refused_webhook_is_logged_not_retried(world, capsys):
    store_webhook(world.url)
    world.statuses = [404]
    assert handler.handler(sns_event(ROLLBACK)) == {"result": "posted", "posted": []}
    assert "Slack refused the webhook" in capsys.readouterr().out


def test_the_webhook_url_never_reaches_a_log(world, capsys):
    store_webhook(world.url)
    world.statuses = [404, 500]
    handler.handler(sns_event(ALARM))
    with pytest.raises(urllib.error.HTTPError):
        handler.handler(sns_event(ROLLBACK))
    handler.handler({"Records": "nope"})
    out = capsys.readouterr().out
    assert "SECRETPART" not in out and "127.0.0.1" not in out


def test_a_secret_that_is_not_a_webhook_is_never_posted_to(world):
    store_webhook("https://attacker.example.net/collect")
    assert handler.handler(sns_event(ALARM)) == {"result": "bad-secret"}
    assert world.posts == []


def test_the_real_pattern_accepts_only_slack():
    assert logic.WEBHOOK.fullmatch("https://hooks.slack.com/services/T0/B0/xyz")
    for wrong in (
        "https://hooks.slack.com.evil.io/services/x",
        "http://hooks.slack.com/services/x",
        "https://hooks.slack.com/services/x\n",
        "https://example.com/hooks.slack.com/services/x",
    ):
        assert not logic.WEBHOOK.fullmatch(wrong), wrong


# A message nested deeper than Python's recursion limit: json.loads raises
# RecursionError (not a ValueError) on it, which must never escape.
DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"a":' * 100_000


@pytest.mark.parametrize("message", [DEEP_ARRAY, DEEP_OBJECT, "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_json_is_rendered_as_plain_text(message):
    text = logic.render("rollbacks", "", message)
    assert text == ":rotating_light: " + message[:2983]  # plain text, cut at Slack's 3,000 characters
    assert len(text) == 3000


def test_a_deeply_nested_message_is_posted_as_text_not_raised(world):
    store_webhook(world.url)
    event = sns_event(("m-deep", "rollbacks", "Deep", DEEP_ARRAY))
    assert handler.handler(event) == {"result": "posted", "posted": ["m-deep"]}
    (post,) = world.posts
    assert post["body"]["text"].startswith(":rotating_light: *Deep*\n[[[[")
    assert len(post["body"]["text"]) == 3000
