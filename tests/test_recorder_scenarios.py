"""The deployment recorder under every delivery order, retries and faults,
on moto (DynamoDB, CloudWatch), with CodePipeline's GetPipelineExecution from
the parameter-validating fake (moto lacks it)."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import itertools

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.shared.records import Metrics
from tests.support import events
from tests.support.fake_codepipeline import FakeCodePipeline
from tests.support.tables import all_items, create_deployments_table

ENV = "test"
PIPELINE = "kiro-pipeline-test"


def cold_recorder(monkeypatch):
    """A deployments table on moto, and the recorder's handler cold-started on it."""
    table = create_deployments_table(ENV)
    for name, value in {
        "TABLE_NAME": table,
        "PIPELINE_NAME": PIPELINE,
        "ENVIRONMENT": ENV,
        "METRICS_NAMESPACE": "KiroPipeline",
        "RECORD_TTL_DAYS": "90",
    }.items():
        monkeypatch.setenv(name, value)
    handler = importlib.import_module("functions.deployment_recorder.handler")
    handler.cold_start()
    fake = FakeCodePipeline(PIPELINE)
    # The retried execution's first attempt failed in StagingEnv's deploy:
    # what ListActionExecutions reports once it is final.
    fake.actions["exec-1"] = [
        {
            "pipelineExecutionId": "exec-1",
            "stageName": "StagingEnv",
            "actionName": "DeployStaging",
            "status": "Failed",
            "input": {"actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}},
        }
    ]
    handler.recorder().codepipeline = fake
    return handler, table


@pytest.fixture
def world(aws_credentials, monkeypatch):
    with mock_aws():
        handler, table = cold_recorder(monkeypatch)

        class World:
            pass

        w = World()
        w.handler, w.table = handler, table
        w.record = lambda eid="exec-1": {i["deploymentId"]: i for i in all_items(table)}.get(eid)
        yield w


def metric_samples(name: str) -> list[float]:
    """Every value published for `name` (moto keeps each data point)."""
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": ENV}],
        StartTime=datetime.datetime(2000, 1, 1),
        EndTime=datetime.datetime(2101, 1, 1),
        Period=86400 * 365 * 100,
        Statistics=["SampleCount", "Sum", "Maximum"],
    )
    return [(p["SampleCount"], p["Sum"], p["Maximum"]) for p in stats["Datapoints"]]


def count(name: str) -> float:
    return sum(sample[1] for sample in metric_samples(name))


def rollback_trigger(event):
    event["detail"]["execution-trigger"] = {"trigger-type": "AutomatedRollback", "trigger-detail": "x"}
    return event


RETRIED = [
    events.execution("STARTED", "2026-11-22T03:00:00Z"),
    events.stage("TestEnv", "SUCCEEDED", "2026-11-22T03:10:00Z"),
    events.execution("FAILED", "2026-11-22T03:20:00Z"),
    events.execution("RESUMED", "2026-11-22T03:30:00Z"),
    events.stage("StagingEnv", "SUCCEEDED", "2026-11-22T03:40:00Z"),
    events.execution("SUCCEEDED", "2026-11-22T03:50:00Z"),
]
# For the order test: the execution events and one stage event (120 orders).
ORDERED = [RETRIED[0], RETRIED[1], RETRIED[2], RETRIED[3], RETRIED[5]]


class TestRetriedExecution:
    def test_in_order_it_ends_succeeded_with_its_real_end(self, world):
        for event in RETRIED:
            world.handler.handler(event)
        record = world.record()
        assert (record["status"], record["endTime"]) == ("SUCCEEDED", "2026-11-22T03:50:00Z")
        assert record["succeededStages"] == {"TestEnv", "StagingEnv"}
        # The failure was real when it happened, and so is the success.
        assert count("DeploymentFailure") == 1 and count("DeploymentSuccess") == 1
        durations = metric_samples("DeploymentDuration")
        assert sum(s[0] for s in durations) == 2 and durations[0][2] == 3000  # 50 minutes

    def test_while_resumed_it_has_no_end_time(self, world):
        for event in RETRIED[:4]:
            world.handler.handler(event)
        record = world.record()
        assert record["status"] == "IN_PROGRESS" and "endTime" not in record


class TestEveryDeliveryOrder:
    """All 120 orders of a retried execution's events, each delivered twice,
    each order on a fresh table."""

    @staticmethod
    def outcomes(orders, monkeypatch) -> tuple[set, list[str]]:
        """The final record of each order (each event delivered twice), and
        every metric invariant an order broke."""
        outcomes, broken = set(), []
        for order in orders:
            with mock_aws():
                handler, table = cold_recorder(monkeypatch)
                for event in order:
                    handler.handler(event)
                    handler.handler(event)  # and every event delivered twice
                (record,) = all_items(table)
                outcomes.add(
                    (
                        record["status"],
                        record["endTime"] if "endTime" in record else None,
                        record["startTime"],
                        record["expiresAt"],
                        frozenset(record["succeededStages"]),
                    )
                )
                if count("DeploymentSuccess") != 1 or count("DeploymentFailure") > 1:
                    broken.append(f"outcome metrics of {[e['id'] for e in order]}")
                if sum(s[0] for s in metric_samples("DeploymentDuration")) != 1 + count("DeploymentFailure"):
                    broken.append(f"durations of {[e['id'] for e in order]}")
        return outcomes, broken

    @staticmethod
    def sample() -> list[tuple]:
        """Ten of the 120 orders in which every event stands in every position
        twice: the rotations of the order and of its reverse (a Latin square
        each). `make test` runs these; the acceptance tier runs all 120."""
        forward, backward = list(ORDERED), list(reversed(ORDERED))
        return [tuple(o[i:] + o[:i]) for o in (forward, backward) for i in range(len(o))]

    def test_the_sample_puts_every_event_in_every_position_twice(self):
        assert len({tuple(e["id"] for e in order) for order in self.sample()}) == 10
        for event in ORDERED:
            for position in range(len(ORDERED)):
                assert sum(order[position] is event for order in self.sample()) == 2

    def test_the_final_record_and_metrics_of_a_sample_of_orders_agree(self, aws_credentials, monkeypatch):
        outcomes, broken = self.outcomes(self.sample(), monkeypatch)
        assert broken == []
        assert outcomes == {self.EXPECTED}

    EXPECTED = (
        "SUCCEEDED",
        "2026-11-22T03:50:00Z",
        "2026-11-22T03:00:00Z",
        int((datetime.datetime(2026, 11, 22, 3, tzinfo=datetime.UTC) + datetime.timedelta(days=90)).timestamp()),
        frozenset({"TestEnv"}),
    )

    @pytest.mark.acceptance  # all 120 orders: 90 s on moto, so an exhaustive sweep for `make test-all`
    def test_the_final_record_and_metrics_do_not_depend_on_order(self, aws_credentials, monkeypatch):
        outcomes, broken = self.outcomes(itertools.permutations(ORDERED), monkeypatch)
        assert broken == []
        assert outcomes == {self.EXPECTED}

    def test_it_fails_when_the_newest_state_no_longer_wins(self, aws_credentials, monkeypatch):
        """The break this test guards: drop the recorder's ordering condition
        (the newest state wins) and the orders no longer agree."""
        from functions.deployment_recorder import logic

        real_plan = logic.plan

        def last_delivery_wins(event, **kwargs):
            planned = real_plan(event, **kwargs)
            if isinstance(planned, logic.Plan):
                updates = tuple(
                    dataclasses.replace(u, condition=None, condition_values={}) if u.purpose == "status" else u
                    for u in planned.updates
                )
                planned = dataclasses.replace(planned, updates=updates)
            return planned

        monkeypatch.setattr(logic, "plan", last_delivery_wins)
        orders = [ORDERED, list(reversed(ORDERED))]
        outcomes, _ = self.outcomes(orders, monkeypatch)
        assert len(outcomes) > 1


class TestMetricsOnce:
    def test_a_lost_publication_is_made_up_by_the_retry_exactly_once(self, world):
        world.handler.handler(events.execution("STARTED", "2026-11-22T03:00:00Z"))
        cloudwatch = world.handler.recorder().cloudwatch
        real = cloudwatch.put_metric_data
        cloudwatch.put_metric_data = lambda **p: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutMetricData")
        )
        with pytest.raises(ClientError):
            world.handler.handler(events.execution("SUCCEEDED", "2026-11-22T03:30:00Z"))
        assert world.record()["status"] == "SUCCEEDED"  # the write happened; the metric did not
        cloudwatch.put_metric_data = real
        assert world.handler.handler(events.execution("SUCCEEDED", "2026-11-22T03:30:00Z"))["result"] == "duplicate"
        world.handler.handler(events.execution("SUCCEEDED", "2026-11-22T03:30:00Z"))
        assert count("DeploymentSuccess") == 1
        assert world.record()["metricsPublished"] == "SUCCEEDED@2026-11-22T03:30:00Z"

    def test_rollback_executions_count_as_rollbacks_not_deployments(self, world):
        world.handler.handler(rollback_trigger(events.execution("STARTED", "2026-11-22T05:00:00Z", "rb-1")))
        world.handler.handler(rollback_trigger(events.execution("SUCCEEDED", "2026-11-22T05:05:00Z", "rb-1")))
        record = world.record("rb-1")
        assert (record["executionType"], record["triggerType"]) == ("ROLLBACK", "AutomatedRollback")
        assert count("RollbackCount") == 1
        assert count("DeploymentSuccess") == 0 and count("DeploymentFailure") == 0

    def test_a_rollback_whose_final_state_arrives_first_is_still_counted_as_one(self, world):
        world.handler.handler(rollback_trigger(events.execution("FAILED", "2026-11-22T05:05:00Z", "rb-1")))
        assert count("DeploymentFailure") == 0  # waits for STARTED, which completes the record
        world.handler.handler(rollback_trigger(events.execution("STARTED", "2026-11-22T05:00:00Z", "rb-1")))
        assert count("RollbackCount") == 1 and count("DeploymentFailure") == 0

    def test_expiry_counts_from_the_start(self, world):
        world.handler.handler(events.stage("Build", "STARTED", "2026-11-25T00:00:00Z"))
        world.handler.handler(events.execution("STARTED", "2026-11-22T00:00:00Z"))
        start = datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC)
        assert world.record()["expiresAt"] == int((start + datetime.timedelta(days=90)).timestamp())


class TestReviewFindings:
    """Faults an independent review found; each test failed before its fix."""

    def test_a_stale_delivery_cannot_take_over_a_newer_final_states_metrics(self, world):
        recorder = world.handler.recorder()
        for event in RETRIED:
            world.handler.handler(event)
        assert count("DeploymentSuccess") == 1
        # A delivery of FAILED that stalled before its metrics step now claims:
        # the record is SUCCEEDED, so the claim is refused.
        stale = Metrics("FAILED@2026-11-22T03:20:00Z", {"DeploymentFailure": 1}, 1200)
        assert not recorder.store._claim_metrics("exec-1", stale, "stale-event")
        world.handler.handler(RETRIED[-1])  # a duplicate SUCCEEDED
        assert count("DeploymentSuccess") == 1

    def test_a_lost_answer_to_the_metrics_claim_still_publishes(self, world):
        world.handler.handler(events.execution("STARTED", "2026-11-22T03:00:00Z"))
        recorder = world.handler.recorder()
        real_claim = recorder.store._claim_metrics

        def claim_applied_answer_lost(*args):
            real_claim(*args)
            return real_claim(*args)  # the SDK's resend: the condition must still hold for us

        recorder.store._claim_metrics = claim_applied_answer_lost
        world.handler.handler(events.execution("SUCCEEDED", "2026-11-22T03:30:00Z"))
        assert count("DeploymentSuccess") == 1

    def test_a_failed_publication_is_retried_by_the_same_event_only(self, world):
        world.handler.handler(events.execution("STARTED", "2026-11-22T03:00:00Z"))
        cloudwatch = world.handler.recorder().cloudwatch
        real = cloudwatch.put_metric_data
        cloudwatch.put_metric_data = lambda **p: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "InternalFailure", "Message": "x"}}, "PutMetricData")
        )
        succeeded = events.execution("SUCCEEDED", "2026-11-22T03:30:00Z")
        with pytest.raises(ClientError):
            world.handler.handler(succeeded)
        cloudwatch.put_metric_data = real
        # Another event (a late stage event for the run) does not take the claim...
        other = events.execution("STARTED", "2026-11-22T03:00:00Z")
        other["id"] = "a-different-delivery"
        world.handler.handler(other)
        assert count("DeploymentSuccess") == 0
        # ...the retry of the event that holds it publishes, once.
        world.handler.handler(succeeded)
        world.handler.handler(succeeded)
        assert count("DeploymentSuccess") == 1
