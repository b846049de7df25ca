"""The pipeline's stages as the functions and the ledger see them: which
stage deploys a target, which holds the approval, which are gates, and how
an execution that ended is classified.

The names come from contract/stages.py (their one home, which
topology/naming.py re-exports); the rules about them are here. Pure:
standard library only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import records

# The stage and action names, re-exported for the functions; their one home
# is contract/stages.py (topology/naming.py re-exports them too).
from .contract import stages as names
from .contract.stages import *  # noqa: F403

# Records carry `recordLayout`. Layout 1 (records written before v0.19.0, no
# attribute): ProductionEnv held the approval *and* the production deploy,
# so passing it meant deploying. Layout 2: the deploy has its own stage.
LAYOUT = 2
LAYOUT_ATTRIBUTE = records.RECORD_LAYOUT
LEGACY_PRODUCTION_DEPLOY_STAGE = "ProductionEnv"

# A manual approval action times out after 7 days ("If the approval action is
# not approved or rejected within seven days of the notification, the action
# fails", CodePipeline user guide, "Add a manual approval action to a stage").
APPROVAL_TIMEOUT = timedelta(days=7)

# How an execution ended (`outcome` on its record). Only DEPLOY_FAILED in the
# production deploy stage (and a deployment rolled back afterwards) is a
# change failure; the others are counted on their own.
DEPLOYED = "DEPLOYED"
DEPLOY_FAILED = "DEPLOY_FAILED"
BUILD_FAILED = "BUILD_FAILED"
REJECTED = "REJECTED"
APPROVAL_TIMED_OUT = "APPROVAL_TIMED_OUT"
BLOCKED_BY_GATE = "BLOCKED_BY_GATE"
STOPPED = "STOPPED"
SUPERSEDED = "SUPERSEDED"
CANCELED = "CANCELED"  # "The pipeline's definition was updated before the execution could be completed."
OUTCOMES = (
    DEPLOYED,
    DEPLOY_FAILED,
    BUILD_FAILED,
    REJECTED,
    APPROVAL_TIMED_OUT,
    BLOCKED_BY_GATE,
    STOPPED,
    SUPERSEDED,
    CANCELED,
)


def production_deploy_stage(record: dict[str, Any]) -> str:
    """The stage whose success put a release on production, for this record's layout."""
    layout = record.get(LAYOUT_ATTRIBUTE) or 1
    return names.PRODUCTION_DEPLOY_STAGE if int(layout) >= LAYOUT else LEGACY_PRODUCTION_DEPLOY_STAGE


def deployed_production(record: dict[str, Any]) -> bool:
    return production_deploy_stage(record) in (record.get(records.SUCCEEDED_STAGES) or ())


def _waited(record: dict[str, Any]) -> timedelta | None:
    try:
        start = datetime.strptime(record[records.APPROVAL_REQUESTED_AT], "%Y-%m-%dT%H:%M:%SZ")
        end = datetime.strptime(record[records.APPROVAL_DECIDED_AT], "%Y-%m-%dT%H:%M:%SZ")
    except (KeyError, TypeError, ValueError):
        return None
    return end - start


def failed_stage(record: dict[str, Any]) -> str | None:
    """The stage an execution failed in: its failed action's (read from
    ListActionExecutions once the execution was final), else the stage of
    its last stage event when that was a failure."""
    failed = record.get(records.FAILED_ACTION)
    if isinstance(failed, str) and "/" in failed:
        return failed.split("/", 1)[0]
    return record.get(records.STAGE) if record.get(records.STAGE_STATUS) == "FAILED" else None


def classify(record: dict[str, Any], *, actions_read: bool = False) -> str | None:
    """How a final execution record ended, or None while it runs.

    `actions_read`: the execution's actions were read after it ended, so a
    FAILED execution without a failed action failed before any action of
    its stage ran: at a gate's entry condition (only gate stages have one).
    Without them, an unknown failure counts as a failed deploy: it pages
    rather than hide (the event order must not decide a quieter outcome).
    """
    status = record.get(records.STATUS)
    simple = {"SUCCEEDED": DEPLOYED, "STOPPED": STOPPED, "SUPERSEDED": SUPERSEDED, "CANCELED": CANCELED}
    if status in simple:
        return simple[status]
    if status != "FAILED":
        return None
    stage = failed_stage(record)
    if stage is None:
        return BLOCKED_BY_GATE if actions_read and not record.get(records.FAILED_ACTION) else DEPLOY_FAILED
    if stage in names.GATE_STAGES:
        return BLOCKED_BY_GATE
    legacy_approval = record.get(records.FAILED_ACTION) == f"{LEGACY_PRODUCTION_DEPLOY_STAGE}/{names.APPROVAL_ACTION}"
    if (stage == names.APPROVAL_STAGE and int(record.get(LAYOUT_ATTRIBUTE) or 1) >= LAYOUT) or legacy_approval:
        return _approval_end(record)
    if stage in (names.SOURCE_STAGE, names.BUILD_STAGE):
        return BUILD_FAILED
    return DEPLOY_FAILED


def _approval_end(record: dict[str, Any]) -> str:
    """A failed approval: rejected by a person, or timed out.

    Assumed (AWS does not document how a time-out reads in
    ListActionExecutions, nor who it names): an approval that ended after
    waiting its full seven days (an hour's margin) timed out; any sooner end
    is a rejection. A person rejecting in the last hour is counted a time-out.
    """
    waited = _waited(record)
    if waited is not None and waited >= APPROVAL_TIMEOUT - timedelta(hours=1):
        return APPROVAL_TIMED_OUT
    return REJECTED


def is_change_failure(record: dict[str, Any]) -> bool:
    """A STANDARD execution that failed while deploying production (its
    deploy, its tests or its bake). Failures elsewhere deployed nothing to
    production; rejections, time-outs and gates deployed nothing at all."""
    outcome = record.get(records.OUTCOME) or classify(record)
    return outcome == DEPLOY_FAILED and failed_stage(record) == production_deploy_stage(record)
