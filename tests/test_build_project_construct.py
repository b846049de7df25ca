"""The build project unit (modules/build_project.py) synthesized alone in a
scratch stack from topology rows: each project owns its log group, report
groups and role, with least-privilege statements that follow its row, and
every part keeps its stack-level address (no state moves)."""

from __future__ import annotations

import json

import pytest

from environments import load
from topology import projects

pytestmark = pytest.mark.constructs

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


@pytest.fixture(scope="module")
def synthesized():
    from cdktf import Testing

    from modules.base_stack import BaseStack
    from modules.build_project import BuildProject
    from modules.core import CoreOutputs

    core = CoreOutputs(
        kms_key_arn=KEY,
        signing_key_arn="arn:aws:kms:us-east-1:123456789012:key/signing",
        artifacts_bucket_name="artifacts",
        artifacts_bucket_arn="arn:aws:s3:::artifacts",
        deployments_table_name="records",
        deployments_table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/records",
        pipeline_log_group_name="p",
        pipeline_log_group_arn="p-arn",
        rollback_log_group_name="r",
        rollback_log_group_arn="r-arn",
    )
    stack = BaseStack(Testing.app(), "pipeline", load("test"))
    units = {
        row.name: BuildProject(stack, row, core)
        for row in (projects.project("build"), projects.project("deploy-staging"))
    }
    assert {name: unit.project.node.id for name, unit in units.items()} == {
        "build": "build",
        "deploy-staging": "deploy_staging",
    }
    return json.loads(Testing.synth(stack))


@pytest.mark.parametrize("name", ["build", "deploy-staging"])
def test_a_project_owns_its_log_group_role_and_policy_at_stack_level_addresses(synthesized, name):
    construct = name.replace("-", "_")
    resources = synthesized["resource"]
    project = resources["aws_codebuild_project"][construct]
    assert project["service_role"] == f"${{aws_iam_role.{construct}_role.arn}}"
    assert project["encryption_key"] == KEY
    group = project["logs_config"]["cloudwatch_logs"]["group_name"]
    assert group == f"${{aws_cloudwatch_log_group.{construct}_log_group.name}}"
    assert (
        resources["aws_iam_role_policy"][f"{construct}_role_policy"]["role"] == f"${{aws_iam_role.{construct}_role.id}}"
    )
    assert not [name for body in resources.values() for name in body if "_unit_" in name]


def test_report_groups_and_permissions_follow_the_row(synthesized):
    groups = synthesized["resource"]["aws_codebuild_report_group"]
    assert sorted(groups) == sorted(f"build_{report}_report_group" for report, _ in projects.project("build").reports)
    documents = synthesized["data"]["aws_iam_policy_document"]
    build = {s["sid"] for s in documents["build_role_policy_document"]["statement"]}
    deploy = {s["sid"] for s in documents["deploy_staging_role_policy_document"]["statement"]}
    assert {"PublishOwnReports", "WriteBuildOutput", "PublishCoverageMetric"} <= build
    assert "AssumeTargetDeployRole" in deploy and "PublishOwnReports" not in deploy
    assert "AssumeTargetDeployRole" not in build


BOUNDARY = "arn:aws:iam::123456789012:policy/kiro-pipeline-boundary"


def test_with_a_permissions_boundary_the_role_carries_it():
    import dataclasses

    from cdktf import Testing

    from modules.base_stack import BaseStack
    from modules.build_project import BuildProject
    from modules.core import CoreOutputs

    core = CoreOutputs(*(["x"] * len(dataclasses.fields(CoreOutputs))))
    config = dataclasses.replace(load("test"), iam_permissions_boundary_arn=BOUNDARY)
    stack = BaseStack(Testing.app(), "pipeline", config)
    BuildProject(stack, projects.project("build"), core)
    (role,) = json.loads(Testing.synth(stack))["resource"]["aws_iam_role"].values()
    assert role["permissions_boundary"] == BOUNDARY


def test_every_role_is_made_by_service_role_and_gets_the_boundary():
    """All roles come from modules/iam.py's service_role, and every call
    passes the environment's boundary: no role escapes it."""
    from pathlib import Path

    modules = Path(__file__).resolve().parent.parent / "modules"
    total = 0
    for path in modules.glob("*.py"):
        source = path.read_text()
        if path.name != "iam.py":
            assert "IamRole(" not in source, path.name
            calls = source.count("service_role(\n")
            assert source.count("permissions_boundary=") == calls, path.name
            total += calls
    assert total == 3  # the build projects, the functions, the pipeline
