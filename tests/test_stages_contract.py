"""The stage and action names have one home, functions/shared/contract/stages.py,
which topology/naming.py and functions/shared/stages.py re-export (the
Lambda zips carry functions/ only). What is still derived on the functions'
side must agree with the topology, or the ledger would classify by stages the
pipeline no longer has."""

from __future__ import annotations

from functions.shared.contract import stages as names
from topology import naming, projects


def test_each_deploy_action_the_rollback_looks_for_deploys_in_its_stage_of_the_synthesized_pipeline(stacks):
    """The rollback function finds what a stage deployed by the action
    DEPLOY_ACTIONS names (rollback/logic.py): in the pipeline the stack
    makes, that action is in that stage and runs a deploy project."""
    pipeline = stacks["pipeline-production"].resource("aws_codepipeline", "pipeline")
    deploy_projects = {
        f"${{aws_codebuild_project.{row.name.replace('-', '_')}.name}}"
        for row in projects.all_projects()
        if row.kind == projects.Kind.DEPLOY
    }
    for stage_name, action_name in names.DEPLOY_ACTIONS.items():
        (stage,) = [s for s in pipeline["stage"] if s["name"] == stage_name]
        (action,) = [a for a in stage["action"] if a["name"] == action_name]
        assert action["configuration"]["ProjectName"] in deploy_projects, stage_name
    assert set(names.DEPLOY_ACTIONS) == set(names.DEPLOY_STAGES.values())


def test_production_is_deployed_by_the_pipelines_last_stage():
    every = naming.pipeline_stages(approval=True, window=True)
    assert names.PRODUCTION_DEPLOY_STAGE == every[-1]


def test_every_stage_name_the_functions_use_is_a_stage_of_the_pipeline():
    every = set(naming.pipeline_stages(approval=True, window=True))
    used = {names.SOURCE_STAGE, names.BUILD_STAGE, names.APPROVAL_STAGE, *names.GATE_STAGES}
    assert used | set(names.DEPLOY_STAGES.values()) <= every
