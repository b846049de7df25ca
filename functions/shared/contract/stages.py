"""The pipeline's stage and action names: the pipeline stack builds them
(topology/naming.py re-exports them), the functions classify records by
them, the runbook and `ops` pass them to CodePipeline. One home, here,
because the Lambda zips carry functions/ and nothing of topology/.

No imports at all (functions/shared/stages.py re-exports every name with
`import *`): topology/ imports this module (with contract/records.py, the
only modules it imports from outside topology/, tests/test_architecture.py),
and so does review/ on the CI runner's bare python3.
"""

# Each deploy target has a deploy stage (rolled back on failure; where the
# target bakes, it bakes) and, immediately before it, gate stages whose only
# job is their entry condition. A gate lives on a stage of its own because a
# stage that is rolled back must carry no gate its own rollback could trip:
# whether a rollback execution evaluates the rolled-back stage's entry
# condition is undocumented (docs/codepipeline-semantics.md).
SOURCE_STAGE = "Source"
BUILD_STAGE = "Build"
DEPLOY_STAGES = {"test": "TestEnv", "staging": "StagingEnv", "production": "ProductionDeploy"}
# The stage that holds production's manual approval, and nothing else: a
# rejection or a time-out fails it, and it never rolls back. The runbook
# approves with --stage-name ProductionEnv --action-name ApproveProduction.
APPROVAL_STAGE = "ProductionEnv"
APPROVAL_ACTION = "ApproveProduction"
SOURCE_ACTION = "GitHub"
# Each target's incident gate: a stage entered only while the target's health
# alarm is not in ALARM, the last stage before the deploy stage.
INCIDENT_GATE_STAGES = {"test": "TestGate", "staging": "StagingGate", "production": "ProductionGate"}
# Production's change window: a stage of its own after the approval, before
# the incident gate (two conditions: one override never waives the other).
WINDOW_STAGE = "ProductionWindow"
WINDOW_TARGET = "production"
# Production's freeze point (freeze_gate): the inbound transition of the
# first gate stage after the approval -- the window's stage, else the
# incident gate -- so that a release held by a freeze meets the window and
# the incident gate after the freeze, never with answers from before it.
FREEZE_TARGET = "production"


def freeze_stage(*, window: bool) -> str:
    """The stage whose inbound transition a freeze disables."""
    return WINDOW_STAGE if window else INCIDENT_GATE_STAGES[FREEZE_TARGET]


# The action of a gate stage (a stage needs one): it only says the gate passed.
GATE_ACTION = "Checkpoint"
GATE_STAGES = (WINDOW_STAGE, *INCIDENT_GATE_STAGES.values())
PRODUCTION_DEPLOY_STAGE = DEPLOY_STAGES["production"]
# The action of each deploy stage that changes what its target runs
# (topology/projects.py's deploy rows run them; the rollback reads them).
DEPLOY_ACTIONS = {"TestEnv": "DeployTest", "StagingEnv": "DeployStaging", "ProductionDeploy": "DeployProduction"}

# Deploy targets whose stage bakes after deploying: it watches its health
# alarm for the health-check duration and rolls back if it fires.
BAKE_TARGETS = ("staging", "production")
