"""The notifier's AWS and HTTP calls: the webhook from Secrets Manager (read at
run time, cached briefly, never logged), the deduplication record, the post."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from functions.shared import errors, records
from functions.shared.store import Store

AWS_ERRORS = (BotoCoreError, ClientError)
CACHE_SECONDS = 300


class WebhookRejected(Exception):
    """Slack answered 4xx other than 429: a retry cannot help (a revoked or
    wrong webhook). Logged, not retried."""


class Notifier:
    def __init__(
        self,
        *,
        secret_id: str,
        table: str,
        session: boto3.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        session = session or boto3.Session()
        self.secrets = session.client("secretsmanager")
        self.store = Store(session.client("dynamodb"), table)
        self.secret_id, self.clock = secret_id, clock
        self._webhook: tuple[float, str | None] | None = None

    def webhook(self) -> str | None:
        """The webhook URL, or None when no secret is stored (Slack is off)."""
        if self._webhook and self.clock() - self._webhook[0] < CACHE_SECONDS:
            return self._webhook[1]
        try:
            value = self.secrets.get_secret_value(SecretId=self.secret_id)["SecretString"].strip()
        except ClientError as error:
            if errors.code(error) != "ResourceNotFoundException":
                raise
            value = None
        self._webhook = (self.clock(), value)
        return value

    def first_delivery(self, key: str, expires_at: int) -> bool:
        """Record that `key` is being posted; False if it already was."""
        # The notifier's role may put and delete, not read: it needs only to know.
        return self.store.claim(key, {records.EXPIRES: expires_at}, read_existing=False) is None

    def forget(self, key: str) -> None:
        """Undo `first_delivery` after a failed post, so the retry posts."""
        self.store.release(key)

    @staticmethod
    def post(url: str, body: bytes, timeout: float = 10.0) -> None:
        # The caller posts only to a URL that matched logic.WEBHOOK (https://hooks.slack.com/...).
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (see above)
                response.read()
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code != 429:
                raise WebhookRejected(f"Slack answered {error.code}") from None
            raise
