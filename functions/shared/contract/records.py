"""The deployment record's contract: every attribute, the kinds of record
that share the table, and the statuses a record can hold.

docs/deployment-records.md is the table of what each attribute means. Some
attribute names are also field names of AWS answers and events
(`pipelineExecutionId` in CodePipeline's ListPipelineExecutions, `alarmName`
in a CloudWatch alarm's state-change event): AWS_FIELD_TWINS lists them, and
tests/test_architecture.py's literal scan cannot tell the two uses apart by
their text alone.
"""

from __future__ import annotations

# --- key, index and expiry ---------------------------------------------------
# The table's partition key, and the index the runbook's queries use
# (EnvironmentStatusIndex: environment, then startTime).
KEY = "deploymentId"
ENVIRONMENT = "environment"
START_TIME = "startTime"
INDEX_PARTITION = ENVIRONMENT
INDEX_SORT = START_TIME
# The TTL attribute: epoch seconds (a Number: DynamoDB TTL reads only Numbers).
EXPIRES = "expiresAt"
# Every time on a record: ISO 8601 UTC to the second, which sorts in time order.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# --- a deployment (one pipeline execution) ----------------------------------
STATUS = "status"
END_TIME = "endTime"
COMMIT_ID = "commitId"
# The head commit's author time (CodeConnections' AuthorDate): lead time starts there.
COMMIT_AUTHOR_TIME = "commitAuthorTime"
APPROVAL_REQUESTED_AT = "approvalRequestedAt"
APPROVAL_DECIDED_AT = "approvalDecidedAt"
APPROVED_BY = "approvedBy"
APPROVAL_RESULT = "approvalResult"
FAILED_ACTION = "failedAction"
ACTIONS_READ_FOR = "actionsReadFor"
STAGE_STARTS = "stageStarts"
STAGE_ENDS = "stageEnds"
PIPELINE_EXECUTION_ID = "pipelineExecutionId"
PIPELINE_NAME = "pipelineName"
TRIGGER_TYPE = "triggerType"
EXECUTION_TYPE = "executionType"
SUCCEEDED_STAGES = "succeededStages"
STAGE = "stage"
STAGE_STATUS = "stageStatus"
STAGE_UPDATED_AT = "stageUpdatedAt"
# The pipeline structure version an execution ran in (a Number).
PIPELINE_VERSION = "pipelineVersion"
# Which stages the record's stage names mean (a Number; shared/stages.py LAYOUT).
RECORD_LAYOUT = "recordLayout"
# How an execution ended (shared/stages.py's OUTCOMES).
OUTCOME = "outcome"
# Bookkeeping: order under out-of-order events, and outcome metrics at most once.
STATUS_RANK = "statusRank"
STARTED_AT = "startedAt"
UPDATED_AT = "updatedAt"
METRICS_FOR = "metricsFor"
METRICS_TOKEN = "metricsToken"  # noqa: S105 - an attribute name, not a secret
METRICS_SENDING = "metricsSending"
METRICS_SENDING_BY = "metricsSendingBy"
METRICS_PUBLISHED = "metricsPublished"
# Test results, written by the build and test projects (buildspecs/*.yml).
UNIT_TESTS = "unitTests"
INTEGRATION_TESTS = "integrationTests"
E2E_TESTS = "e2eTests"

# --- a rollback --------------------------------------------------------------
ALARM_NAME = "alarmName"
TARGET_EXECUTION_ID = "targetExecutionId"
ROLLED_BACK_EXECUTION_ID = "rolledBackExecutionId"
ROLLBACK_EXECUTION_ID = "rollbackExecutionId"
FAILURE_REASON = "failureReason"
MANUAL_COMMAND = "manualCommand"
SKIP_REASON = "skipReason"
# The commit a manual fallback would release again (no execution to roll back to).
FALLBACK_COMMIT = "fallbackCommit"
INITIATED_BY = "initiatedBy"

# --- an override (python -m ops override) -------------------------------------
CONDITION_TYPE = "conditionType"
REASON = "reason"
OVERRIDDEN_BY = "overriddenBy"
RULES = "rules"
AUDIT_TOKEN = "auditToken"  # noqa: S105 - an attribute name, not a secret

# --- an incident (a health alarm's ALARM -> OK window) -----------------------
TARGET = "target"
END_REASON = "endReason"

# --- the artifact a deployment carried (issue 24 item 3 fills it) --------------
# SHA-256 over the artifact's canonical manifest; `ops changes` shows it, or
# "not recorded" on records written before it existed.
ARTIFACT_DIGEST = "artifactDigest"

# --- a build's provenance (`build#{executionId}`: buildspecs/build.yml puts it
# once, never overwriting; the deploy projects and `ops provenance` read it) ---
# Its digest is ARTIFACT_DIGEST; with it the signature over that digest (KMS
# Sign, MessageType DIGEST, base64), the key and algorithm that made it, where
# the manifest and the CycloneDX SBOM lie in the artifacts bucket and the
# SBOM's SHA-256, the CodeBuild build ID and when the build recorded it; and
# COMMIT_ID, PIPELINE_EXECUTION_ID.
ARTIFACT_SIGNATURE = "artifactSignature"
SIGNING_KEY = "signingKeyArn"
SIGNING_ALGORITHM = "signingAlgorithm"
MANIFEST_LOCATION = "manifestLocation"
SBOM_LOCATION = "sbomLocation"
SBOM_DIGEST = "sbomSha256"
BUILD_ID = "buildId"
BUILT_AT = "builtAt"

# --- an ops run that changed something (ops/ledger_runs.py) ---------------------
# The command (`deployer-roles`, `ci-roles`, `freeze add`...), what it changed
# (a list of lines), who ran it (STS caller ARN); `reason` when one was given.
COMMAND = "opsCommand"
CHANGED = "whatChanged"
RAN_BY = "ranBy"

# --- a freeze: the gate's move (HELD / RELEASED), the end of the freeze it
# enforces, the stage whose inbound transition it moved; a lift's author is
# OVERRIDDEN_BY and its why REASON, as an override's.
FREEZE_UNTIL = "freezeUntil"
FROZEN_STAGE = "frozenStage"

# --- an infrastructure apply (the apply workflow's record-apply step) -----------
# The merged pull request, the stacks applied with their reviewed plan
# fingerprints (review/plan_binding.py), who merged, and the workflow run.
PULL_REQUEST = "pullRequest"
STACKS = "appliedStacks"
PLAN_FINGERPRINTS = "planFingerprints"
MERGED_BY = "mergedBy"
RUN_URL = "runUrl"
# The delivery-control changes the applied plans made, in words
# (review/policies/controls.py, as the plan review comment says them):
# "stack: text", weakened ones marked; empty when none changed.
CONTROL_CHANGES = "controlChanges"
# An apply that stopped (a stack's apply failed partway, or a later stack's
# plan failed or was refused): where and why, in words. Absent when every
# stack was applied as reviewed.
APPLY_STOPPED = "applyStopped"
# Every attribute an apply record holds: tools/apply_record.py writes exactly
# these (APPLY_STOPPED only for an apply that stopped), and the apply role may
# put no other (ops/ci_access.py, dynamodb:Attributes).
APPLY_ATTRIBUTES = (
    KEY,
    ENVIRONMENT,
    START_TIME,
    PULL_REQUEST,
    STACKS,
    PLAN_FINGERPRINTS,
    MERGED_BY,
    COMMIT_ID,
    RUN_URL,
    CONTROL_CHANGES,
    APPLY_STOPPED,
)

# Every attribute name, for the tests that hold code and docs to it.
ATTRIBUTES = frozenset(
    value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and name != "TIME_FORMAT"
)
# Attribute names that are also field names of AWS answers or events, or plain
# words of the functions' own answers and ops' JSON output.
AWS_FIELD_TWINS = frozenset(
    {
        # OverrideStageCondition's request field, which the override record keeps.
        CONDITION_TYPE,
        ENVIRONMENT,
        START_TIME,
        STATUS,
        END_TIME,
        PIPELINE_EXECUTION_ID,
        PIPELINE_NAME,
        TRIGGER_TYPE,
        EXECUTION_TYPE,
        STAGE,
        PIPELINE_VERSION,
        OUTCOME,
        ALARM_NAME,
        REASON,
        RULES,
        TARGET,
    }
)

# --- kinds: records that are not deployments share the table under a prefix ---
ROLLBACK_PREFIX = "rollback#"
NOTIFICATION_PREFIX = "notification#"
# A break-glass override of a stage condition (python -m ops override).
OVERRIDE_PREFIX = "override#"
# A health alarm's ALARM -> OK window (incident_recorder/handler.py).
INCIDENT_PREFIX = "incident#"
# An ops reconciler's run that changed something (ops/ledger_runs.py).
RUN_PREFIX = "run#"
# A Terraform apply of the apply workflow (tools/record-apply.sh). The apply
# role may write only records under this prefix (ops/ci_access.py).
APPLY_PREFIX = "apply#"
# A build's provenance record (buildspecs/build.yml), one per execution.
BUILD_PREFIX = "build#"
# The freeze gate holding or releasing production (freeze_gate/handler.py),
# one per change of the transition.
FREEZE_PREFIX = "freeze#"
# A freeze lifted by hand (python -m ops freeze lift), keyed by the end of the
# freeze it lifts: the gate finds it by that end. A hold the gate left when
# respect_freezes was turned off is ended under `freeze-lift#left-behind#<when>`.
FREEZE_LIFT_PREFIX = "freeze-lift#"
KIND_PREFIXES = (
    ROLLBACK_PREFIX,
    NOTIFICATION_PREFIX,
    OVERRIDE_PREFIX,
    INCIDENT_PREFIX,
    RUN_PREFIX,
    APPLY_PREFIX,
    BUILD_PREFIX,
    FREEZE_PREFIX,
    FREEZE_LIFT_PREFIX,
)

# --- statuses ------------------------------------------------------------------
# A deployment's (CodePipeline's execution statuses, as the recorder writes them).
EXECUTION_STATUSES = ("IN_PROGRESS", "STOPPING", "SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED")
# A rollback record's.
ROLLBACK_STARTED = "ROLLBACK_STARTED"
ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
ROLLBACK_FAILED = "ROLLBACK_FAILED"
SKIPPED_STAGE_IN_PROGRESS = "SKIPPED_STAGE_IN_PROGRESS"
ROLLBACK_STATUSES = (ROLLBACK_STARTED, ROLLBACK_IN_PROGRESS, ROLLBACK_FAILED, SKIPPED_STAGE_IN_PROGRESS)
# executionType: a rollback execution (trigger AutomatedRollback or ManualRollback), else standard.
STANDARD = "STANDARD"
ROLLBACK = "ROLLBACK"
# An incident record's: open while its alarm is in ALARM, then resolved.
INCIDENT_OPEN = "OPEN"
INCIDENT_RESOLVED = "RESOLVED"
INCIDENT_STATUSES = (INCIDENT_OPEN, INCIDENT_RESOLVED)
# An incident's end (endReason): recovered, or ended with the target's health unknown.
RECOVERED = "OK"
ENDED_UNKNOWN = "INSUFFICIENT_DATA"
# A test result (unitTests, integrationTests, e2eTests).
TEST_RESULTS = ("PASSED", "FAILED")

# What shared/records.py re-exports: every name above.
__all__ = sorted(name for name in dict(globals()) if name.isupper())
