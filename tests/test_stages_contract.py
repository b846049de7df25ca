"""The stage and action names have one home, functions/shared/contract/stages.py,
which topology/naming.py and functions/shared/stages.py re-export (the
Lambda zips carry functions/ only). What is still derived on the functions'
side must agree with the topology, or the ledger would classify by stages the
pipeline no longer has."""

from __future__ import annotations

from functions.shared import stages
from functions.shared.contract import stages as names
from topology import naming, projects


def test_the_deploy_actions_the_functions_know_are_the_projects_deploy_actions():
    assert stages.DEPLOY_ACTIONS == {
        row.stage: row.action for row in projects.all_projects() if row.kind == projects.Kind.DEPLOY
    }


def test_production_is_deployed_by_the_pipelines_last_stage():
    every = naming.pipeline_stages(approval=True, window=True)
    assert names.PRODUCTION_DEPLOY_STAGE == every[-1]


def test_every_stage_name_the_functions_use_is_a_stage_of_the_pipeline():
    every = set(naming.pipeline_stages(approval=True, window=True))
    used = {names.SOURCE_STAGE, names.BUILD_STAGE, names.APPROVAL_STAGE, *names.GATE_STAGES}
    assert used | set(names.DEPLOY_STAGES.values()) <= every
