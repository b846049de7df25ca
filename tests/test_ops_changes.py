"""`python -m ops changes` end to end on moto (issue 24, item 1): the ledger
read through EnvironmentStatusIndex, the parameters through SSM
DescribeParameters and the secrets through Secrets Manager ListSecrets and
DescribeSecret; never a call that returns a value.

The ledger is tests/test_changes_logic.py's scenario (an incident after
three releases, one infrastructure apply, a reconciler run and an override;
every expectation worked out by hand there), placed so that it ends an hour
ago, with CodePipeline-shaped execution IDs: the command takes only those.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import botocore.session
import pytest

from environments import load
from functions.shared import records
from ops import cli
from tests.support.tables import seed_ledger
from tests.test_changes_logic import scenario

NAMES = load("test").names
EXECUTIONS = ("g0", "g1", "r1", "rb1", "r2", "r3")
IDS = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in EXECUTIONS}
PARAMETER_VALUE, SECRET_VALUE = "p4r4m-value-never-shown", "s3cr3t-value-never-shown"
# The calls that return values: none of them may be made.
VALUE_READS = {"GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory", "GetSecretValue"}


def renamed(items: list[dict], ids: dict[str, str]) -> list[dict]:
    """The scenario with execution IDs as CodePipeline makes them, everywhere one is named."""

    def rename(value):
        if isinstance(value, str):
            if value in ids:
                return ids[value]
            head, _, last = value.rpartition("#")
            return f"{head}#{ids[last]}" if head and last in ids else value
        return value

    return [{attribute: rename(value) for attribute, value in item.items()} for item in items]


def base_now() -> datetime:
    # The scenario's last record is at day 3, 12:00: it ends an hour ago.
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=3, hours=13)


@pytest.fixture
def calls(ops_on_moto):
    """Every operation the command calls, by name."""
    made = []
    for service in ("dynamodb", "ssm", "secretsmanager", "sts"):
        ops_on_moto.client(service).meta.events.register(
            "before-call", lambda model, **_: made.append(model.name), unique_id=f"calls-{service}"
        )
    return made


@pytest.fixture
def seeded(ops_on_moto, calls):
    base = base_now()
    seed_ledger(NAMES, renamed(scenario(base), IDS))
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/kiro-pipeline/test/github-repo", Value=PARAMETER_VALUE, Type="String")
    ssm.put_parameter(Name="/kiro-pipeline/other/github-repo", Value="x", Type="String")  # not the environment's
    boto3.client("secretsmanager").create_secret(Name=NAMES.resource_secret("slack-webhook"), SecretString=SECRET_VALUE)
    boto3.client("secretsmanager").create_secret(Name="kiro-pipeline-staging-slack-webhook", SecretString="x")
    return base


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_incident_after_three_releases_an_apply_a_run_and_an_override_lists_exactly_those(seeded, calls, capsys):
    code, out, err = run(capsys, "changes", "test", "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert shown["lastGood"]["execution"] == IDS["g1"]
    assert [r["execution"] for r in shown["releases"]] == [IDS[n] for n in ("r1", "rb1", "r2", "r3")]
    assert shown["compare"] == "https://github.com/your-org/kiro-codebuild-worker/compare/c1...c3"
    assert shown["pipelineVersions"] == [
        f"3 -> 4 (first in {IDS['r3']}, {records.format_time(seeded + timedelta(days=3, hours=10))})"
    ]
    assert [a[records.PULL_REQUEST] for a in shown["applies"]] == ["42"]
    assert [r[records.COMMAND] for r in shown["opsRuns"]] == ["deployer-roles"]
    assert [(o[records.STAGE], o[records.PIPELINE_EXECUTION_ID]) for o in shown["overrides"]] == [
        ("ProductionWindow", IDS["r3"])
    ]
    assert [a[records.KEY] for a in shown["approvals"]] == [IDS[n] for n in ("r1", "r2", "r3")]
    # The parameter and the secret were made just now, in the span; other environments' are not listed.
    configured = sorted((c["kind"], c["name"], c["version"]) for c in shown["configuration"])
    assert [c[:2] for c in configured] == [
        ("parameter", "/kiro-pipeline/test/github-repo"),
        ("secret", "kiro-pipeline-test-slack-webhook"),
    ]
    assert configured[0][2] == "1"  # the parameter's first version
    assert shown["command"] == "python -m ops changes test --target production"
    assert PARAMETER_VALUE not in out and SECRET_VALUE not in out
    assert VALUE_READS.isdisjoint(calls), calls
    assert {"Query", "DescribeParameters", "ListSecrets", "DescribeSecret"} <= set(calls)


def test_the_text_view_shows_every_section(seeded, capsys):
    code, out, _ = run(capsys, "changes", "test")
    assert code == 0
    print(out)  # docs/delivery-controls.md's example is this output
    lines = out.splitlines()
    assert lines[0] == f"What changed in test since {IDS['g1']}, the last good release on production, until now:"
    for title in ("application (4):", "pipeline:", "infrastructure applies (1):", "ops runs (1):"):
        assert title in lines
    assert "overrides (1):" in lines and "approvals (3):" in lines and "configuration (2):" in lines
    assert PARAMETER_VALUE not in out and SECRET_VALUE not in out


def test_from_and_to_name_the_span(seeded, capsys):
    code, out, _ = run(capsys, "changes", "test", "--from", IDS["g0"].upper(), "--to", IDS["r1"], "--json")
    shown = json.loads(out)
    assert code == 0 and shown["lastGood"]["execution"] == IDS["g0"]
    assert [r["execution"] for r in shown["releases"]] == [IDS["g1"], IDS["r1"]]


def test_staging_has_its_own_last_good_release(seeded, capsys):
    code, out, _ = run(capsys, "changes", "test", "--target", "STAGING", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["target"] == "staging" and shown["lastGood"]["execution"] == IDS["r3"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--from", IDS["g0"]), "--from and --to go together"),
        (("--to", IDS["g0"]), "--from and --to go together"),
        (("--since-last-good", "--to", IDS["g0"]), "--since-last-good ends now"),
        (("--from", IDS["g0"], "--to", str(uuid.uuid4())), "no execution of test has this ID in the ledger"),
        (("--from", IDS["r3"], "--to", IDS["g0"]), "started before --from"),
    ],
)
def test_a_span_that_cannot_be_chosen_is_a_usage_error(seeded, capsys, argv, message):
    code, out, err = run(capsys, "changes", "test", *argv)
    assert (code, out) == (2, "") and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--from", "g0", "--to", "r1"), "'g0' is not a pipeline execution ID"),
        (("--target", "qa"), "'qa' is not a deploy target"),
        (("--since-last-good", "--from", IDS["g0"]), "not allowed with argument"),
    ],
)
def test_a_malformed_argument_is_refused_by_the_parser(ops_on_moto, capsys, argv, message):
    with pytest.raises(SystemExit) as raised:
        cli.main(["changes", "test", *argv])
    assert raised.value.code == 2 and message in capsys.readouterr().err


def test_no_good_release_in_the_ledger_is_a_clear_usage_error(ops_on_moto, capsys):
    items = [r for r in renamed(scenario(base_now()), IDS) if r[records.KEY] not in (IDS["g0"], IDS["g1"])]
    seed_ledger(NAMES, items)
    code, out, err = run(capsys, "changes", "test")
    assert (code, out) == (2, "")
    assert "no release of test is recorded as healthy on production" in err and "--from EXECUTION --to EXECUTION" in err


def test_records_from_before_these_features_give_lines_not_tracebacks(ops_on_moto, capsys):
    old, newer = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    seed_ledger(
        NAMES,
        [
            # Layout 1: no recordLayout, no commit, no version, no digest, no approval.
            {
                records.KEY: old,
                records.INDEX_SORT: records.format_time(now - timedelta(days=2)),
                records.END_TIME: records.format_time(now - timedelta(days=2, hours=-1)),
                records.STATUS: "SUCCEEDED",
                records.SUCCEEDED_STAGES: {"Source", "Build", "TestEnv", "StagingEnv", "ProductionEnv"},
            },
            {records.KEY: newer, records.INDEX_SORT: records.format_time(now - timedelta(days=1)), "status": "FAILED"},
            # A field of a type no writer gives it: left out, and said so.
            {
                records.KEY: "odd",
                records.INDEX_SORT: records.format_time(now),
                records.SUCCEEDED_STAGES: {"x"},
                "status": 7,
            },
        ],
    )
    code, out, err = run(capsys, "changes", "test")
    assert (code, err) == (0, "")
    assert f"since {old}, the last good release on production" in out
    assert "compare:   not available: the good release's commit is not recorded" in out
    assert "note: 2 of 2 execution record(s) carry no commit" in out
    assert "note: 1 record(s) left out, a field of an unexpected type (first: odd: status is int, not text)" in out


def test_a_ledger_whose_old_records_cannot_show_a_good_release_says_so(ops_on_moto, capsys):
    # Written before the recorder kept end times: dora counts no deployment.
    seed_ledger(
        NAMES, [{records.KEY: str(uuid.uuid4()), records.INDEX_SORT: "2025-01-01T00:00:00Z", "status": "SUCCEEDED"}]
    )
    code, out, err = run(capsys, "changes", "test")
    assert (code, out) == (2, "") and "no release of test is recorded as healthy on production" in err


def test_the_describe_answers_carry_no_values_by_botocores_models():
    """Why these calls: their answers have no member that holds a value."""
    session = botocore.session.get_session()
    ssm, secrets = session.get_service_model("ssm"), session.get_service_model("secretsmanager")
    assert "Value" not in ssm.shape_for("ParameterMetadata").members
    assert "Value" in ssm.shape_for("ParameterHistory").members  # why GetParameterHistory is not used
    for shape in (secrets.shape_for("SecretListEntry"), secrets.operation_model("DescribeSecret").output_shape):
        assert not {"SecretString", "SecretBinary"} & set(shape.members)


# --- ops runs in the ledger (ops/ledger_runs.py) ------------------------------------
def run_records(table: str) -> list[dict]:
    from tests.support.tables import all_items

    return [i for i in all_items(table) if i[records.KEY].startswith(records.RUN_PREFIX)]


@pytest.fixture
def iam_on_moto(ops_on_moto, monkeypatch):
    # moto knows AWS's managed policies (PowerUserAccess) only when asked.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return ops_on_moto


def test_a_reconciler_that_changed_something_records_its_run_and_one_that_did_not_records_nothing(iam_on_moto, capsys):
    names = load("production").names
    seed_ledger(names, [], environment="production")
    assert cli.main(["ci-roles", "production", "--repository", "acme/kiro-pipeline"]) == 0
    (run_record,) = run_records(names.deployments_table)
    assert run_record[records.KEY].startswith(f"{records.RUN_PREFIX}ci-roles#")
    assert run_record[records.COMMAND] == "ci-roles" and run_record[records.INDEX_PARTITION] == "production"
    assert run_record[records.RAN_BY].startswith("arn:aws:") and run_record[records.EXPIRES] > 0
    # One line per changed step, as the report shows it ("+ subject: setting").
    report = [line[4:] for line in capsys.readouterr().out.splitlines() if line.startswith("  + ")]
    assert run_record[records.CHANGED] == report and len(report) >= 3
    assert cli.main(["ci-roles", "production", "--repository", "acme/kiro-pipeline"]) == 0
    assert len(run_records(names.deployments_table)) == 1  # nothing changed: no second record


def test_a_run_that_cannot_be_recorded_keeps_its_work_and_its_exit_code(iam_on_moto, capsys):
    # No deployments table (core not deployed yet, or another account's credentials).
    assert cli.main(["ci-roles", "production", "--repository", "acme/kiro-pipeline"]) == 0
    err = capsys.readouterr().err
    assert err == (
        "! ci-roles: the changes are made, but the run is not recorded in the ledger (PutItem on "
        "kiro-pipeline-production-deployments): the table kiro-pipeline-production-deployments does not exist "
        "here yet (core's stack makes it)\n"
    )
    assert boto3.client("iam").get_role(RoleName="kiro-pipeline-production-ci-apply-role")


def test_a_run_record_never_overwrites_another(ops_on_moto, monkeypatch, capsys):
    from ops import ledger_runs
    from ops.common import Context

    seed_ledger(NAMES, [])
    ctx = Context(load("test"), "us-east-1", None, False)
    monkeypatch.setattr(ledger_runs.uuid, "uuid4", lambda: uuid.UUID(int=7))
    first = ledger_runs.record_run(ctx, "freeze add", ["freeze f1: a, b"], "audit week")
    frozen = first.split("#")[2]
    monkeypatch.setattr(ledger_runs, "iso", lambda moment: frozen)  # the same second: the same key
    assert ledger_runs.record_run(ctx, "freeze add", ["something else"]) is None
    assert "already existed" in capsys.readouterr().err
    (kept,) = run_records(NAMES.deployments_table)
    assert kept[records.CHANGED] == ["freeze f1: a, b"] and kept[records.REASON] == "audit week"
    assert first == f"{records.RUN_PREFIX}freeze-add#{frozen}#00000000"
    assert ledger_runs.record_run(ctx, "freeze add", []) is None  # nothing changed: nothing written
