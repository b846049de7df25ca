"""The record store (functions/shared/store.py) on moto: the one way the
functions and `ops` read and write the deployment-record table."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
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
