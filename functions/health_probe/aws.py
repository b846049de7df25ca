"""The probe's two outside calls: an HTTPS GET that does not follow redirects,
and PutMetricData (retried on throttling by shared.retry)."""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from functions.health_probe.logic import Attempt
from functions.shared import retry

USER_AGENT = "kiro-pipeline-health-probe"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer (healthy, as for Route 53), not a place to go."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def fetch(url: str, timeout: float, clock: Callable[[], float] = time.monotonic) -> Attempt:
    """One GET of `url`; never raises for what the endpoint does. TLS is
    verified with the runtime's CA bundle: a bad certificate is unhealthy.
    urllib's timeout bounds each socket operation, not the whole request (a
    server that trickles its headers could take far longer), so an answer
    that took longer than `timeout` in total is unhealthy too. Name lookup is
    not bounded at all here: the handler's round deadline bounds it."""
    # https only: the TARGETS setting is checked at cold start (targets.read).
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT}, method="GET")  # noqa: S310
    started = clock()
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # noqa: S310 - https only, checked at cold start
            response.read(1024)
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Attempt(None, (clock() - started) * 1000, f"{type(reason).__name__}: {reason}"[:200])
    elapsed_ms = (clock() - started) * 1000
    if elapsed_ms > timeout * 1000:
        return Attempt(
            None, elapsed_ms, f"answered {status} after {elapsed_ms / 1000:.1f} s, over the {timeout} s timeout"
        )
    return Attempt(status, elapsed_ms)


class Metrics:
    def __init__(self, namespace: str, session: boto3.Session | None = None):
        # Short network timeouts and few SDK retries: a round lasts a minute,
        # and shared.retry retries throttling within the invocation's budget.
        sdk = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2})
        self.cloudwatch = (session or boto3.Session()).client("cloudwatch", config=sdk)
        self.namespace = namespace

    def publish(self, data: list[dict[str, Any]], budget: retry.Budget) -> None:
        # PutMetricData takes up to 1,000 data per call; a round has at most six.
        # Repeating it is harmless: the alarms read the Minimum.
        retry.call(lambda: self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data), budget)
