"""The versioned buildspecs: they parse, name the report groups the stack
creates, use only variables something defines, and their gates behave.

The gate tests run the buildspecs' own shell blocks in bash, with fake
`aws`, `curl`, `date` and `sleep` commands first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from functions.shared.contract import metrics, records
from topology import naming
from topology.naming import METRICS_NAMESPACE
from topology.projects import BUILDSPECS, buildspec_file

REPORT_TYPES = {"JUNITXML": "TEST", "COBERTURAXML": "CODE_COVERAGE"}
# Set by CodePipeline on the actions that record results (see modules/pipeline.py).
ACTION_VARIABLES = {"PIPELINE_EXECUTION_ID", "GATE_STAGE"}


def load(kind: str) -> dict:
    return yaml.safe_load(buildspec_file(kind).read_text())


def block(kind: str, phase: str, marker: str) -> str:
    """The command of `phase` whose text contains `marker`."""
    (command,) = [c for c in load(kind)["phases"][phase]["commands"] if marker in c]
    return command


@pytest.mark.parametrize("path", sorted(BUILDSPECS.glob("*.yml")), ids=lambda p: p.name)
def test_buildspec_parses(path):
    spec = yaml.safe_load(path.read_text())
    assert spec["version"] == 0.2
    assert spec["env"]["shell"] == "bash"
    assert set(spec["phases"]) <= {"install", "pre_build", "build", "post_build"}


def test_every_buildspec_file_is_used():
    used = {buildspec_file(kind).name for kind in naming.CODEBUILD_PROJECTS}
    assert used == {p.name for p in BUILDSPECS.glob("*.yml")}


@pytest.mark.parametrize("kind", naming.CODEBUILD_PROJECTS)
def test_reports_name_report_groups_the_stack_creates(stacks, env_config, kind):
    pipeline = stacks[naming.stack_id("pipeline", env_config.name)]
    created = {g["name"]: g["type"] for g in pipeline.resources("aws_codebuild_report_group").values()}
    reports = load(kind).get("reports", {})
    for report, spec in reports.items():
        # CodeBuild resolves a buildspec report `r` of project `p` to group `p-r`.
        group = env_config.names.report_group(kind, report)
        assert group in created, f"{kind} publishes {report!r} to {group}, which the stack does not create"
        assert created[group] == REPORT_TYPES[spec["file-format"]]
    expected = {g for g in created if g.startswith(env_config.names.codebuild_project(kind) + "-")}
    assert {env_config.names.report_group(kind, r) for r in reports} == expected


@pytest.mark.parametrize("kind", naming.CODEBUILD_PROJECTS)
def test_every_variable_used_is_defined(stacks, kind):
    pipeline = stacks["pipeline-test"]
    project = pipeline.resource("aws_codebuild_project", kind.replace("-", "_"))
    text = buildspec_file(kind).read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", code))
    defined = {v["name"] for v in project["environment"]["environment_variable"]}
    defined |= set(load(kind)["env"].get("variables", {}))
    defined |= ACTION_VARIABLES
    defined |= {name for name in used if name.startswith("CODEBUILD_")}  # CodeBuild's own
    defined |= set(re.findall(r"read -r ([A-Z_ ]+) <", code)[0].split()) if "read -r" in code else set()
    assert used - defined == set(), f"{kind}: undefined variables"


def test_build_scans_for_high_and_critical_findings():
    scan = block("build", "build", "security scan")
    assert "--severity HIGH,CRITICAL" in scan and "--exit-code 1" in scan
    assert "--scanners vuln,misconfig" in scan  # dependencies and infrastructure code
    assert "npm audit --audit-level=high" in scan


# --- the gates, run for real ----------------------------------------------
def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def sandbox(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    # Every aws call is logged, one per line.
    fake(bin_dir, "aws", f'echo "$*" >> {tmp_path}/aws.log\n')

    def run(command: str, **env) -> subprocess.CompletedProcess:
        environ = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env}
        return subprocess.run(
            ["bash", "-c", command], cwd=work, env=environ, capture_output=True, text=True, timeout=60
        )

    run.bin, run.work, run.aws_log = bin_dir, work, tmp_path / "aws.log"
    return run


@pytest.mark.parametrize("coverage, passes", [(79.9, False), (80.0, True), (93.5, True)])
def test_coverage_gate(sandbox, coverage, passes):
    (sandbox.work / "coverage").mkdir()
    (sandbox.work / "coverage/coverage-summary.json").write_text(json.dumps({"total": {"lines": {"pct": coverage}}}))
    result = sandbox(
        block("build", "build", "== coverage"),
        COVERAGE_THRESHOLD="80",
        ENVIRONMENT="staging",
        METRICS_NAMESPACE=METRICS_NAMESPACE,
        COVERAGE_METRIC=metrics.TEST_COVERAGE.name,
    )
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    assert f"Coverage: {coverage}% of lines (threshold 80%)" in result.stdout
    assert ("FAILED: coverage" in result.stdout) is not passes
    # The metric is published before the gate decides, pass or fail.
    assert sandbox.aws_log.read_text().split() == [
        "cloudwatch",
        "put-metric-data",
        "--namespace",
        METRICS_NAMESPACE,
        "--metric-name",
        metrics.TEST_COVERAGE.name,
        "--dimensions",
        "Environment=staging",
        "--value",
        str(coverage),
        "--unit",
        "Percent",
    ]


@pytest.fixture
def health(sandbox):
    """The health-check block with a clock that advances 10 s per reading."""
    fake(sandbox.bin, "sleep", "exit 0\n")
    clock = sandbox.work / "clock"
    clock.write_text("1000")
    fake(sandbox.bin, "date", f't=$(cat {clock}); echo "$t"; echo $((t + 10)) > {clock}\n')
    probes = sandbox.work / "probes"

    def run(outcomes: str):
        # One character per probe: 0 healthy, 1 failing.
        probes.write_text(outcomes)
        fake(sandbox.bin, "curl", f'o=$(cat {probes}); echo "${{o:1}}" > {probes}; exit "${{o:0:1}}"\n')
        return sandbox(
            block("deploy-staging", "build", "== health check"),
            HEALTH_CHECK_URL="https://staging.kiro.example.com/health",
            HEALTH_CHECK_DURATION="1",
            TARGET_ENVIRONMENT="staging",
        )

    return run


def test_health_check_passes_when_every_probe_is_healthy(health):
    result = health("000000")
    assert result.returncode == 0, result.stdout
    assert "staging healthy for 1 minute(s)" in result.stdout


def test_health_check_tolerates_blips(health):
    result = health("110110")
    assert result.returncode == 0, result.stdout


def test_health_check_fails_on_three_failures_in_a_row(health):
    result = health("011100")
    assert result.returncode == 1
    assert "FAILED: staging is unhealthy after deploy" in result.stdout


def test_deploy_uses_the_target_role_only_inside_the_deploy(sandbox):
    fake(
        sandbox.bin,
        "aws",
        f'echo "$*" >> {sandbox.aws_log}\n'
        'if [ "$1 $2" = "sts assume-role" ]; then printf "ASIAKEY\\tsecret\\ttoken\\n"; fi\n',
    )
    command = block("deploy-staging", "build", "== deploy to") + '\necho "after=${AWS_ACCESS_KEY_ID:-unset}"'
    result = sandbox(
        command,
        DEPLOY_ROLE_ARN="arn:aws:iam::210987654321:role/kiro-pipeline-production-deployer",
        DEPLOY_COMMAND='echo "deploying as $AWS_ACCESS_KEY_ID"',
        ENVIRONMENT="production",
        TARGET_ENVIRONMENT="production",
    )
    assert result.returncode == 0, result.stderr
    assert "deploying as ASIAKEY" in result.stdout
    assert "after=unset" in result.stdout, "assumed credentials must not outlive the deploy"
    (call,) = sandbox.aws_log.read_text().splitlines()
    assert call.startswith(
        "sts assume-role --role-arn arn:aws:iam::210987654321:role/kiro-pipeline-production-deployer "
        "--role-session-name kiro-pipeline-production-deploy-production"
    )


def test_deploy_fails_when_the_role_cannot_be_assumed(sandbox):
    fake(sandbox.bin, "aws", "echo 'AccessDenied' >&2; exit 254\n")
    result = sandbox(
        block("deploy-staging", "build", "== deploy to"),
        DEPLOY_ROLE_ARN="arn:aws:iam::210987654321:role/x",
        DEPLOY_COMMAND="echo SHOULD-NOT-RUN",
        ENVIRONMENT="test",
        TARGET_ENVIRONMENT="test",
    )
    assert result.returncode != 0
    assert "SHOULD-NOT-RUN" not in result.stdout


# --- the result a recording project writes, with the real AWS CLI on moto -------
RESULT_BLOCK = "Best effort: the deployment record may not exist yet"


@pytest.mark.parametrize("kind", ["build", "integration-test", "e2e-test"])
def test_a_projects_result_lands_on_its_record_under_the_contracts_names(stacks, tmp_path, kind):
    """The post_build block, with the variables the stack gives the project
    (the record's key and the result's attribute come from the contract:
    the buildspec names neither), run in bash by the real AWS CLI against a
    moto server: the execution's record gets the result; a record that does
    not exist is left alone and the build does not fail."""
    from tests.support import aws_cli
    from tests.support.tables import create_contract_table
    from tools.rehearse import MotoServer

    project = stacks["pipeline-test"].resource("aws_codebuild_project", kind.replace("-", "_"))
    given = {v["name"]: v["value"] for v in project["environment"]["environment_variable"]}
    assert (given["RECORD_ID_ATTRIBUTE"], given["RESULT_ATTRIBUTE"]) == (
        records.KEY,
        {"build": records.UNIT_TESTS, "integration-test": records.INTEGRATION_TESTS}.get(kind, records.E2E_TESTS),
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    with MotoServer() as server:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_contract_table(client, "deployments")
        (tmp_path / "canned.json").write_text("{}")
        client.put_item(TableName="deployments", Item={records.KEY: {"S": "exec-1"}})
        # Nothing canned: every call reaches moto.
        env = {
            **aws_cli.environment(server.url, tmp_path, bin_dir, tmp_path / "canned.json", tmp_path / "calls"),
            "DEPLOYMENTS_TABLE": "deployments",
            "RECORD_ID_ATTRIBUTE": given["RECORD_ID_ATTRIBUTE"],
            "RESULT_ATTRIBUTE": given["RESULT_ATTRIBUTE"],
            "CODEBUILD_BUILD_SUCCEEDING": "1",
        }
        command = block(kind, "post_build", RESULT_BLOCK)
        for execution in ("exec-1", "exec-missing"):
            done = subprocess.run(
                ["bash", "-c", command],
                env={**env, "PIPELINE_EXECUTION_ID": execution},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            if execution == "exec-1":
                assert "not updated" not in done.stdout, done.stdout + done.stderr
        item = client.get_item(TableName="deployments", Key={records.KEY: {"S": "exec-1"}})["Item"]
        assert item[given["RESULT_ATTRIBUTE"]] == {"S": "PASSED"}
        assert "deployment record exec-missing not updated" in done.stdout
        missing = client.get_item(TableName="deployments", Key={records.KEY: {"S": "exec-missing"}})
        assert "Item" not in missing
