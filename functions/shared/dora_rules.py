"""The rules of the DORA metrics, by code: what counts a record in a figure,
or leaves it out, and the shapes of the evidence (functions/shared/dora.py
computes it; `python -m ops dora --explain` prints it; docs/delivery-controls.md
lists every rule). Pure: standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import stages

# The rules that count (or leave out) a record, by code; `ops dora --explain`
# prints each entry's code and sentence, docs/delivery-controls.md lists them.
DEPLOYED = "deployed"
LEAD_TIME = "lead-time"
NO_AUTHOR_TIME = "no-author-time"
FAILED_IN_PRODUCTION = "failed-in-production"
ROLLED_BACK = "rolled-back"
INCIDENT = "incident"
FAILED_ATTEMPT = "failed-attempt"
RECOVERED_BY_RESTORE = "recovered-by-restore"
RECOVERED_AT_INCIDENT_END = "recovered-at-incident-end"
RECOVERED_UNKNOWN = "recovered-end-unknown"
NOT_RECOVERED = "not-recovered"
RECOVERS = "recovers"
HOTFIX = "hotfix"
ROLLBACK_EXECUTION = "rollback-execution"
IN_PROGRESS = "in-progress"
RULES = {
    DEPLOYED: "a STANDARD execution that passed the production deploy stage",
    LEAD_TIME: "deployed; lead time from the head commit's author time to the deployment's end",
    NO_AUTHOR_TIME: "deployed, but its record has no commit author time: no lead time",
    FAILED_IN_PRODUCTION: "failed while deploying production (its deploy, tests or bake)",
    ROLLED_BACK: "rolled back out of production afterwards",
    INCIDENT: "the newest release to reach production before a production incident began",
    FAILED_ATTEMPT: "a failure that never deployed: an attempt",
    RECOVERED_BY_RESTORE: "recovered by the next successful deployment or rollback execution",
    RECOVERED_AT_INCIDENT_END: "recovered when its incident's alarm returned to OK",
    RECOVERED_UNKNOWN: "counted recovered when its incident's alarm went to INSUFFICIENT_DATA (end unknown)",
    NOT_RECOVERED: "not recovered yet",
    RECOVERS: "a deployment or rollback execution that recovered a failure",
    HOTFIX: "a deployment that began during a production incident",
    ROLLBACK_EXECUTION: "a rollback execution: it restores, it deploys nothing new",
    IN_PROGRESS: "still running: no outcome yet",
    stages.DEPLOY_FAILED: "failed before production: deployed nothing there",
    stages.BUILD_FAILED: "failed in Source or Build: deployed nothing",
    stages.REJECTED: "rejected at the approval: deployed nothing",
    stages.APPROVAL_TIMED_OUT: "the approval timed out: deployed nothing",
    stages.BLOCKED_BY_GATE: "held by a gate (change window or incident): deployed nothing",
    stages.STOPPED: "stopped: deployed nothing",
    stages.SUPERSEDED: "superseded by a newer execution: deployed nothing",
    stages.CANCELED: "canceled by a pipeline update: deployed nothing",
}


@dataclass(frozen=True)
class Entry:
    """One record behind a figure: its id, its time, the rule (a RULES code)."""

    id: str
    at: datetime
    rule: str
    seconds: float | None = None  # its value, for the timed metrics
    cause: str = ""  # the record that made it so: a failure's causes, a recovery's restore


@dataclass(frozen=True)
class Evidence:
    counted: tuple[Entry, ...]
    basis: tuple[Entry, ...] = ()  # a ratio's denominator
    left_out: tuple[Entry, ...] = ()  # considered, not counted
