"""The record store (functions/shared/store.py) on moto: the one way the
functions and `ops` read and write the deployment-record table."""

from __future__ import annotations

from datetime import datetime

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from moto import mock_aws

from functions.shared import records
from functions.shared.store import Store, metric_data
from tests.support.tables import create_contract_table

TABLE, INDEX = "kiro-pipeline-test-deployments", "EnvironmentStatusIndex"


@pytest.fixture
def store(aws_credentials):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_contract_table(client, TABLE, INDEX)
        yield Store(client, TABLE, INDEX)


def record(key: str, environment: str, start: str, **extra) -> dict:
    return {records.KEY: key, records.INDEX_PARTITION: environment, records.INDEX_SORT: start, **extra}


def test_numbers_stay_numbers_and_sets_stay_sets(store):
    store.claim("exec-1", record("exec-1", "test", "2026-11-22T03:00:00Z", expiresAt=1790000000, ratio=0.5))
    store.update("exec-1", attempts=3, succeededStages={"TestEnv"})
    raw = store.dynamodb.get_item(TableName=TABLE, Key=records.key("exec-1"))["Item"]
    # On the wire, DynamoDB's N: the TTL reads only a Number.
    assert raw["expiresAt"] == {"N": "1790000000"} and raw["ratio"] == {"N": "0.5"}
    got = store.get("exec-1")
    assert got["expiresAt"] == 1790000000 and type(got["expiresAt"]) is int
    assert got["ratio"] == 0.5 and type(got["ratio"]) is float
    assert got["attempts"] == 3 and got["succeededStages"] == {"TestEnv"}


def test_claim_creates_once_and_returns_what_exists(store):
    assert store.claim("rollback#a", record("rollback#a", "test", "2026-11-22T03:00:00Z", status="ONE")) is None
    existing = store.claim("rollback#a", record("rollback#a", "test", "2026-11-22T03:00:01Z", status="TWO"))
    assert existing["status"] == "ONE"  # the first claim stands; the caller resumes it
    assert store.claim("rollback#a", {}, read_existing=False) == {}
    store.release("rollback#a")
    assert store.get("rollback#a") is None
    assert store.claim("rollback#a", {"status": "THREE"}) is None  # released: claimable again


def test_claim_without_reading_never_calls_get_item(aws_credentials):
    """The Slack notifier's role may put and delete, not read."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        assert Store(client, TABLE).claim("notification#x", {"expiresAt": 1}, read_existing=False) == {}
        stub.assert_no_pending_responses()  # a GetItem would have raised: no response was queued


def test_apply_skips_an_update_whose_condition_fails(store):
    store.claim("exec-1", record("exec-1", "test", "2026-11-22T03:00:00Z", rank=3))
    # `#s0` is the store's name for the first (sorted) attribute it sets.
    newer = records.Update("exec-1", {"rank": 1}, "attribute_not_exists(#s0) OR #s0 < :r", {":r": 1})
    assert store.apply(newer) is None
    later = records.Update("exec-1", {"rank": 4}, "attribute_not_exists(#s0) OR #s0 < :r", {":r": 4})
    assert store.apply(later)["rank"] == 4


def test_recent_reads_every_page_newest_first_and_filters(store):
    for minute in range(7):
        start = f"2026-11-22T03:0{minute}:00Z"
        status = "FAILED" if minute % 3 == 0 else "SUCCEEDED"
        store.claim(f"exec-{minute}", record(f"exec-{minute}", "test", start, status=status))
    store.claim("other", record("other", "staging", "2026-11-22T03:09:00Z"))
    pages = []
    fetch = lambda request: pages.append(request) or store.dynamodb.query(**request)  # noqa: E731 (one use)
    newest_first = [r[records.KEY] for r in store.recent("test", page_size=2, fetch=fetch)]
    assert newest_first == [f"exec-{m}" for m in reversed(range(7))]
    assert len(pages) >= 4 and "ExclusiveStartKey" in pages[-1]
    since = [r[records.KEY] for r in store.recent("test", since="2026-11-22T03:04:00Z")]
    assert since == ["exec-6", "exec-5", "exec-4"]
    failed = [r[records.KEY] for r in store.recent("test", status="FAILED")]
    assert failed == ["exec-6", "exec-3", "exec-0"]


def test_recent_needs_the_index(aws_credentials):
    with pytest.raises(ValueError, match="index"):
        next(Store(boto3.client("dynamodb", region_name="us-east-1"), TABLE).recent("test"))


class CountingCloudWatch:
    def __init__(self, fail: int = 0):
        self.calls, self.fail = [], fail

    def put_metric_data(self, **request):
        if self.fail:
            self.fail -= 1
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "x"}}, "PutMetricData")
        self.calls.append(request)


def test_publish_metrics_once_per_final_state(store):
    store.claim("exec-1", record("exec-1", "test", "2026-11-22T03:00:00Z", status="FAILED", updatedAt="T1"))
    failed = records.Metrics("FAILED@T1", {"DeploymentFailure": 1}, 60)
    cloudwatch = CountingCloudWatch(fail=1)
    publish = dict(token="event-a", namespace="KiroPipeline", environment="test")
    with pytest.raises(ClientError):
        store.publish_metrics(cloudwatch, "exec-1", failed, **publish)
    assert not store.publish_metrics(cloudwatch, "exec-1", failed, **{**publish, "token": "event-b"})
    assert store.publish_metrics(cloudwatch, "exec-1", failed, **publish)  # the same event's retry
    assert not store.publish_metrics(cloudwatch, "exec-1", failed, **publish)  # published: never twice
    assert len(cloudwatch.calls) == 1
    # The record moved on (a retried execution succeeded): a stale FAILED claim is refused.
    store.update("exec-1", status="SUCCEEDED", updatedAt="T2")
    assert not store.publish_metrics(cloudwatch, "exec-1", failed, **{**publish, "token": "event-c"})
    succeeded = records.Metrics("SUCCEEDED@T2", {"DeploymentSuccess": 1}, 120)
    assert store.publish_metrics(cloudwatch, "exec-1", succeeded, **{**publish, "token": "event-d"})
    assert [c["MetricData"][0]["MetricName"] for c in cloudwatch.calls] == ["DeploymentFailure", "DeploymentSuccess"]


def test_metric_data_is_a_valid_put_metric_data_request(aws_credentials):
    """Checked by botocore against CloudWatch's model (units, shapes)."""
    client = boto3.client("cloudwatch", region_name="us-east-1")
    data = metric_data(records.Metrics("SUCCEEDED@T", {"DeploymentSuccess": 1}, 90), "test")
    assert [(d["MetricName"], d["Unit"]) for d in data] == [
        ("DeploymentSuccess", "Count"),
        ("DeploymentDuration", "Seconds"),
    ]
    with Stubber(client) as stub:
        stub.add_response("put_metric_data", {}, {"Namespace": "KiroPipeline", "MetricData": data})
        client.put_metric_data(Namespace="KiroPipeline", MetricData=data)


def test_nested_floats_are_numbers_an_empty_update_is_no_call_and_nan_is_refused(store):
    store.claim("override#x", {"rules": {"ratio": 0.25, "parts": [1.5, "a"]}})
    rules = store.get("override#x")["rules"]
    assert rules == {"ratio": 0.25, "parts": [1.5, "a"]} and type(rules["ratio"]) is float
    store.update("override#x")  # nothing to set: DynamoDB would refuse "SET " with no values
    with pytest.raises(ValueError, match="cannot be stored"):
        store.update("override#x", ratio=float("nan"))


# --- outcome metrics at most once -------------------------------------------
PUBLISH = dict(token="event-a", namespace="KiroPipeline", environment="test")
FAILED_T1 = records.Metrics("FAILED@T1", {"DeploymentFailure": 1}, 60)
SERVER_ERROR = ClientError(
    {"Error": {"Code": "InternalServerError", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
    "UpdateItem",
)


class FaultyDynamoDB:
    """The store's DynamoDB client with one injected fault: the first
    UpdateItem whose expression starts with `expression` is applied `applied`
    times (0: never reaches the table; 2: the SDK resent a write whose answer
    was lost) and then answers `error` (None: the last application's answer)."""

    def __init__(self, client, expression: str, *, applied: int, error: Exception | None):
        self.client, self.expression, self.applied, self.error, self.armed = client, expression, applied, error, True

    def update_item(self, **request):
        if not (self.armed and request["UpdateExpression"].startswith(self.expression)):
            return self.client.update_item(**request)
        self.armed = False
        for attempt in range(self.applied):
            if attempt == self.applied - 1 and self.error is None:
                return self.client.update_item(**request)
            self.client.update_item(**request)
        raise self.error

    def __getattr__(self, name):
        return getattr(self.client, name)


def datapoints(name: str) -> int:
    """How many data points of `name` CloudWatch holds (moto keeps every one)."""
    stats = boto3.client("cloudwatch", region_name="us-east-1").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": "test"}],
        StartTime=datetime(2020, 1, 1),
        EndTime=datetime(2100, 1, 1),
        Period=86400 * 365 * 80,
        Statistics=["SampleCount"],
    )
    return int(sum(point["SampleCount"] for point in stats["Datapoints"]))


@pytest.fixture
def failed_record(store):
    store.claim("exec-1", record("exec-1", "test", "2026-11-22T03:00:00Z", status="FAILED", updatedAt="T1"))
    return store


def faulty(store: Store, expression: str, *, applied: int = 1, error: Exception | None = SERVER_ERROR) -> Store:
    return Store(FaultyDynamoDB(store.dynamodb, expression, applied=applied, error=error), TABLE, INDEX)


def test_a_failed_mark_after_a_publication_is_never_published_again(failed_record):
    """PutMetricData succeeded, then writing `metricsPublished` failed: the
    event's retry (same token) must not publish a second time."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    with pytest.raises(ClientError):
        faulty(failed_record, "SET metricsPublished", applied=0).publish_metrics(
            cloudwatch, "exec-1", FAILED_T1, **PUBLISH
        )
    assert (datapoints("DeploymentFailure"), datapoints("DeploymentDuration")) == (1, 1)
    assert not failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)  # Lambda's retry
    assert not failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert (datapoints("DeploymentFailure"), datapoints("DeploymentDuration")) == (1, 1)
    # The retry settles the record: nothing more is owed for FAILED@T1.
    assert failed_record.get("exec-1")["metricsPublished"] == "FAILED@T1"


class TimingOutCloudWatch(CountingCloudWatch):
    """PutMetricData reaches CloudWatch (counted), then the answer never comes."""

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    def put_metric_data(self, **request):
        self.calls.append(request)
        raise self.error


ENDPOINT = "https://monitoring.us-east-1.amazonaws.com/"


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url=ENDPOINT),
        ConnectTimeoutError(endpoint_url=ENDPOINT),
        EndpointConnectionError(endpoint_url=ENDPOINT),
        ConnectionClosedError(endpoint_url=ENDPOINT),
        ClientError({"Error": {"Code": "RequestTimeout", "Message": "x"}}, "PutMetricData"),
        ClientError(
            {"Error": {"Code": "GatewayTimeout", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 504}},
            "PutMetricData",
        ),
    ],
    ids=["read-timeout", "connect-timeout", "endpoint-connection", "connection-closed", "request-timeout", "http-504"],
)
def test_a_publication_that_may_have_happened_is_never_repeated(failed_record, error):
    cloudwatch = TimingOutCloudWatch(error)
    with pytest.raises(type(error)):
        failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert not failed_record.publish_metrics(CountingCloudWatch(), "exec-1", FAILED_T1, **PUBLISH)  # the retry
    assert len(cloudwatch.calls) == 1
    assert failed_record.get("exec-1")["metricsPublished"] == "FAILED@T1"


def test_a_refused_publication_is_released_and_the_retry_publishes_once(failed_record):
    """Throttling (HTTP 400) is a definite no: nothing was stored, so the same
    event's retry publishes, once; another event never does."""
    throttled = ClientError(
        {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "PutMetricData",
    )

    class Throttled(CountingCloudWatch):
        def put_metric_data(self, **request):
            raise throttled

    with pytest.raises(ClientError):
        failed_record.publish_metrics(Throttled(), "exec-1", FAILED_T1, **PUBLISH)
    assert "metricsSending" not in failed_record.get("exec-1")
    cloudwatch = CountingCloudWatch()
    assert not failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **{**PUBLISH, "token": "event-b"})
    assert failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert not failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert len(cloudwatch.calls) == 1


@pytest.mark.parametrize("expression", ["SET metricsFor", "SET metricsSending"])
def test_a_lost_answer_to_the_claim_or_the_sending_mark_still_publishes_once(failed_record, expression):
    """The write applied, its answer was lost and the SDK resent it: the
    resend's condition fails, and the store must still know the write was its own."""
    cloudwatch = CountingCloudWatch()
    assert faulty(failed_record, expression, applied=2, error=None).publish_metrics(
        cloudwatch, "exec-1", FAILED_T1, **PUBLISH
    )
    assert not failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert len(cloudwatch.calls) == 1


def test_a_failed_sending_mark_publishes_nothing_and_the_retry_publishes_once(failed_record):
    cloudwatch = CountingCloudWatch()
    with pytest.raises(ClientError):
        faulty(failed_record, "SET metricsSending", applied=0).publish_metrics(
            cloudwatch, "exec-1", FAILED_T1, **PUBLISH
        )
    assert cloudwatch.calls == []
    assert failed_record.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert len(cloudwatch.calls) == 1


def test_a_record_that_moved_on_after_the_claim_publishes_nothing_and_owes_the_new_state(failed_record):
    """A retried execution ended again between the claim and the sending
    mark: FAILED@T1 is stale, not published and not marked published, so the
    new final state (SUCCEEDED@T2) still publishes (a rollback's one count)."""

    class MovesOn(FaultyDynamoDB):
        def update_item(self, **request):
            if self.armed and request["UpdateExpression"].startswith("SET metricsSending"):
                self.armed = False
                failed_record.update("exec-1", status="SUCCEEDED", updatedAt="T2")
            return self.client.update_item(**request)

    cloudwatch = CountingCloudWatch()
    moving = Store(MovesOn(failed_record.dynamodb, "", applied=1, error=None), TABLE, INDEX)
    assert not moving.publish_metrics(cloudwatch, "exec-1", FAILED_T1, **PUBLISH)
    assert cloudwatch.calls == [] and "metricsPublished" not in failed_record.get("exec-1")
    succeeded = records.Metrics("SUCCEEDED@T2", {"DeploymentSuccess": 1}, 120)
    assert failed_record.publish_metrics(cloudwatch, "exec-1", succeeded, **{**PUBLISH, "token": "event-b"})
    assert [c["MetricData"][0]["MetricName"] for c in cloudwatch.calls] == ["DeploymentSuccess"]


def test_a_concurrent_duplicate_never_hides_a_refused_publication(failed_record):
    """EventBridge delivered the event twice at once (one ID). The second
    delivery finds the first's sending mark and stops; the first's
    PutMetricData is then refused (throttled): its retry must still publish."""
    throttled = ClientError(
        {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "PutMetricData",
    )
    published = CountingCloudWatch()

    class DuplicateThenThrottled(CountingCloudWatch):
        def put_metric_data(self, **request):
            assert not failed_record.publish_metrics(published, "exec-1", FAILED_T1, **PUBLISH)  # the duplicate
            raise throttled

    with pytest.raises(ClientError):
        failed_record.publish_metrics(DuplicateThenThrottled(), "exec-1", FAILED_T1, **PUBLISH)
    assert published.calls == []
    assert failed_record.publish_metrics(published, "exec-1", FAILED_T1, **PUBLISH)  # the first one's retry
    assert not failed_record.publish_metrics(published, "exec-1", FAILED_T1, **PUBLISH)
    assert len(published.calls) == 1
