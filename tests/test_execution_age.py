"""The execution-age function: what the duration alarm watches. It publishes
the age of the oldest running execution's current stretch without progress,
so a hung execution alarms while it hangs (runbook Incident 3), before
CodeBuild's time-out ends it, a long release that keeps moving does not, and a
known wait (an approval, the change window, an incident gate, a bake, the
QUEUED line) counts only past its expected end. CloudWatch is moto;
ListPipelineExecutions, ListActionExecutions and GetPipelineState come from a
fake that validates each call's parameters, and each scripted answer, against
botocore's model (moto lacks them)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from moto import mock_aws

from functions.execution_age import handler as age
from functions.shared.settings import SettingsError
from tests.support.fake_codepipeline import _MODEL, FakeCodePipeline, client_error

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# The duration alarm's threshold as the stack sets it: below the CodeBuild
# build time-out (60 minutes by default) by two publishing periods.
THRESHOLD = 50 * 60
BUILD_TIMEOUT = 60 * 60
MON_THU = "* * 9-16 ? * MON-THU *"


def at(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=UTC)


def minutes_ago(minutes: float, now: datetime.datetime = NOW) -> datetime.datetime:
    return now - datetime.timedelta(minutes=minutes)


# --- the fake ------------------------------------------------------------------------


def _valid_answer(operation: str, answer: dict) -> dict:
    shape = _MODEL.operation_model(operation).output_shape
    report = ParamValidator().validate(answer, shape)
    if report.has_errors():
        raise AssertionError(f"{operation}: the scripted answer is not what AWS sends: {report.generate_report()}")
    return answer


@dataclass
class Pipeline(FakeCodePipeline):
    """FakeCodePipeline with a scripted GetPipelineState; answers validated too."""

    stage_states: list[dict[str, Any]] = field(default_factory=list)

    def get_pipeline_state(self, **params) -> dict:
        self._call("get_pipeline_state", params)
        return _valid_answer("GetPipelineState", {"pipelineName": self.pipeline, "stageStates": self.stage_states})

    def list_action_executions(self, **params) -> dict:
        return _valid_answer("ListActionExecutions", super().list_action_executions(**params))

    def list_pipeline_executions(self, **params) -> dict:
        return _valid_answer("ListPipelineExecutions", super().list_pipeline_executions(**params))


PROVIDERS = {"Source": "CodeStarSourceConnection", "Build": "CodeBuild", "Approval": "Manual"}


def action(stage, name, start, end=None, *, category="Build", status=None, execution="e1"):
    """An action execution as ListActionExecutions returns it; no `end`: in progress."""
    return {
        "pipelineExecutionId": execution,
        **({"stageName": stage} if stage else {}),
        "actionName": name,
        "status": status or ("InProgress" if end is None else "Succeeded"),
        "startTime": start,
        "lastUpdateTime": end or start,
        "input": {
            "actionTypeId": {"category": category, "owner": "AWS", "provider": PROVIDERS[category], "version": "1"}
        },
    }


def approval(start, end=None, status=None, stage=None):
    return action(stage, "ApproveProduction", start, end, category="Approval", status=status)


def build(start, end):
    return action(None, "Build", start, end)


def running(execution_id, start):
    return {"pipelineExecutionId": execution_id, "status": "InProgress", "startTime": start}


def condition(since, status="InProgress"):
    """beforeEntryConditionState: the stage's condition, evaluating since `since`."""
    return {
        "latestExecution": {"status": status, "summary": "evaluating"},
        "conditionStates": [
            {
                "latestExecution": {"status": status, "lastStatusChange": since},
                "ruleStates": [{"ruleName": "Rule", "latestExecution": {"status": status, "lastStatusChange": since}}],
            }
        ],
    }


def waiting_at(stage, execution_id, since, reading="inbound"):
    """A stage whose entry condition holds `execution_id`. How GetPipelineState
    shows the waiting execution is not documented: as the stage's inbound
    execution (read first), or as its latest execution."""
    where = {"pipelineExecutionId": execution_id, "status": "InProgress"}
    placed = {"inboundExecution": where} if reading == "inbound" else {"latestExecution": where}
    return {"stageName": stage, **placed, "beforeEntryConditionState": condition(since)}


def baking(stage, execution_id, since):
    """A stage whose on-success condition (the bake) holds `execution_id`, its
    in-progress latest execution, since `since`."""
    return {
        "stageName": stage,
        "latestExecution": {"pipelineExecutionId": execution_id, "status": "InProgress"},
        "onSuccessConditionState": condition(since),
    }


def holding(stage, holder, queued=()):
    """A stage that `holder` is in, with executions waiting in line to enter it."""
    inbound = [{"pipelineExecutionId": e, "status": "InProgress"} for e in queued]
    return {
        "stageName": stage,
        "latestExecution": {"pipelineExecutionId": holder, "status": "InProgress"},
        **({"inboundExecution": inbound[0], "inboundExecutions": inbound} if inbound else {}),
    }


def through_staging(start, execution="e1"):
    """Source to StagingEnv in 40 minutes of actions, then 5 minutes of
    staging bake (a gap before ProductionEnv): approval requested at +45."""

    def step(stage, name, begin, end, category="Build"):
        minutes = datetime.timedelta(minutes=1)
        return action(
            stage, name, start + begin * minutes, start + end * minutes, category=category, execution=execution
        )

    return [
        step("Source", "GitHub", 0, 1, "Source"),
        step("Build", "Build", 1, 11),
        step("TestGate", "Checkpoint", 11, 12),
        step("TestEnv", "DeployTest", 12, 22),
        step("StagingGate", "Checkpoint", 22, 23),
        step("StagingEnv", "DeployStaging", 23, 40),
    ]


# --- the function ----------------------------------------------------------------------

ENVIRONMENT = {
    "PIPELINE_NAME": "kiro-pipeline-test",
    "ENVIRONMENT": "test",
    "METRICS_NAMESPACE": "KiroPipeline",
    "WINDOW_CRON": MON_THU,
    "WINDOW_TIME_ZONE": "UTC",
    "INCIDENT_WAIT_MINUTES": "30",
    "BAKE_MINUTES": "10",
}


def configure(monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    age.config.cache_clear()
    age.rules.cache_clear()


@pytest.fixture
def world(aws_credentials, monkeypatch):
    with mock_aws():
        for name in age.OPTIONAL:
            monkeypatch.delenv(name, raising=False)
        configure(monkeypatch, **ENVIRONMENT)
        fake = Pipeline("kiro-pipeline-test")
        monkeypatch.setattr(age, "_pipeline", age.Pipeline("kiro-pipeline-test"))
        age._pipeline.codepipeline = fake
        monkeypatch.setattr(age, "_cloudwatch", None)
        yield fake
        age.config.cache_clear()
        age.rules.cache_clear()


def published() -> list[float]:
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName="ExecutionAge",
        Dimensions=[{"Name": "Environment", "Value": "test"}],
        StartTime=datetime.datetime(2000, 1, 1),
        EndTime=datetime.datetime(2101, 1, 1),
        Period=86400 * 365 * 100,
        Statistics=["Maximum", "SampleCount"],
    )
    return [(p["Maximum"], p["SampleCount"]) for p in stats["Datapoints"]]


def logged(capsys) -> dict[str, dict]:
    """Each execution's age line, by execution id."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return {line["pipelineExecutionId"]: line for line in lines if "pipelineExecutionId" in line}


# --- the scenarios ----------------------------------------------------------------------


class TestTheWeekend:
    """Started Thursday 2026-11-19 13:00, approved 17:05 after the window
    (Mon-Thu 09:00-16:59 UTC) closed: it waits at ProductionWindow until Monday."""

    START = at(2026, 11, 19, 13, 0)
    APPROVED = at(2026, 11, 19, 17, 5)
    SATURDAY = at(2026, 11, 21, 12, 0)
    # Thursday 17:05 to Saturday 12:00.
    SINCE_APPROVED = (42 * 60 + 55) * 60

    def waiting(self, world, reading="inbound"):
        world.executions = [running("e1", self.START)]
        world.actions = {
            "e1": [
                *through_staging(self.START),
                approval(at(2026, 11, 19, 13, 45), self.APPROVED, stage="ProductionEnv"),
            ]
        }
        world.stage_states = [waiting_at("ProductionWindow", "e1", self.APPROVED, reading)]

    @pytest.mark.parametrize("reading", ["inbound", "latest"])
    def test_the_weekend_wait_does_not_alarm(self, world, capsys, reading):
        self.waiting(world, reading)
        result = age.handler({}, now=self.SATURDAY)
        # Waiting for the window, which opens Monday 09:00 (+10 minutes' grace).
        assert result["ExecutionAge"] == 0
        assert published() == [(0.0, 1.0)]
        assert ("get_pipeline_state", {"name": "kiro-pipeline-test"}) in world.calls
        assert logged(capsys)["e1"]["stretch"] == {
            "since": "2026-11-19T17:05:00Z",
            "progress": "ProductionWindow: its entry condition began",
            "wait": {
                "wait": "window",
                "stage": "ProductionWindow",
                "from": "2026-11-19T17:05:00Z",
                "expectedEnd": "2026-11-23T09:10:00Z",
            },
            "countsFrom": "2026-11-23T09:10:00Z",
            "countsFromBecause": "the expected end of the window wait",
        }

    def test_monday_the_deploy_counts_from_its_start(self, world):
        self.waiting(world)
        world.actions["e1"] += [
            action("ProductionWindow", "Checkpoint", at(2026, 11, 23, 9, 1), at(2026, 11, 23, 9, 2)),
            action("ProductionGate", "Checkpoint", at(2026, 11, 23, 9, 3), at(2026, 11, 23, 9, 4)),
            action("ProductionDeploy", "DeployProduction", at(2026, 11, 23, 9, 4)),
        ]
        world.stage_states = [holding("ProductionDeploy", "e1")]
        # Deploying since 09:04: neither the weekend nor the earlier stages count.
        assert age.handler({}, now=at(2026, 11, 23, 9, 15))["ExecutionAge"] == 11 * 60

    def test_a_window_that_opened_but_was_not_passed_counts_after_the_grace(self, world):
        self.waiting(world)
        # Monday 10:00: the window opened at 09:00; excluded until 09:10.
        assert age.handler({}, now=at(2026, 11, 23, 10, 0))["ExecutionAge"] == 50 * 60

    def test_a_release_that_arrived_as_the_window_closed_waits_for_the_next_opening(self, world):
        # Approved Thursday 16:58: the window closes at 17:00, within the grace,
        # so the rule may have seen it closed: excluded until Monday 09:10.
        self.APPROVED = at(2026, 11, 19, 16, 58)
        self.waiting(world)
        assert age.handler({}, now=self.SATURDAY)["ExecutionAge"] == 0

    def test_a_release_in_the_open_window_that_does_not_pass_counts_after_the_grace(self, world):
        # Approved Thursday 15:00 in the open window: excluded until 15:10 only.
        self.APPROVED = at(2026, 11, 19, 15, 0)
        self.waiting(world)
        assert age.handler({}, now=at(2026, 11, 19, 16, 0))["ExecutionAge"] == 50 * 60

    def test_a_window_that_never_opens_alarms(self, world, monkeypatch, capsys):
        configure(monkeypatch, WINDOW_CRON="* * 9-16 30 FEB ? *")
        self.waiting(world)
        # All of the wait counts, from its start (the approval's end).
        assert age.handler({}, now=self.SATURDAY)["ExecutionAge"] == self.SINCE_APPROVED > THRESHOLD
        line = logged(capsys)["e1"]
        assert line["level"] == "WARNING"
        assert line["stretch"]["wait"]["countedBecause"] == "the window does not open within 400 days"
        assert line["stretch"]["countsFrom"] == "2026-11-19T17:05:00Z"

    def test_a_cron_it_cannot_read_alarms(self, world, monkeypatch, capsys):
        configure(monkeypatch, WINDOW_CRON="* * 9-16 L * ? *")
        self.waiting(world)
        assert age.handler({}, now=self.SATURDAY)["ExecutionAge"] == self.SINCE_APPROVED
        out = capsys.readouterr().out
        assert "the change window cannot be read" in out and "day-of-month" in out

    def test_without_a_window_setting_the_wait_counts(self, world, monkeypatch):
        monkeypatch.delenv("WINDOW_CRON")
        configure(monkeypatch)
        self.waiting(world)
        assert age.handler({}, now=self.SATURDAY)["ExecutionAge"] == self.SINCE_APPROVED

    def test_a_window_in_the_release_time_zone(self, world, monkeypatch):
        # 09:00-16:59 in India (UTC+05:30): Monday's opening is 03:30 UTC, excluded until 03:40.
        configure(monkeypatch, WINDOW_TIME_ZONE="UTC+05:30")
        self.waiting(world)
        assert age.handler({}, now=at(2026, 11, 23, 4, 0))["ExecutionAge"] == 20 * 60

    def test_when_the_state_cannot_be_read_the_wait_counts(self, world, capsys):
        self.waiting(world)
        world.fail("get_pipeline_state", client_error("AccessDeniedException", operation="GetPipelineState"))
        assert age.handler({}, now=self.SATURDAY)["ExecutionAge"] == self.SINCE_APPROVED
        assert "cannot read the pipeline state" in capsys.readouterr().out


class TestAHungAction:
    def test_a_build_in_progress_for_70_minutes_alarms(self, world):
        world.executions = [running("e1", minutes_ago(71))]
        world.actions = {
            "e1": [
                action("Source", "GitHub", minutes_ago(71), minutes_ago(70), category="Source"),
                action("Build", "Build", minutes_ago(70)),
            ]
        }
        world.stage_states = [holding("Build", "e1")]
        assert age.handler({}, now=NOW)["ExecutionAge"] == 70 * 60 > THRESHOLD

    def test_a_build_hung_for_55_minutes_alarms_before_codebuild_ends_it(self, world, capsys):
        """Its age is how long the build has run: past the 50-minute
        threshold, so the alarm's 5-minute period closes before CodeBuild's
        60-minute time-out ends the build."""
        world.executions = [running("e1", minutes_ago(56))]
        world.actions = {
            "e1": [
                action("Source", "GitHub", minutes_ago(56), minutes_ago(55), category="Source"),
                action("Build", "Build", minutes_ago(55)),
            ]
        }
        world.stage_states = [holding("Build", "e1")]
        assert THRESHOLD < age.handler({}, now=NOW)["ExecutionAge"] == 55 * 60 < BUILD_TIMEOUT
        assert published() == [(3300.0, 1.0)]
        assert logged(capsys)["e1"]["stretch"] == {
            "since": "2026-11-22T11:05:00Z",
            "progress": "Build.Build started",
            "wait": None,
            "countsFrom": "2026-11-22T11:05:00Z",
            "countsFromBecause": "no known wait: the last progress",
        }

    def test_a_build_beside_a_pending_approval_counts(self, world):
        world.executions = [running("e1", minutes_ago(60))]
        world.actions = {
            "e1": [
                approval(minutes_ago(55), stage="ProductionEnv"),
                action("ProductionEnv", "Notes", minutes_ago(55)),
            ]
        }
        assert age.handler({}, now=NOW)["ExecutionAge"] == 55 * 60


class TestIncidentGates:
    def gate(self, world, waited):
        start = minutes_ago(waited + 11)
        world.executions = [running("e1", start)]
        world.actions = {
            "e1": [
                action("Source", "GitHub", start, minutes_ago(waited + 10), category="Source"),
                action("Build", "Build", minutes_ago(waited + 10), minutes_ago(waited)),
            ]
        }
        world.stage_states = [waiting_at("TestGate", "e1", minutes_ago(waited))]

    def test_a_20_minute_wait_is_excluded(self, world):
        self.gate(world, 20)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 0

    def test_past_the_wait_time_the_wait_counts(self, world):
        self.gate(world, 45)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 15 * 60

    def test_the_wait_time_is_a_setting(self, world, monkeypatch):
        configure(monkeypatch, INCIDENT_WAIT_MINUTES="40")
        self.gate(world, 45)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 5 * 60

    def test_the_wait_is_measured_from_the_conditions_start(self, world):
        # In line for 10 minutes (excluded), then 35 minutes at the condition: 5 count.
        self.gate(world, 45)
        world.stage_states = [waiting_at("TestGate", "e1", minutes_ago(35))]
        assert age.handler({}, now=NOW)["ExecutionAge"] == 5 * 60

    def test_past_the_gate_the_stretch_starts_again(self, world):
        self.gate(world, 60)
        world.actions["e1"] += [
            action("TestGate", "Checkpoint", minutes_ago(20), minutes_ago(19)),
            action("TestEnv", "DeployTest", minutes_ago(19)),
        ]
        world.stage_states = [holding("TestEnv", "e1")]
        # 40 minutes at the gate (10 past its wait time) no longer count: deploying for 19.
        assert age.handler({}, now=NOW)["ExecutionAge"] == 19 * 60


class TestApprovals:
    def test_an_approval_pending_8_days_counts_the_day_past_its_time_out(self, world):
        requested = NOW - datetime.timedelta(days=8)
        world.executions = [running("e1", requested - datetime.timedelta(minutes=30))]
        world.actions = {
            "e1": [
                action("Build", "Build", requested - datetime.timedelta(minutes=30), requested),
                approval(requested, stage="ProductionEnv"),
            ]
        }
        assert age.handler({}, now=NOW)["ExecutionAge"] == 24 * 3600

    def test_the_time_out_is_a_setting(self, world, monkeypatch):
        configure(monkeypatch, APPROVAL_TIMEOUT_MINUTES="60")
        world.executions = [running("e1", minutes_ago(100))]
        world.actions = {"e1": [approval(minutes_ago(100), status="InProgress", stage="ProductionEnv")]}
        assert age.handler({}, now=NOW)["ExecutionAge"] == 40 * 60

    def test_after_the_decision_the_stretch_starts_at_it(self, world):
        # Approved after 8 hours; no progress in the 110 minutes since.
        world.executions = [running("e1", minutes_ago(600))]
        world.actions = {"e1": [approval(minutes_ago(590), minutes_ago(110), stage="ProductionEnv")]}
        assert age.handler({}, now=NOW)["ExecutionAge"] == 110 * 60


class TestTheBake:
    """Production deployed from 20 to 8 minutes ago; the bake watches it since."""

    def baked(self, world, since):
        start = minutes_ago(80)
        world.executions = [running("e1", start)]
        world.actions = {
            "e1": [
                *through_staging(start),
                approval(minutes_ago(35), minutes_ago(22), stage="ProductionEnv"),
                action("ProductionWindow", "Checkpoint", minutes_ago(22), minutes_ago(21)),
                action("ProductionGate", "Checkpoint", minutes_ago(21), minutes_ago(20)),
                action("ProductionDeploy", "DeployProduction", minutes_ago(20), minutes_ago(since)),
            ]
        }
        world.stage_states = [baking("ProductionDeploy", "e1", minutes_ago(since))]

    def test_a_bake_8_minutes_into_10_publishes_nothing(self, world, capsys):
        self.baked(world, 8)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 0
        assert published() == [(0.0, 1.0)]
        assert logged(capsys)["e1"]["stretch"] == {
            "since": "2026-11-22T11:52:00Z",
            "progress": "ProductionDeploy: its on-success condition (bake) began",
            "wait": {
                "wait": "bake",
                "stage": "ProductionDeploy",
                "from": "2026-11-22T11:52:00Z",
                "expectedEnd": "2026-11-22T12:12:00Z",
            },
            "countsFrom": "2026-11-22T12:12:00Z",
            "countsFromBecause": "the expected end of the bake wait",
        }

    def test_a_bake_that_outlasts_its_time_counts_after_the_grace(self, world):
        # 30 minutes: 10 of bake, 10 of grace, 10 count.
        self.baked(world, 30)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 10 * 60

    def test_the_bake_time_is_a_setting(self, world, monkeypatch):
        configure(monkeypatch, BAKE_MINUTES="5")
        self.baked(world, 30)
        assert age.handler({}, now=NOW)["ExecutionAge"] == 15 * 60

    def test_when_the_state_cannot_be_read_the_bake_counts_from_the_deploys_end(self, world):
        self.baked(world, 8)
        world.fail("get_pipeline_state", client_error("AccessDeniedException", operation="GetPipelineState"))
        assert age.handler({}, now=NOW)["ExecutionAge"] == 8 * 60

    def test_a_bake_that_ended_is_progress(self, world):
        # Staging baked from 40 to 30 minutes ago; nothing since (the approval not yet requested).
        start = minutes_ago(80)
        world.executions = [running("e1", start)]
        world.actions = {"e1": through_staging(start)}
        world.stage_states = [
            {
                "stageName": "StagingEnv",
                "latestExecution": {"pipelineExecutionId": "e1", "status": "Succeeded"},
                "onSuccessConditionState": condition(minutes_ago(30), status="Succeeded"),
            }
        ]
        assert age.handler({}, now=NOW)["ExecutionAge"] == 30 * 60


class TestANormalRelease:
    """A release that moves all along, Monday in the window, approved in two
    minutes: 80 minutes from Source to the end of production's bake, 56 of
    them in actions, the longest of which (the build) takes 12 minutes."""

    START = at(2026, 11, 23, 10, 0)
    # stage, entry condition, actions (name, first minute, last minute, category), bake
    STAGES = (
        ("Source", None, [("GitHub", 0, 1, "Source")], None),
        ("Build", None, [("Build", 1, 13, "Build")], None),
        ("TestGate", (13, 14), [("Checkpoint", 14, 15, "Build")], None),
        ("TestEnv", None, [("DeployTest", 15, 23, "Build"), ("TestTests", 23, 28, "Build")], None),
        ("StagingGate", (28, 29), [("Checkpoint", 29, 30, "Build")], None),
        ("StagingEnv", None, [("DeployStaging", 30, 38, "Build"), ("StagingTests", 38, 43, "Build")], (43, 53)),
        ("ProductionEnv", None, [("ApproveProduction", 53, 55, "Approval")], None),
        ("ProductionWindow", (55, 56), [("Checkpoint", 56, 57, "Build")], None),
        ("ProductionGate", (57, 58), [("Checkpoint", 58, 59, "Build")], None),
        ("ProductionDeploy", None, [("DeployProduction", 59, 70, "Build")], (70, 80)),
    )

    def minute(self, m):
        return self.START + datetime.timedelta(minutes=m)

    def at_minute(self, world, t):
        """What ListActionExecutions and GetPipelineState say `t` minutes in."""
        world.executions = [running("e1", self.START)]
        world.actions = {"e1": []}
        world.stage_states = []
        for stage, entry, actions, bake in self.STAGES:
            if entry and entry[0] <= t < entry[1]:
                world.stage_states.append(waiting_at(stage, "e1", self.minute(entry[0])))
                continue
            if actions[0][1] > t:
                continue
            for name, first, last, category in actions:
                if first <= t:
                    end = self.minute(last) if last <= t else None
                    world.actions["e1"].append(action(stage, name, self.minute(first), end, category=category))
            done = all(last <= t for _, _, last, _ in actions) and (bake is None or bake[1] <= t)
            state = {
                "stageName": stage,
                "latestExecution": {"pipelineExecutionId": "e1", "status": "Succeeded" if done else "InProgress"},
            }
            if entry:
                state["beforeEntryConditionState"] = condition(self.minute(entry[1]), status="Succeeded")
            if bake and bake[0] <= t:
                baked = t >= bake[1]
                since = self.minute(bake[1] if baked else bake[0])
                state["onSuccessConditionState"] = condition(since, status="Succeeded" if baked else "InProgress")
            world.stage_states.append(state)

    def test_it_publishes_at_most_its_longest_action(self, world, capsys):
        assert sum(last - first for _, _, actions, _ in self.STAGES for _, first, last, _ in actions) == 56
        ages = {}
        for t in range(80):
            self.at_minute(world, t)
            ages[t] = age.handler({}, now=self.minute(t))["ExecutionAge"]
        (maximum, count), *_ = published()
        assert count == 80 and maximum == max(ages.values()) == 11 * 60 <= 12 * 60 < THRESHOLD
        assert logged(capsys)["e1"]["totalSeconds"] == 79 * 60
        assert {t: ages[t] // 60 for t in (0, 5, 12, 13, 14, 20, 27, 28, 40, 50, 54, 55, 57, 65, 69, 75, 79)} == {
            0: 0,  # Source starts
            5: 4,  # building since minute 1
            12: 11,
            13: 0,  # at TestGate's entry condition
            14: 0,  # its checkpoint starts
            20: 5,  # deploying test since 15
            27: 4,  # testing since 23
            28: 0,  # StagingGate
            40: 2,  # staging tests since 38
            50: 0,  # staging bake (from 43, expected to end at 63)
            54: 0,  # the approval
            55: 0,  # the window, open
            57: 0,  # ProductionGate
            65: 6,  # deploying production since 59
            69: 10,
            75: 0,  # production bake
            79: 0,
        }

    def test_the_same_release_hung_in_its_build_alarms(self, world):
        self.at_minute(world, 12)
        # The build never ends: 55 minutes after it started.
        assert age.handler({}, now=self.minute(56))["ExecutionAge"] == 55 * 60 > THRESHOLD


class TestTheQueuedLine:
    def queued(self, world):
        first, second = minutes_ago(300), minutes_ago(180)
        world.executions = [running("e2", second), running("e1", first)]
        world.actions = {
            # e1: 40 minutes of actions, then its approval has waited since +45.
            "e1": [*through_staging(first), approval(first + datetime.timedelta(minutes=45), stage="ProductionEnv")],
            # e2: through staging too, then in line for ProductionEnv since +40.
            "e2": through_staging(second, execution="e2"),
        }
        world.stage_states = [holding("ProductionEnv", "e1", queued=["e2"])]

    def test_a_release_queued_behind_another_approval_is_excluded(self, world, capsys):
        self.queued(world)
        assert age.handler({}, now=NOW) == {"result": "published", "ExecutionAge": 0, "running": 2}
        ages = logged(capsys)
        assert (ages["e1"]["ageSeconds"], ages["e2"]["ageSeconds"]) == (0, 0)
        assert ages["e2"]["stretch"] == {
            "since": "2026-11-22T09:40:00Z",
            "progress": "StagingEnv.DeployStaging ended (Succeeded)",
            "wait": {
                "wait": "in-line",
                "stage": "ProductionEnv",
                "from": "2026-11-22T09:40:00Z",
                "expectedEnd": None,
                "ahead": "e1",
            },
            "countsFrom": None,
            "countsFromBecause": "in-line: excluded while it lasts",
        }

    def test_the_release_ahead_is_measured_itself(self, world, capsys, monkeypatch):
        configure(monkeypatch, APPROVAL_TIMEOUT_MINUTES="60")
        self.queued(world)
        # e1's approval, requested 255 minutes ago, timed out (for this measure) 195 minutes ago.
        assert age.handler({}, now=NOW)["ExecutionAge"] == 195 * 60
        ages = logged(capsys)
        assert (ages["e1"]["ageSeconds"], ages["e2"]["ageSeconds"]) == (195 * 60, 0)

    def test_a_release_that_has_not_started_behind_an_older_one_is_excluded(self, world, capsys):
        world.executions = [running("e2", minutes_ago(120)), running("e1", minutes_ago(300))]
        world.actions = {"e1": [*through_staging(minutes_ago(300)), approval(minutes_ago(255), stage="ProductionEnv")]}
        assert age.handler({}, now=NOW)["ExecutionAge"] == 0
        assert logged(capsys)["e2"]["stretch"]["wait"] == {
            "wait": "in-line",
            "stage": None,
            "from": "2026-11-22T10:00:00Z",
            "expectedEnd": None,
        }

    def test_the_oldest_release_is_measured_itself(self, world):
        # Nothing ahead of it: its wait to start is not a known wait.
        world.executions = [running("e1", minutes_ago(70))]
        assert age.handler({}, now=NOW)["ExecutionAge"] == 70 * 60

    def test_after_a_wait_in_line_the_stretch_starts_at_the_next_progress(self, world):
        start = minutes_ago(300)
        world.executions = [running("e2", start)]
        world.actions = {
            "e2": [
                *through_staging(start, execution="e2"),
                # In line from +40 to +200, then approved after 20 minutes.
                approval(minutes_ago(100), minutes_ago(80), stage="ProductionEnv"),
                action("ProductionWindow", "Checkpoint", minutes_ago(80), minutes_ago(79), execution="e2"),
            ]
        }
        # 79 minutes since the checkpoint ended, in no known wait.
        assert age.handler({}, now=NOW)["ExecutionAge"] == 79 * 60


# --- the existing contract ------------------------------------------------------------------


def test_nothing_running_publishes_zero(world):
    assert age.handler({}, now=NOW)["ExecutionAge"] == 0
    assert published() == [(0.0, 1.0)]
    assert not any(operation == "get_pipeline_state" for operation, _ in world.calls)


def test_an_execution_without_progress_reports_the_time_since_its_last(world):
    world.executions = [
        {"pipelineExecutionId": "e1", "status": "InProgress", "startTime": minutes_ago(95)},
        {"pipelineExecutionId": "e0", "status": "Succeeded", "startTime": minutes_ago(300)},
    ]
    world.actions = {"e1": [build(minutes_ago(95), minutes_ago(90))]}
    assert age.handler({}, now=NOW)["ExecutionAge"] == 90 * 60
    assert (
        "list_action_executions",
        {"pipelineName": "kiro-pipeline-test", "filter": {"pipelineExecutionId": "e1"}},
    ) in world.calls


def test_the_oldest_of_several_running_executions_wins(world):
    world.executions = [
        {"pipelineExecutionId": f"e{n}", "status": "InProgress", "startTime": minutes_ago(10 * n)} for n in range(1, 4)
    ]
    assert age.handler({}, now=NOW) == {"result": "published", "ExecutionAge": 1800, "running": 3}


def test_settings_are_read_at_the_first_invocation_not_at_import(world, monkeypatch):
    monkeypatch.delenv("PIPELINE_NAME")
    age.config.cache_clear()

    with pytest.raises(SettingsError, match="PIPELINE_NAME is not set"):
        age.config()


def test_the_optional_settings_have_defaults_and_are_checked(world, monkeypatch):
    for name in age.OPTIONAL:
        monkeypatch.delenv(name, raising=False)
    configure(monkeypatch)
    assert {name: age.config()[name] for name in age.OPTIONAL} == {
        "WINDOW_CRON": "",
        "WINDOW_TIME_ZONE": "UTC",
        "INCIDENT_WAIT_MINUTES": 30,
        "APPROVAL_TIMEOUT_MINUTES": 7 * 24 * 60,
        "BAKE_MINUTES": 10,
    }
    configure(monkeypatch, INCIDENT_WAIT_MINUTES="0", APPROVAL_TIMEOUT_MINUTES="a week", BAKE_MINUTES="-5")
    with pytest.raises(
        SettingsError, match="INCIDENT_WAIT_MINUTES='0' is invalid.*APPROVAL_TIMEOUT_MINUTES.*BAKE_MINUTES"
    ):
        age.config()
