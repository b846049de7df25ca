"""functions/shared/stages.py copies topology/naming.py's stage facts (the
Lambda zips carry only shared/): they must agree, or the ledger would
classify by stages the pipeline no longer has."""

from __future__ import annotations

from functions.shared import stages
from topology import naming


def test_the_functions_copy_of_the_stages_agrees_with_the_topology():
    assert stages.SOURCE_STAGE == naming.SOURCE_STAGE and stages.BUILD_STAGE == naming.BUILD_STAGE
    assert stages.DEPLOY_STAGES == naming.DEPLOY_STAGES
    assert stages.APPROVAL_STAGE == naming.APPROVAL_STAGE and stages.APPROVAL_ACTION == naming.APPROVAL_ACTION
    assert stages.INCIDENT_GATE_STAGES == naming.INCIDENT_GATE_STAGES
    assert stages.WINDOW_STAGE == naming.WINDOW_STAGE
    assert stages.BAKE_TARGETS == naming.BAKE_TARGETS
    assert set(stages.GATE_STAGES) == set(naming.GATE_STAGES)
    from topology import projects

    assert stages.DEPLOY_ACTIONS == {
        row.stage: row.action for row in projects.all_projects() if row.kind == projects.Kind.DEPLOY
    }
    every = naming.pipeline_stages(approval=True, window=True)
    assert stages.PRODUCTION_DEPLOY_STAGE == every[-1]  # production is deployed last
