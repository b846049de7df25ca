"""The topology table (topology/projects.py): consistent rows that cannot be
written with two fields swapped, a typed link from each test project to its
command, and a seventh CodeBuild project is one row (plus its buildspec),
everything else follows."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

import pytest

from environments import load
from environments.config import ApplicationCommands
from topology import naming, projects
from topology.projects import SOURCE_OUTPUT, Command, Kind, Project

BUILDSPECS = projects.BUILDSPECS


def test_every_row_is_consistent():
    rows = projects.all_projects()
    assert len({r.name for r in rows}) == len(rows)
    staged = [r for r in rows if r.kind != Kind.GATE]
    assert len({r.action for r in staged}) == len(staged)
    assert [r.name for r in rows if r.kind == Kind.GATE] == [naming.GATE_PROJECT]
    stages = set(naming.pipeline_stages(approval=True, window=True))
    for row in staged:
        assert row.stage in stages, row
        assert row.kind in (Kind.BUILD, Kind.TEST, Kind.DEPLOY), row
        assert (row.target is None) == (row.kind == Kind.BUILD), row
        assert row.target is None or naming.DEPLOY_STAGES[row.target] == row.stage, row
        assert (row.command is not None) == (row.kind == Kind.TEST), row
        assert (BUILDSPECS / row.buildspec).is_file(), row
    for stage in stages:
        orders = [r.order for r in projects.in_stage(stage)]
        assert len(orders) == len(set(orders)), stage


def test_the_naming_snapshots_agree_with_the_table():
    assert naming.CODEBUILD_PROJECTS == projects.names()
    assert naming.PROJECT_ACTIONS == {r.name: r.action for r in projects.all_projects() if r.kind != Kind.GATE}
    assert set(naming.DEPLOY_PROJECTS) == set(naming.DEPLOY_STAGES)


def test_an_unknown_project_names_the_known_ones():
    with pytest.raises(ValueError, match="expected one of build, integration-test"):
        load("test").names.codebuild_project("lint")


# The fields every row must give (the rest have defaults).
REQUIRED = dict(
    name="smoke-test",
    kind=Kind.TEST,
    stage="ProductionDeploy",
    action="SmokeTest",
    order=2,
    input_artifact=SOURCE_OUTPUT,
    buildspec="test.yml",
)


def test_a_row_cannot_be_written_positionally():
    """Nine fields, six of them strings: positionally, two could swap unseen."""
    with pytest.raises(TypeError, match="positional"):
        Project(*REQUIRED.values())


@pytest.mark.parametrize(
    "swap",
    [
        {"name": Kind.TEST, "kind": "smoke-test"},  # name and kind swapped
        {"kind": "test"},  # the kind's value, but not the kind
    ],
)
def test_a_kind_that_is_not_a_kind_is_refused_where_the_row_is_written(swap):
    with pytest.raises(TypeError, match="is not a projects.Kind"):
        Project(**{**REQUIRED, **swap})


def test_a_command_that_is_not_a_command_link_is_refused():
    with pytest.raises(TypeError, match="is not a projects.Command"):
        Project(**REQUIRED, command="e2e_test")


def test_every_command_link_reads_its_own_field_of_application_commands():
    """The link's other end is environments/config.py, which topology may not
    import: every member must name a field of ApplicationCommands, and each
    test row must read the field it says (distinct values show a swap)."""
    fields = {f.name for f in dataclasses.fields(ApplicationCommands)}
    assert {c.value for c in Command} <= fields
    commands = ApplicationCommands(**{f: f"run {f}" for f in fields})
    linked = {r.name: r.command.of(commands) for r in projects.all_projects() if r.command}
    assert linked == {"integration-test": "run integration_test", "e2e-test": "run e2e_test"}


SMOKE = Project(
    **REQUIRED,
    target="production",
    reports=(("tests", "TEST"),),
    records_execution=True,
    command=Command.E2E_TEST,
    result_attribute="smokeTests",
)


@pytest.mark.stacks
def test_a_seventh_project_is_one_row(tmp_path, monkeypatch, function_zips):
    """Add a row to a scratch copy of the table and synthesize: the project,
    its role, log group, report group, stage action and the pipeline's right
    to run it all appear, with nothing else touched."""
    from modules.app import build_app

    monkeypatch.setattr(projects, "PROJECTS", (*projects.PROJECTS, SMOKE))
    config = replace(load("test"), approval_required=True)
    # An extra synth, justified: the table itself is changed (one environment).
    build_app([config], outdir=str(tmp_path)).synth()
    stack = json.loads((tmp_path / "stacks" / "pipeline-test" / "cdk.tf.json").read_text())
    resources = stack["resource"]
    name = config.names.codebuild_project("smoke-test")

    project = resources["aws_codebuild_project"]["smoke_test"]
    assert project["name"] == name and len(resources["aws_codebuild_project"]) == 8
    assert project["description"] == "Tests against the production environment"
    variables = {v["name"]: v["value"] for v in project["environment"]["environment_variable"]}
    assert (variables["TARGET_ENVIRONMENT"], variables["RESULT_ATTRIBUTE"]) == ("production", "smokeTests")
    assert resources["aws_iam_role"]["smoke_test_role"]["name"] == config.names.role("smoke-test")
    assert resources["aws_cloudwatch_log_group"]["smoke_test_log_group"]["name"] == f"/aws/codebuild/{name}"
    assert resources["aws_codebuild_report_group"]["smoke_test_tests_report_group"]["name"] == f"{name}-tests"

    (production,) = [s for s in resources["aws_codepipeline"]["pipeline"]["stage"] if s["name"] == "ProductionDeploy"]
    # The approval has a stage of its own; the smoke test runs after the deploy.
    assert [(a["name"], a["run_order"]) for a in production["action"]] == [("DeployProduction", 1), ("SmokeTest", 2)]
    run = [
        s
        for s in stack["data"]["aws_iam_policy_document"]["pipeline_role_policy_document"]["statement"]
        if s.get("sid") == "RunOwnBuilds"
    ]
    assert any(r.endswith(f":project/{name}") for r in run[0]["resources"])


def test_stack_parts_inverts_stack_id():
    for concern in naming.STACK_CONCERNS:
        assert naming.stack_parts(naming.stack_id(concern, "staging")) == (concern, "staging")
    for bad in ("core", "network-test", "-test", "core-"):
        with pytest.raises(ValueError, match="not a stack ID"):
            naming.stack_parts(bad)


def test_every_function_condition_names_a_boolean_field_of_the_configuration():
    """topology/functions.py links a function to the configuration by a
    field's name (`only_if`), as the projects' command links do: each must be
    a boolean field of EnvironmentConfig, so the stack and preflight never
    read a missing attribute."""
    from environments.config import EnvironmentConfig
    from topology.functions import FUNCTIONS

    fields = {f.name: f for f in dataclasses.fields(EnvironmentConfig)}
    conditions = {row.only_if for row in FUNCTIONS if row.only_if}
    assert conditions, "no function is conditional any more: drop this test with the field"
    for name in conditions:
        assert name in fields, f"only_if={name!r} is not a field of EnvironmentConfig"
        assert fields[name].type in (bool, "bool"), f"only_if={name!r} is not a boolean field"
