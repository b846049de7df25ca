"""What changed since the last good release (functions/shared/changes.py,
issue 24 item 1), the pure part: the span, and what each section lists.

The scenario: an incident after three releases, one infrastructure apply, a
reconciler run and an override. Every expectation is worked out by hand
below from the rules in docs/delivery-controls.md (which release is a
change failure), never by running changes.py or dora.py on the ledger:

- g0 (day 0) and g1 (day 1) deployed to production and nothing marked them:
  both good, g1 the newest: the span starts there.
- r1 (day 2, 10:00) deployed; the rollback function rolled it back out of
  ProductionDeploy at 13:00 (rollback record) and the rollback execution
  rb1 restored c1: r1 is a change failure (rolled-back).
- r2 (day 2, 15:00) failed in ProductionDeploy: a change failure.
- the apply of pull request #42 (day 3, 09:00) changed the pipeline: r3 runs
  in structure version 4, the others in 3.
- `ops deployer-roles` changed a trust policy (day 3, 09:30).
- r3 (day 3, 10:00) was let past ProductionWindow by an override (10:30) and
  deployed at 11:00; the production alarm went to ALARM at 12:00, still open:
  r3 is the newest release to reach production before it: a change failure.
- configuration: a parameter changed on day 2 (in the span), a secret on day 0
  (before it).
- before the span (excluded): an override and an apply on day 1 before g1 ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.shared import changes, records

BASE = datetime(2026, 10, 1, tzinfo=UTC)
REPOSITORY = "your-org/kiro-codebuild-worker"
PASSED = {"Source", "Build", "TestGate", "TestEnv", "StagingGate", "StagingEnv", "ProductionEnv", "ProductionGate"}


def at(day: float, hour: float = 0, base: datetime = BASE) -> str:
    return records.format_time(base + timedelta(days=day, hours=hour))


def scenario(base: datetime = BASE, environment: str = "test") -> list[dict]:
    def t(day, hour=0):
        return at(day, hour, base)

    def execution(key, began, ended, commit, version=3, status="SUCCEEDED", succeeded=PASSED | {"ProductionDeploy"}):
        return {
            records.KEY: key,
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(*began),
            records.END_TIME: t(*ended),
            records.STATUS: status,
            records.EXECUTION_TYPE: records.STANDARD,
            records.RECORD_LAYOUT: 2,
            records.PIPELINE_VERSION: version,
            records.COMMIT_ID: commit,
            records.SUCCEEDED_STAGES: succeeded,
            records.STAGE_STARTS: {f"ProductionDeploy@{t(ended[0], ended[1] - 0.5)}"},
            records.APPROVAL_RESULT: "APPROVED",
            records.APPROVED_BY: "arn:aws:sts::123456789012:assumed-role/release/alice",
            records.APPROVAL_DECIDED_AT: t(began[0], began[1] + 0.25),
        }

    r2 = execution("r2", (2, 15), (2, 16), "c2b", status="FAILED", succeeded=PASSED)
    r2 |= {records.STAGE: "ProductionDeploy", records.STAGE_STATUS: "FAILED", records.OUTCOME: "DEPLOY_FAILED"}
    r2[records.FAILED_ACTION] = "ProductionDeploy/DeployProduction"
    rb1 = execution("rb1", (2, 13), (2, 13 + 1 / 3), "c1") | {records.EXECUTION_TYPE: records.ROLLBACK}
    for key in (records.APPROVAL_RESULT, records.APPROVED_BY, records.APPROVAL_DECIDED_AT):
        rb1.pop(key)
    return [
        execution("g0", (0, 10), (0, 11), "c0"),
        {
            records.KEY: f"{records.OVERRIDE_PREFIX}ProductionGate#{t(1, 10.5)}#g1",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(1, 10.5),
            records.STATUS: "OVERRIDDEN",
            records.STAGE: "ProductionGate",
            records.REASON: "before the span",
        },
        {
            records.KEY: f"{records.APPLY_PREFIX}41#100#1",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(1, 10.75),
        },
        execution("g1", (1, 10), (1, 11), "c1"),
        execution("r1", (2, 10), (2, 11), "c2"),
        {
            records.KEY: f"{records.ROLLBACK_PREFIX}ProductionDeploy#r1",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(2, 13),
            records.STAGE: "ProductionDeploy",
            records.STATUS: "ROLLBACK_IN_PROGRESS",
            records.ROLLED_BACK_EXECUTION_ID: "r1",
            records.TARGET_EXECUTION_ID: "g1",
        },
        rb1,
        r2,
        {
            records.KEY: f"{records.APPLY_PREFIX}42#200#1",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(3, 9),
            records.PULL_REQUEST: "42",
            records.STACKS: {"pipeline-test"},
            records.PLAN_FINGERPRINTS: {"pipeline-test": "sha256:" + "ab" * 32},
            records.MERGED_BY: "bob",
            records.COMMIT_ID: "c3",
            records.RUN_URL: "https://github.com/your-org/kiro-codebuild-worker/actions/runs/200",
        },
        {
            records.KEY: f"{records.RUN_PREFIX}deployer-roles#{t(3, 9.5)}#0a1b2c3d",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(3, 9.5),
            records.COMMAND: "deployer-roles",
            records.CHANGED: ["kiro-pipeline-test-production-deployer: trust policy"],
            records.RAN_BY: "arn:aws:sts::123456789012:assumed-role/admin/carol",
        },
        execution("r3", (3, 10), (3, 11), "c3", version=4),
        {
            records.KEY: f"{records.OVERRIDE_PREFIX}ProductionWindow#{t(3, 10.5)}#r3",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(3, 10.5),
            records.STATUS: "OVERRIDDEN",
            records.STAGE: "ProductionWindow",
            records.CONDITION_TYPE: "BEFORE_ENTRY",
            records.PIPELINE_EXECUTION_ID: "r3",
            records.OVERRIDDEN_BY: "arn:aws:sts::123456789012:assumed-role/admin/dave",
            records.REASON: "hotfix for INC-7 on a Friday",
        },
        {
            records.KEY: f"{records.INCIDENT_PREFIX}kiro-pipeline-{environment}-health-production#{t(3, 12)}",
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: t(3, 12),
            records.TARGET: "production",
            records.STATUS: "OPEN",
        },
    ]


def configuration(base: datetime = BASE) -> list[changes.ConfigChange]:
    return [
        changes.ConfigChange(
            "parameter", "/kiro-pipeline/test/github-repo", "2", base + timedelta(days=2, hours=9), "erin"
        ),
        changes.ConfigChange("secret", "kiro-pipeline-test-slack-webhook", "v-old", base + timedelta(hours=12)),
    ]


@pytest.fixture(scope="module")
def view() -> changes.ChangeSet:
    return changes.build(scenario(), configuration(), environment="test", repository=REPOSITORY)


def test_the_span_starts_at_the_last_release_no_rule_made_a_failure(view):
    assert view.base.execution == "g1" and view.base.commit == "c1"
    assert view.until == "now"


def test_the_application_lists_the_three_releases_and_the_rollback_execution(view):
    assert [(r.execution, r.outcome, r.commit) for r in view.releases] == [
        ("r1", "DEPLOYED", "c2"),
        ("rb1", "rollback execution, SUCCEEDED", "c1"),
        ("r2", "DEPLOY_FAILED", "c2b"),
        ("r3", "DEPLOYED", "c3"),
    ]
    # The newest STANDARD release, not the rollback execution, ends the compare.
    assert view.newest.execution == "r3"
    assert view.compare == f"https://github.com/{REPOSITORY}/compare/c1...c3"
    assert {r.digest for r in (view.base, *view.releases)} == {"not recorded"}


def test_the_pipeline_version_change_the_apply_made(view):
    assert view.versions == (f"3 -> 4 (first in r3, {at(3, 10)})",)


def test_exactly_the_apply_the_run_and_the_override_of_the_span(view):
    assert [a[records.KEY] for a in view.applies] == [f"{records.APPLY_PREFIX}42#200#1"]
    applied = view.applies[0]
    assert applied[records.STACKS] == ["pipeline-test"] and applied[records.MERGED_BY] == "bob"
    assert [r[records.COMMAND] for r in view.runs] == ["deployer-roles"]
    assert view.runs[0][records.REASON] == "not recorded"
    assert [(o[records.STAGE], o[records.PIPELINE_EXECUTION_ID]) for o in view.overrides] == [
        ("ProductionWindow", "r3")
    ]
    assert view.overrides[0][records.REASON] == "hotfix for INC-7 on a Friday"


def test_approvals_are_the_span_executions_with_who_and_when(view):
    assert [(a[records.KEY], a[records.APPROVAL_DECIDED_AT]) for a in view.approvals] == [
        ("r1", at(2, 10.25)),
        ("r2", at(2, 15.25)),
        ("r3", at(3, 10.25)),
    ]


def test_configuration_changed_in_the_span_only(view):
    assert [(c.kind, c.name, c.version) for c in view.configuration] == [
        ("parameter", "/kiro-pipeline/test/github-repo", "2")
    ]


def test_the_text_names_every_section_and_the_page_ends_with_the_command(view):
    text = changes.lines(view)
    assert text[0] == "What changed in test since g1, the last good release on production, until now:"
    assert text[1] == (
        "  4 execution(s), 1 infrastructure apply(s), 1 ops run(s), 1 override(s), 3 approval(s), "
        "1 configuration change(s), 1 pipeline structure change(s)"
    )
    assert changes.DRIFT_LINE in text
    assert "  structure version 3 -> 4 (first in r3, " + at(3, 10) + ")" in text
    page = changes.first_lines(view, 5)
    assert len(page) == 6 and page[:5] == text[:5]
    assert page[-1] == "all of it: python -m ops changes test --target production"
    assert changes.as_json(view)["command"] == "python -m ops changes test --target production"


def test_staging_is_judged_by_the_same_rules_on_its_own_stage_and_incidents():
    # On staging every release passed StagingEnv and no staging incident or
    # rollback is recorded: the newest, r3, is good there, and nothing came after.
    items = scenario()
    staging = changes.build(items, [], environment="test", repository=REPOSITORY, target="staging")
    assert staging.base.execution == "r3" and staging.releases == ()
    # A staging incident after r3 makes it a failure there; r2 (passed StagingEnv) is then the last good.
    incident = {
        records.KEY: f"{records.INCIDENT_PREFIX}kiro-pipeline-test-health-staging#{at(3, 13)}",
        records.INDEX_PARTITION: "test",
        records.INDEX_SORT: at(3, 13),
        records.TARGET: "staging",
        records.STATUS: "OPEN",
    }
    staging = changes.build([*items, incident], [], environment="test", repository=REPOSITORY, target="staging")
    assert staging.base.execution == "r2" and [r.execution for r in staging.releases] == ["r3"]


def test_from_and_to_name_the_span():
    view = changes.build(scenario(), configuration(), environment="test", repository=REPOSITORY, first="g0", last="r1")
    assert view.base.execution == "g0" and [r.execution for r in view.releases] == ["g1", "r1"]
    assert view.until == at(2, 11) and view.compare.endswith("/compare/c0...c2")
    assert [o[records.REASON] for o in view.overrides] == ["before the span"]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("g1", None, "--from and --to go together"),
        (None, "r1", "--from and --to go together"),
        ("nope", "r1", "--from nope: no execution of test has this ID in the ledger"),
        ("g1", "nope", "--to nope: no execution of test has this ID"),
        ("r3", "g1", "--to g1 started before --from r3: swap them"),
    ],
)
def test_a_span_that_cannot_be_chosen_says_why(first, last, message):
    with pytest.raises(changes.SpanError, match=message):
        changes.build(scenario(), [], environment="test", repository=REPOSITORY, first=first, last=last)


def test_no_good_release_is_a_clear_error():
    items = [r for r in scenario() if r[records.KEY] not in ("g0", "g1")]
    with pytest.raises(changes.SpanError, match="no release of test is recorded as healthy on production"):
        changes.build(items, [], environment="test", repository=REPOSITORY)


def test_records_from_before_these_features_give_lines_not_key_errors():
    # Layout 1 (before v0.19.0): ProductionEnv held the production deploy; no
    # commit, no version, no digest, no approval fields, no end time on one.
    legacy = [
        {
            records.KEY: "old1",
            records.INDEX_SORT: at(0, 10),
            records.END_TIME: at(0, 11),
            records.STATUS: "SUCCEEDED",
            records.SUCCEEDED_STAGES: {"Source", "Build", "TestEnv", "StagingEnv", "ProductionEnv"},
        },
        {records.KEY: "old2", records.INDEX_SORT: at(1, 10), records.STATUS: "IN_PROGRESS"},
        {records.KEY: f"{records.OVERRIDE_PREFIX}ProductionEnv#x", records.INDEX_SORT: at(1, 11)},
        {records.KEY: f"{records.RUN_PREFIX}ci-roles#x", records.INDEX_SORT: at(1, 12)},
    ]
    view = changes.build(legacy, [], environment="test", repository=REPOSITORY)
    assert view.base.execution == "old1" and view.base.commit == "not recorded"
    assert view.compare == "not available: the good release's commit is not recorded"
    text = "\n".join(changes.lines(view))
    assert "note: 2 of 2 execution record(s) carry no commit (written before it was recorded): old1, old2" in text
    assert "for not recorded by not recorded (not recorded): not recorded" in text
    assert f"  {at(1, 12)}  not recorded by not recorded: not recorded" in text
    assert "structure version not recorded throughout" in text


def test_a_digest_comes_from_the_record_or_its_builds_provenance():
    items = scenario()
    for record in items:
        if record[records.KEY] == "r1":
            record[records.ARTIFACT_DIGEST] = "sha256:" + "1" * 64
    build = {records.KEY: f"{records.BUILD_PREFIX}r3", records.ARTIFACT_DIGEST: "sha256:" + "3" * 64}
    view = changes.build([*items, build], [], environment="test", repository=REPOSITORY)
    digests = {r.execution: r.digest for r in view.releases}
    assert digests == {
        "r1": "sha256:" + "1" * 64,
        "rb1": "not recorded",
        "r2": "not recorded",
        "r3": "sha256:" + "3" * 64,
    }
    assert view.newest.digest == "sha256:" + "3" * 64


def test_an_apply_that_stopped_says_where_and_one_that_did_not_says_nothing_of_it():
    """The apply record's `applyStopped` (tools/apply_record.py): shown in
    the line and the JSON; absent (every apply before the field, and every
    complete one) it is null and the line says nothing of it."""
    stopped = "pipeline-test: its apply failed partway (some of its changes may be applied)"
    items = scenario()
    (apply,) = [i for i in items if i[records.KEY] == f"{records.APPLY_PREFIX}42#200#1"]
    complete = changes.build(items, [], environment="test", repository=REPOSITORY, target="production")
    assert complete.applies[0][records.APPLY_STOPPED] is None
    assert not any("STOPPED" in line for line in changes.lines(complete))
    apply[records.APPLY_STOPPED] = stopped
    view = changes.build(items, [], environment="test", repository=REPOSITORY, target="production")
    (line,) = [line for line in changes.lines(view) if "pull request #42" in line]
    assert f"pull request #42  STOPPED: {stopped}  stacks pipeline-test" in line
    assert changes.as_json(view)["applies"][0][records.APPLY_STOPPED] == stopped
