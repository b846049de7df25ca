"""The health probe: what the health alarms watch in every region.

HTTP is a real server on 127.0.0.1 (status codes, a redirect that must not be
followed, a server too slow to answer, a TLS handshake with a server that
speaks none, a closed port). CloudWatch is moto; throttling is moto's client
with a botocore Stubber in front for one call."""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import ssl
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.health_probe import aws, handler, logic, targets

MINUTE = datetime.datetime(2026, 11, 22, 18, 30, tzinfo=datetime.UTC)
URLS = {
    "test": "https://test-test.kiro.example.com/health",
    "staging": "https://staging-test.kiro.example.com/health",
    "production": "https://production-test.kiro.example.com/health",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], float]] = {}
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        if self.path == "/trickle":  # each header in time, the whole answer not
            try:
                for chunk in (b"HTTP/1.1 200 OK\r\n", b"X-A: 1\r\n", b"X-B: 2\r\n", b"Content-Length: 0\r\n\r\n"):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    time.sleep(0.3)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        status, headers, delay = self.routes.get(self.path, (404, {}, 0))
        time.sleep(delay)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the probe gave up waiting, as the timeout test wants

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    _Handler.routes = {
        "/ok": (200, {}, 0),
        "/moved": (301, {"Location": "/elsewhere"}, 0),
        "/broken": (503, {}, 0),
        "/slow": (200, {}, 2.0),
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """HTTPS with a self-signed certificate for 127.0.0.1: a real handshake
    that verification must refuse."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    _Handler.routes.setdefault("/ok", (200, {}, 0))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestFetch:
    def test_a_2xx_is_healthy(self, server):
        attempt = aws.fetch(f"http://{server}/ok", timeout=2)
        assert (attempt.status, attempt.healthy, attempt.error) == (200, True, None)
        assert attempt.latency_ms >= 0

    def test_a_redirect_is_an_answer_and_is_not_followed(self, server):
        _Handler.seen.clear()
        attempt = aws.fetch(f"http://{server}/moved", timeout=2)
        assert (attempt.status, attempt.healthy) == (301, True)
        assert _Handler.seen == ["/moved"]

    @pytest.mark.parametrize("path, status", [("/broken", 503), ("/missing", 404)])
    def test_an_error_status_is_unhealthy(self, server, path, status):
        attempt = aws.fetch(f"http://{server}{path}", timeout=2)
        assert (attempt.status, attempt.healthy) == (status, False)

    def test_no_answer_within_the_timeout_is_unhealthy_not_an_exception(self, server):
        attempt = aws.fetch(f"http://{server}/slow", timeout=0.3)
        assert (attempt.status, attempt.healthy) == (None, False)
        assert "timed out" in attempt.error

    def test_a_failed_tls_handshake_is_unhealthy(self, server):
        attempt = aws.fetch(f"https://{server}/ok", timeout=2)
        assert (attempt.status, attempt.healthy) == (None, False)
        assert "SSL" in attempt.error

    def test_an_answer_trickled_past_the_timeout_is_unhealthy(self, server):
        # urllib's timeout is per socket operation: each header arrives in
        # time, the whole answer does not.
        attempt = aws.fetch(f"http://{server}/trickle", timeout=0.5)
        assert (attempt.status, attempt.healthy) == (None, False)
        assert "over the 0.5 s timeout" in attempt.error

    def test_a_certificate_nobody_signed_is_unhealthy(self, tls_server):
        attempt = aws.fetch(f"https://{tls_server}/ok", timeout=2)
        assert (attempt.status, attempt.healthy) == (None, False)
        assert "CERTIFICATE_VERIFY_FAILED" in attempt.error

    def test_a_refused_connection_is_unhealthy(self):
        attempt = aws.fetch(f"http://127.0.0.1:{closed_port()}/health", timeout=2)
        assert (attempt.status, attempt.healthy) == (None, False)
        assert "Refused" in attempt.error


class TestLogic:
    def test_targets_must_be_https_urls(self):
        assert targets.read(json.dumps(URLS)) == URLS
        for raw, hint in (
            (json.dumps({"test": "http://x.example.com/"}), "test: must start with https://"),
            ("[]", "JSON object"),
            ("{}", "JSON object"),
            (json.dumps({"a": 1, "b": "ftp://x"}), "a: must be a string, got int; b: must start"),
            (json.dumps({"test": "https://x.example.com?q=1"}), "test: needs a path before its query"),
        ):
            with pytest.raises(ValueError, match=hint):
                targets.read(raw)

    def test_metric_data_is_a_status_per_target_and_the_healthy_latency(self):
        results = [
            logic.Result("staging", (logic.Attempt(None, 6000, "timeout"), logic.Attempt(500, 20))),
            logic.Result("test", (logic.Attempt(None, 6000, "timeout"), logic.Attempt(200, 42.26))),
        ]
        data = logic.metric_data("test", results, MINUTE)
        assert data[0] == {
            "MetricName": "HealthProbeRounds",
            "Dimensions": [{"Name": "Environment", "Value": "test"}],
            "Timestamp": MINUTE,
            "Value": 1.0,
            "Unit": "Count",
        }
        data = data[1:]
        assert all(d["Timestamp"] == MINUTE for d in data)
        assert [(d["MetricName"], d["Dimensions"][1]["Value"], d["Value"]) for d in data] == [
            ("HealthCheckStatus", "staging", 0.0),
            ("HealthCheckStatus", "test", 1.0),
            ("HealthCheckLatency", "test", 42.3),
        ]
        assert all(d["Dimensions"][0] == {"Name": "Environment", "Value": "test"} for d in data)

    def test_a_round_stands_for_its_scheduled_minute(self):
        now = datetime.datetime(2026, 11, 22, 18, 30, 41, tzinfo=datetime.UTC)
        late = {"time": "2026-11-22T18:29:00Z"}  # delivered 101 s late: still its own minute
        assert logic.round_minute(late, now) == datetime.datetime(2026, 11, 22, 18, 29, tzinfo=datetime.UTC)
        for event in ({}, {"time": "garbage"}, {"time": "2026-11-22T17:00:00Z"}, None):
            assert logic.round_minute(event, now) == datetime.datetime(2026, 11, 22, 18, 30, tzinfo=datetime.UTC)

    def test_the_units_are_cloudwatchs(self):
        """The Stubber does not check enums: check the units against the model."""
        client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        shape = client.meta.service_model.shape_for("StandardUnit")
        results = [logic.Result("test", (logic.Attempt(200, 3.0),))]
        assert {d["Unit"] for d in logic.metric_data("test", results, MINUTE)} <= set(shape.enum)


class TestProbe:
    def test_a_fault_in_one_probe_is_that_targets_zero(self):
        def broken(url, timeout):
            raise RuntimeError("bug")

        result = handler.probe("test", "u", 1, get=broken, sleep=lambda s: None)
        assert not result.healthy and "probe fault: RuntimeError: bug" in result.last.error

    def test_a_target_that_hangs_does_not_hold_the_round(self):
        def get(url, timeout):
            if url == "hang":
                time.sleep(3)
            return logic.Attempt(200, 1)

        started = time.monotonic()
        results = handler.probe_all({"test": "ok", "staging": "hang"}, 1, deadline_s=0.5, get=get)
        assert time.monotonic() - started < 1.5
        by_target = {r.target: r for r in results}
        assert by_target["test"].healthy
        assert not by_target["staging"].healthy
        assert "no answer within the round" in by_target["staging"].last.error

    def test_a_healthy_first_answer_is_not_repeated(self):
        calls = []
        result = handler.probe(
            "test", "u", 1, get=lambda u, t: calls.append(u) or logic.Attempt(200, 5), sleep=pytest.fail
        )
        assert result.healthy and len(calls) == 1

    def test_one_failure_is_retried_once_and_a_recovery_counts_as_healthy(self):
        answers = iter([logic.Attempt(None, 6000, "timeout"), logic.Attempt(200, 5)])
        pauses = []
        result = handler.probe("test", "u", 1, get=lambda u, t: next(answers), sleep=pauses.append)
        assert result.healthy and len(result.attempts) == 2 and pauses == [handler.RETRY_PAUSE_SECONDS]

    def test_two_failures_are_unhealthy(self):
        result = handler.probe("test", "u", 1, get=lambda u, t: logic.Attempt(502, 5), sleep=lambda s: None)
        assert not result.healthy and [a.status for a in result.attempts] == [502, 502]


@pytest.fixture
def world(aws_credentials, monkeypatch):
    with mock_aws():
        for name, value in {
            "TARGETS": json.dumps(URLS),
            "ENVIRONMENT": "test",
            "METRICS_NAMESPACE": "KiroPipeline",
            "TIMEOUT_SECONDS": "6",
        }.items():
            monkeypatch.setenv(name, value)
        handler.config.cache_clear()
        handler.metrics.cache_clear()
        answers = {"test": 200, "staging": 200, "production": 200}
        requested = []

        def fake_fetch(url, timeout):
            requested.append((url, timeout))
            target = next(t for t, u in URLS.items() if u == url)
            return logic.Attempt(answers[target], 12.0)

        monkeypatch.setattr(handler, "fetch", fake_fetch)
        monkeypatch.setattr(handler.time, "sleep", lambda s: None)
        yield answers, requested
        handler.config.cache_clear()
        handler.metrics.cache_clear()


def statuses() -> dict[str, tuple[float, float]]:
    cloudwatch = boto3.client("cloudwatch")
    found = {}
    for target in URLS:
        stats = cloudwatch.get_metric_statistics(
            Namespace="KiroPipeline",
            MetricName="HealthCheckStatus",
            Dimensions=[{"Name": "Environment", "Value": "test"}, {"Name": "Target", "Value": target}],
            StartTime=datetime.datetime(2000, 1, 1),
            EndTime=datetime.datetime(2101, 1, 1),
            Period=86400 * 365 * 100,
            Statistics=["Minimum", "SampleCount"],
        )
        for point in stats["Datapoints"]:
            found[target] = (point["Minimum"], point["SampleCount"])
    return found


class TestHandler:
    def test_every_target_is_probed_and_published(self, world, capsys):
        answers, requested = world
        answers["staging"] = 503
        assert handler.handler({}) == {"result": "published", "unhealthy": ["staging"], "targets": 3}
        assert statuses() == {"test": (1.0, 1.0), "staging": (0.0, 1.0), "production": (1.0, 1.0)}
        assert sorted(requested) == sorted([(URLS[t], 6) for t in URLS] + [(URLS["staging"], 6)])
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        staging = next(line for line in lines if line.get("target") == "staging")
        assert (staging["level"], staging["healthy"], staging["function"]) == ("WARNING", False, "health-probe")

    def test_a_duplicate_round_repeats_the_same_truth_in_the_same_minute(self, world):
        now = datetime.datetime.now(datetime.UTC)
        event = {"time": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        handler.handler(event)
        handler.handler(event, now=now + datetime.timedelta(seconds=50))  # redelivered, late
        assert statuses() == {t: (1.0, 2.0) for t in URLS}
        minutes = {
            p["Timestamp"].replace(tzinfo=None)
            for p in boto3.client("cloudwatch").get_metric_statistics(
                Namespace="KiroPipeline",
                MetricName="HealthProbeRounds",
                Dimensions=[{"Name": "Environment", "Value": "test"}],
                StartTime=now - datetime.timedelta(minutes=5),
                EndTime=now + datetime.timedelta(minutes=5),
                Period=60,
                Statistics=["Sum"],
            )["Datapoints"]
        }
        assert len(minutes) == 1

    def test_a_throttled_publish_is_retried(self, world, monkeypatch):
        client = handler.metrics().cloudwatch
        real = client.put_metric_data
        calls = []

        def throttled_once(**kwargs):
            calls.append(kwargs)
            if len(calls) == 1:
                raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricData")
            return real(**kwargs)

        monkeypatch.setattr(client, "put_metric_data", throttled_once)
        monkeypatch.setattr(handler.retry.time, "sleep", lambda s: None)
        handler.handler({})
        assert len(calls) == 2 and statuses() == {t: (1.0, 1.0) for t in URLS}

    def test_a_refused_publish_is_raised_for_the_errors_alarm(self, world, monkeypatch):
        client = handler.metrics().cloudwatch

        def denied(**kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutMetricData")

        monkeypatch.setattr(client, "put_metric_data", denied)
        with pytest.raises(ClientError):
            handler.handler({})

    def test_bad_settings_name_every_problem(self, world, monkeypatch):
        monkeypatch.setenv("TARGETS", json.dumps({"test": "http://plain.example.com/"}))
        monkeypatch.delenv("ENVIRONMENT")
        handler.config.cache_clear()
        with pytest.raises(handler.settings.SettingsError) as caught:
            handler.handler({})
        assert "TARGETS=" in str(caught.value) and "ENVIRONMENT is not set" in str(caught.value)


def test_publish_parameters_match_the_cloudwatch_model(aws_credentials):
    """What the probe sends is a valid PutMetricData request (botocore's model)."""
    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    from botocore.stub import Stubber

    data = logic.metric_data("test", [logic.Result("test", (logic.Attempt(200, 3.0),))], MINUTE)
    with Stubber(client) as stub:
        stub.add_response("put_metric_data", {}, {"Namespace": "KiroPipeline", "MetricData": data})
        metrics = aws.Metrics("KiroPipeline")
        metrics.cloudwatch = client
        metrics.publish(data, handler.retry.Budget(lambda: 60_000))
        stub.assert_no_pending_responses()
