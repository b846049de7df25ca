"""`python -m ops dora --explain METRIC` (issue 24, item 4): the records
behind each figure, each with the rule that counted it or left it out.

The ledger below holds the hard cases: a rejection, a bake that failed and
was rolled back by CodePipeline, a release rolled back after it deployed, an
incident spanning two releases (the second a hotfix), a build failure, and a
failure not yet recovered. Every expected entry and figure is worked out by
hand in the comments, from the definitions in docs/delivery-controls.md,
never from functions/shared/dora.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from environments import load
from functions.shared import dora, records
from ops import cli
from tests.support.tables import seed_ledger

BASE = datetime(2026, 10, 1, tzinfo=UTC)
START, END = BASE, BASE + timedelta(days=30)
UP_TO_GATE = {"TestGate", "TestEnv", "StagingGate", "StagingEnv", "ProductionEnv", "ProductionWindow", "ProductionGate"}
INCIDENT_ID = "incident#kiro-pipeline-test-health-production#2026-10-19T12:00:00Z"  # starts day 18, 12:00


def at(day: float, hour: float = 0, base: datetime = BASE) -> str:
    return records.format_time(base + timedelta(days=day, hours=hour))


def ledger(base: datetime = BASE) -> list[dict]:
    def t(day, hour=0):
        return at(day, hour, base)

    def execution(key, began, ended, status="SUCCEEDED", **fields):
        return {
            records.KEY: key,
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: t(*began),
            "status": status,
            "executionType": "STANDARD",
            "recordLayout": 2,
            "endTime": t(*ended),
            **fields,
        }

    def deployed(key, began, ended, authored):
        return execution(
            key, began, ended, succeededStages=UP_TO_GATE | {"ProductionDeploy"}, commitAuthorTime=t(*authored)
        )

    def failed(key, began, ended, stage, outcome, succeeded):
        return execution(
            key, began, ended, "FAILED", stage=stage, stageStatus="FAILED", outcome=outcome, succeededStages=succeeded
        )

    def rollback_execution(key, began, ended):
        return {**execution(key, began, ended, succeededStages={"ProductionDeploy"}), "executionType": "ROLLBACK"}

    return [
        deployed("d0", (-5, 9), (-5, 10), (-5, 8)),  # before the window: counted nowhere
        deployed("d1", (1, 11), (1, 12), (1, 10)),  # lead 2 h
        deployed("d2", (4, 11), (4, 12), (3, 12)),  # lead 24 h
        failed("rej", (5, 9), (5, 10), "ProductionEnv", "REJECTED", UP_TO_GATE - {"ProductionEnv", "ProductionWindow"}),
        # The bake fails in ProductionDeploy: a change failure at 12:00; CodePipeline's
        # rollback execution rb_auto ends 12:30: recovery 30 min, and rework.
        failed("f_bake", (7, 10), (7, 12), "ProductionDeploy", "DEPLOY_FAILED", UP_TO_GATE),
        rollback_execution("rb_auto", (7, 12.1), (7, 12.5)),
        # d3 deploys (lead 3 h), then is rolled back out of production at 14:00:
        # a change failure; the rollback execution rb2 ends 14:20: recovery 20 min, rework.
        deployed("d3", (11, 11), (11, 12), (11, 9)),
        {
            records.KEY: f"{records.ROLLBACK_PREFIX}ProductionDeploy#d3",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: t(11, 14),
            "stage": "ProductionDeploy",
            "status": "ROLLBACK_SUCCEEDED",
            records.ROLLED_BACK_EXECUTION_ID: "d3",
        },
        rollback_execution("rb2", (11, 14), (11, 14 + 20 / 60)),
        # An incident spanning two releases: d4 deploys at 10:00 (lead 2 h), the
        # production alarm fires at 12:00 (d4 is the newest release in production:
        # a change failure), the hotfix d5 starts 13:00 and deploys 14:00 (lead
        # 1.5 h; rework: it began during the incident), the alarm returns to OK at
        # 15:00: d4 recovers after 3 h.
        deployed("d4", (18, 9), (18, 10), (18, 8)),
        {
            records.KEY: f"incident#kiro-pipeline-test-health-production#{t(18, 12)}",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: t(18, 12),
            "target": "production",
            "status": "RESOLVED",
            "endTime": t(18, 15),
            "endReason": "OK",
        },
        deployed("d5", (18, 13), (18, 14), (18, 12.5)),
        failed("build", (20, 9), (20, 9.5), "Build", "BUILD_FAILED", {"Source"}),
        # Fails in production on day 24, nothing restores it before the window ends.
        failed("f_open", (24, 10), (24, 12), "ProductionDeploy", "DEPLOY_FAILED", UP_TO_GATE),
    ]


def ids(entries) -> list[tuple[str, str]]:
    return [(entry.id, entry.rule) for entry in entries]


@pytest.fixture(scope="module")
def evidence():
    return dora.explain(ledger(), START, END)


def test_deployment_frequency_counts_the_five_deployments_and_says_why_the_rest_are_not(evidence):
    frequency = evidence["DeploymentFrequency"]
    assert ids(frequency.counted) == [(d, "deployed") for d in ("d1", "d2", "d3", "d4", "d5")]
    assert ids(frequency.left_out) == [
        ("rej", "REJECTED"),
        ("f_bake", "DEPLOY_FAILED"),
        ("rb_auto", "rollback-execution"),
        ("rb2", "rollback-execution"),
        ("build", "BUILD_FAILED"),
        ("f_open", "DEPLOY_FAILED"),
    ]


def test_lead_time_counts_each_deployment_from_its_author_time(evidence):
    lead = evidence["LeadTimeForChanges"]
    hours = {entry.id: entry.seconds / 3600 for entry in lead.counted}
    assert hours == {"d1": 2, "d2": 24, "d3": 3, "d4": 2, "d5": 1.5}
    assert lead.left_out == ()


def test_change_failure_rate_counts_four_failures_over_seven_attempts(evidence):
    failing = evidence["ChangeFailureRate"]
    assert [(e.id, e.rule, e.at) for e in failing.counted] == [
        ("f_bake", "failed-in-production", BASE + timedelta(days=7, hours=12)),
        ("d3", "rolled-back", BASE + timedelta(days=11, hours=14)),
        ("d4", "incident", BASE + timedelta(days=18, hours=12)),
        ("f_open", "failed-in-production", BASE + timedelta(days=24, hours=12)),
    ]
    assert [e.cause for e in failing.counted] == ["", "rollback#ProductionDeploy#d3", INCIDENT_ID, ""]
    # Attempts: the five deployments and the two failures that never deployed.
    assert sorted(e.id for e in failing.basis) == ["d1", "d2", "d3", "d4", "d5", "f_bake", "f_open"]
    # Considered and not counted: what deployed nothing and was no failure there.
    assert ids(failing.left_out) == [
        ("rej", "REJECTED"),
        ("rb_auto", "rollback-execution"),
        ("rb2", "rollback-execution"),
        ("build", "BUILD_FAILED"),
    ]


def test_recovery_time_counts_three_recoveries_and_lists_the_open_failure(evidence):
    recovery = evidence["FailedDeploymentRecoveryTime"]
    assert [(e.id, e.rule, e.seconds, e.cause) for e in recovery.counted] == [
        ("f_bake", "recovered-by-restore", 30 * 60, "rb_auto"),
        ("d3", "recovered-by-restore", 20 * 60, "rb2"),
        ("d4", "recovered-at-incident-end", 3 * 3600, INCIDENT_ID),
    ]
    assert ids(recovery.left_out) == [("f_open", "not-recovered")]


def test_rework_counts_the_two_rollback_executions_and_the_hotfix_over_seven_changes(evidence):
    rework = evidence["DeploymentReworkRate"]
    assert [(e.id, e.rule, e.cause) for e in rework.counted] == [
        ("rb_auto", "recovers", "f_bake"),
        ("rb2", "recovers", "d3"),
        ("d5", "hotfix", INCIDENT_ID),
    ]
    # Changes: the five deployments and the two successful rollback executions.
    assert sorted(e.id for e in rework.basis) == ["d1", "d2", "d3", "d4", "d5", "rb2", "rb_auto"]


def test_the_figures_are_the_hand_worked_ones():
    got = {m.name: m for m in dora.measure(ledger(), START, END)}
    assert (got["DeploymentFrequency"].value, got["DeploymentFrequency"].band) == (0.1667, "high")  # 5 / 30
    assert got["LeadTimeForChanges"].detail == {"median": 2 * 3600, "p90": 24 * 3600}  # of 1.5, 2, 2, 3, 24 h
    assert (got["ChangeFailureRate"].value, got["ChangeFailureRate"].rests_on) == (0.5714, 7)  # 4 / 7
    recovery = got["FailedDeploymentRecoveryTime"]
    assert (recovery.detail["median"], recovery.detail["p90"], recovery.rests_on) == (1800, 3 * 3600, 4)
    assert (got["DeploymentReworkRate"].value, got["DeploymentReworkRate"].rests_on) == (0.4286, 7)  # 3 / 7


def test_every_rule_an_entry_carries_has_its_sentence(evidence):
    from functions.shared.dora_rules import RULES

    rules = {e.rule for part in evidence.values() for e in (*part.counted, *part.basis, *part.left_out)}
    assert rules - set(RULES) == set()


def test_the_docs_list_every_rule_with_its_sentence():
    from functions.shared.dora_rules import RULES
    from tests.conftest import REPO

    text = (REPO / "docs" / "delivery-controls.md").read_text()
    assert [code for code, sentence in RULES.items() if f"| `{code}` | {sentence} |" not in text] == []


# --- the command, end to end on moto ------------------------------------------------
@pytest.fixture
def seeded(ops_on_moto):
    # The same ledger, ending yesterday: the command's window is the last 30 days.
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=29)
    seed_ledger(load("test").names, ledger(base))
    return base


def test_ops_dora_explain_lists_the_failures_and_attempts_in_text_and_json(seeded, capsys):
    assert cli.main(["dora", "test", "--explain", "changefailurerate", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metric"]["name"] == "ChangeFailureRate" and shown["metric"]["value"] == 0.5714
    assert [(e["id"], e["rule"]) for e in shown["counted"]] == [
        ("f_bake", "failed-in-production"),
        ("d3", "rolled-back"),
        ("d4", "incident"),
        ("f_open", "failed-in-production"),
    ]
    assert len(shown["basis"]) == 7
    assert [(e["id"], e["rule"]) for e in shown["leftOut"]] == [
        ("rej", "REJECTED"),
        ("rb_auto", "rollback-execution"),
        ("rb2", "rollback-execution"),
        ("build", "BUILD_FAILED"),
    ]
    assert shown["leftOut"][0]["why"] == "rejected at the approval: deployed nothing"
    assert cli.main(["dora", "test", "--explain", "DeploymentReworkRate"]) == 0
    text = capsys.readouterr().out
    assert "DeploymentReworkRate of kiro-pipeline-test" in text and "42.9%" in text
    assert "rework (3):" in text and "changes (deployments and successful rollback executions) (7):" in text
    assert "d5" in text and "hotfix: a deployment that began during a production incident" in text


def test_an_unknown_metric_is_a_usage_error_naming_the_metrics(seeded, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["dora", "test", "--explain", "MTTR"])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert "'MTTR' is not a DORA metric" in error and "FailedDeploymentRecoveryTime" in error


def test_records_from_before_these_features_are_explained_with_their_rules():
    """Layout 1 (before v0.19.0: ProductionEnv held the approval and the
    deploy), no `outcome`, no commit author time: each still gets a rule."""
    legacy = [
        {  # deployed under layout 1, before commit author times were recorded
            records.KEY: "old1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(2, 9),
            "status": "SUCCEEDED",
            "succeededStages": {"TestEnv", "StagingEnv", "ProductionEnv"},
            "endTime": at(2, 10),
        },
        {  # failed in the layout-1 production stage's deploy action, no outcome written
            records.KEY: "old2",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(3, 9),
            "status": "FAILED",
            "stage": "ProductionEnv",
            "stageStatus": "FAILED",
            "failedAction": "ProductionEnv/DeployProduction",
            "succeededStages": {"TestEnv", "StagingEnv"},
            "endTime": at(3, 10),
        },
    ]
    evidence = dora.explain(legacy, START, END)
    assert ids(evidence["DeploymentFrequency"].counted) == [("old1", "deployed")]
    assert ids(evidence["LeadTimeForChanges"].left_out) == [("old1", "no-author-time")]
    assert ids(evidence["ChangeFailureRate"].counted) == [("old2", "failed-in-production")]
    assert ids(evidence["FailedDeploymentRecoveryTime"].left_out) == [("old2", "not-recovered")]
