"""The freeze gate (functions/freeze_gate): its decisions, and the handler on
the semantics model (stage transitions) with moto behind the ledger and the
topic and the model's Change Calendar fake behind SSM. Expected outcomes
from the transitions guide and the Change Calendar guide (quoted in
functions/freeze_gate/logic.py), worked out here."""

from __future__ import annotations

import datetime as dt
import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.freeze_gate import handler as gate
from functions.freeze_gate import logic
from functions.freeze_gate.logic import Calendar, Freeze, Move
from functions.shared import records
from functions.shared.contract import calendar
from tests.codepipeline_model import Simulation, World
from tests.codepipeline_model.calendar import CalendarSSM
from tests.support.tables import all_items, create_contract_table
from tests.test_codepipeline_model import build
from tests.test_codepipeline_model import pipeline as model_pipeline

UTC = dt.UTC
T = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIN = dt.timedelta(minutes=1)


# --- decisions ---------------------------------------------------------------------------
def test_a_closed_calendar_is_a_freeze_until_its_next_change():
    assert logic.freeze_now(T, Calendar("CLOSED", T + 60 * MIN)) == Freeze(T, T + 60 * MIN)


def test_a_freeze_starting_within_two_minutes_is_held_now_and_one_later_is_not():
    assert logic.freeze_now(T, Calendar("OPEN", T + 2 * MIN)) == Freeze(T + 2 * MIN, None)
    assert logic.freeze_now(T, Calendar("OPEN", T + 3 * MIN)) is None
    assert logic.freeze_now(T, Calendar("OPEN", None)) is None


@pytest.mark.parametrize(
    ("freeze", "enabled", "reason", "lifted", "move"),
    [
        (Freeze(T, T + MIN), True, "", False, Move.HOLD),
        (Freeze(T, T + MIN), False, "Change freeze (freeze gate) until x", False, Move.STAY),
        (Freeze(T, T + MIN), True, "", True, Move.STAY),  # lifted: never held again
        (Freeze(T, T + MIN), False, "Change freeze (freeze gate) until x", True, Move.RELEASE),
        (None, False, "Change freeze (freeze gate) until x", False, Move.RELEASE),
        (None, False, "Manual tests on prod", False, Move.STAY),  # someone else's hold
        (None, False, "Change freeze for the audit", False, Move.STAY),  # a person's own words
        (None, True, "", False, Move.STAY),
    ],
)
def test_the_gate_holds_during_a_freeze_and_releases_only_its_own_hold(freeze, enabled, reason, lifted, move):
    assert logic.decide(freeze, enabled=enabled, reason=reason, lifted=lifted).move is move


def test_the_transition_reason_fits_the_documented_pattern():
    # DisableStageTransition reason: [a-zA-Z0-9!@ \(\)\.\*\?\-]+, 1-300 characters.
    for until in (None, T, dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC)):
        reason = logic.transition_reason(until)
        assert logic.TRANSITION_REASON.fullmatch(reason) and logic.ours(reason)
    assert (
        logic.transition_reason(T)
        == "Change freeze (freeze gate) until 2026-03-02 12.00 UTC (python -m ops freeze list)"
    )


# --- the handler -------------------------------------------------------------------------
def pipeline() -> dict:
    """Source, then the freeze point (a gate stage with one CodeBuild action)."""
    gate = {"name": "ProductionWindow", "action": [build("Checkpoint")]}
    return {**model_pipeline(gate), "name": "kiro-pipeline-production"}


@pytest.fixture
def rig(aws_credentials, monkeypatch):
    with mock_aws():
        sim = Simulation(pipeline(), World(), start=T)
        ssm = CalendarSSM(lambda: sim.now)
        ssm.create_document(Name="cal", Content=calendar.empty(), DocumentType="ChangeCalendar", DocumentFormat="TEXT")
        table = create_contract_table(boto3.client("dynamodb"), "ledger")
        topic = boto3.client("sns").create_topic(Name="kiro-pipeline-production-deployments")["TopicArn"]
        for name, value in {
            "CALENDAR_NAME": "cal",
            "PIPELINE_NAME": "kiro-pipeline-production",
            "FREEZE_STAGE": "ProductionWindow",
            "TABLE_NAME": table,
            "ENVIRONMENT": "production",
            "RECORD_TTL_DAYS": "30",
            "DEPLOYMENTS_TOPIC_ARN": topic,
        }.items():
            monkeypatch.setenv(name, value)
        gate.cold_start()
        clients = {
            "ssm": ssm,
            "codepipeline": sim.client,
            "dynamodb": boto3.client("dynamodb"),
            "sns": boto3.client("sns"),
        }
        monkeypatch.setattr(gate, "clients", lambda: clients)
        stream = io.StringIO()
        monkeypatch.setattr(gate.log, "stream", stream)
        yield sim, ssm, clients, stream


def add_freeze(ssm: CalendarSSM, start: dt.datetime, end: dt.datetime) -> None:
    cal = calendar.parse(ssm.get_document(Name="cal")["Content"])
    cal.freezes.append(calendar.Freeze(f"f{len(cal.freezes)}", start, end, "test"))
    latest = ssm.get_document(Name="cal", DocumentVersion="$LATEST")["DocumentVersion"]
    written = ssm.update_document(Name="cal", Content=cal.render(T), DocumentVersion=latest, DocumentFormat="TEXT")
    ssm.update_document_default_version(Name="cal", DocumentVersion=written["DocumentDescription"]["DocumentVersion"])


def inbound(sim) -> dict:
    state = sim.client.get_pipeline_state(name="kiro-pipeline-production")["stageStates"]
    return next(s for s in state if s["stageName"] == "ProductionWindow")["inboundTransitionState"]


def test_a_duplicate_invocation_in_the_same_minute_moves_and_records_once(rig):
    sim, ssm, _, _ = rig
    add_freeze(ssm, T, T + 60 * MIN)
    first = gate.handler({}, None, now=T)
    second = gate.handler({}, None, now=T)
    assert (first["result"], second["result"]) == ("HELD", "STAY")
    assert inbound(sim)["enabled"] is False
    # A third, 40 seconds into the same minute, after another invocation
    # re-enabled the transition by hand in a test's stead: one record a minute.
    sim.client.enable_stage_transition(
        pipelineName="kiro-pipeline-production", stageName="ProductionWindow", transitionType="Inbound"
    )
    third = gate.handler({}, None, now=T + dt.timedelta(seconds=40))
    assert third["result"] == "HELD"
    (record,) = [r for r in all_items("ledger") if r[records.KEY].startswith(records.FREEZE_PREFIX)]
    assert record[records.KEY] == "freeze#2026-03-02T12:00:00Z#HELD"
    assert record[records.FREEZE_UNTIL] == "2026-03-02T13:00:00Z"


def test_a_late_or_out_of_order_invocation_reads_the_calendar_and_changes_nothing_wrong(rig):
    """An invocation after the freeze ended (a late one, or one of a backlog)
    finds the calendar OPEN and releases; an older backlog entry run after it
    reads the same calendar and stays (the event's payload is never read)."""
    sim, ssm, _, _ = rig
    add_freeze(ssm, T, T + 10 * MIN)
    assert gate.handler({"time": "late"}, None, now=T)["result"] == "HELD"
    sim.advance(to=T + 15 * MIN)
    assert gate.handler({"time": (T + MIN).isoformat()}, None, now=T + 15 * MIN)["result"] == "RELEASED"
    assert gate.handler({"time": (T + 2 * MIN).isoformat()}, None, now=T + 15 * MIN)["result"] == "STAY"
    assert inbound(sim)["enabled"] is True


def test_a_hold_someone_else_made_is_left_alone_after_the_freeze(rig):
    sim, ssm, _, _ = rig
    sim.client.disable_stage_transition(
        pipelineName="kiro-pipeline-production",
        stageName="ProductionWindow",
        transitionType="Inbound",
        reason="Manual checks on prod",
    )
    assert gate.handler({}, None, now=T)["result"] == "STAY"
    state = inbound(sim)
    assert (state["enabled"], state["disabledReason"]) == (False, "Manual checks on prod")


def test_a_failed_calendar_read_names_the_call_and_the_calendar_and_moves_nothing(rig):
    sim, ssm, _, _ = rig
    ssm.fail("GetCalendarState", "InternalServerError")
    with pytest.raises(gate.aws.GateError, match=r"ssm:GetCalendarState on cal failed"):
        gate.handler({}, None, now=T)
    assert inbound(sim)["enabled"] is True


def test_a_ledger_that_cannot_be_written_does_not_undo_the_hold(rig, monkeypatch):
    sim, ssm, clients, stream = rig
    add_freeze(ssm, T, T + 60 * MIN)

    class Refusing:
        def __getattr__(self, name):
            return getattr(boto3.client("dynamodb"), name)

        def put_item(self, **kwargs):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
            )

    clients["dynamodb"] = Refusing()
    assert gate.handler({}, None, now=T)["result"] == "HELD"
    assert inbound(sim)["enabled"] is False
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert "dynamodb:PutItem on ledger failed" in error["error"]


def test_past_the_freeze_point_are_the_executions_in_the_gate_stages_from_it_not_deploying_nor_before():
    """A disabled transition holds "subsequent revisions" and not those
    "already running in the stages that come after" it (transitions guide):
    the ones to name are in ProductionWindow or ProductionGate. One in
    ProductionDeploy is deploying (no gate left to stop it at); one in
    ProductionEnv (before the freeze point) is held."""
    from functions.freeze_gate.logic import past_the_freeze_point

    def stage(name, execution, status="InProgress"):
        return {"stageName": name, "latestExecution": {"pipelineExecutionId": execution, "status": status}}

    states = [
        stage("ProductionEnv", "e0"),
        stage("ProductionWindow", "e1"),
        stage("ProductionGate", "e2"),
        stage("ProductionDeploy", "e3"),
    ]
    assert past_the_freeze_point(states, "ProductionWindow") == ["e1", "e2"]
    assert past_the_freeze_point(states, "ProductionGate") == ["e2"]
    finished = [stage("ProductionWindow", "e1", "Succeeded"), stage("ProductionGate", "e2", "Failed")]
    assert past_the_freeze_point(finished, "ProductionWindow") == []
    assert past_the_freeze_point(states, "NoSuchStage") == []


def test_the_end_a_hold_names_is_read_back_from_its_reason():
    """`ops freeze lift` of a hold left behind keys its record by the end the
    gate wrote into the transition's reason (the gate then finds it)."""
    from functions.freeze_gate.logic import reason_until, transition_reason

    end = dt.datetime(2026, 3, 6, 0, 0, tzinfo=dt.UTC)
    assert reason_until(transition_reason(end)) == end
    assert reason_until(transition_reason(None)) is None  # "in force": no end known
    assert reason_until("Change freeze until 2026-03-06 00.00 UTC") is None  # a person's words, not the gate's
