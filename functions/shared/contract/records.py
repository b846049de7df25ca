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
KIND_PREFIXES = (ROLLBACK_PREFIX, NOTIFICATION_PREFIX, OVERRIDE_PREFIX, INCIDENT_PREFIX)

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
