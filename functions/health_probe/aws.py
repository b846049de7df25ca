"""The probe's two outside calls: an HTTPS GET that does not follow redirects,
and PutMetricData (retried on throttling by shared.retry)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import boto3

from health_probe.logic import Attempt
from shared import retry

USER_AGENT = "kiro-pipeline-health-probe"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer (healthy, as for Route 53), not a place to go."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def fetch(url: str, timeout: float, clock: Callable[[], float] = time.monotonic) -> Attempt:
    """One GET of `url`; never raises for what the endpoint does. TLS is
    verified with the runtime's CA bundle: a bad certificate is unhealthy."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT}, method="GET")
    started = clock()
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # noqa: S310 - https only, checked at cold start
            response.read(1024)
            return Attempt(response.status, (clock() - started) * 1000)
    except urllib.error.HTTPError as error:
        return Attempt(error.code, (clock() - started) * 1000)
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Attempt(None, (clock() - started) * 1000, f"{type(reason).__name__}: {reason}"[:200])


class Metrics:
    def __init__(self, namespace: str, session: boto3.Session | None = None):
        self.cloudwatch = (session or boto3.Session()).client("cloudwatch")
        self.namespace = namespace

    def publish(self, data: list[dict[str, Any]], budget: retry.Budget) -> None:
        # PutMetricData takes up to 1,000 data per call; a round has at most six.
        # Repeating it is harmless: the alarms read the Minimum.
        retry.call(lambda: self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data), budget)
