"""The pipeline's delivery invariants, stated once, on a plain definition of
an `aws_codepipeline` (the synthesized JSON's shape, or checkov's once its
one-element lists are unwrapped). Pure: no checkov, no boto3.

Each invariant returns the problems it finds, as sentences; none means it
holds. They read the stage and rule names from topology/naming.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from topology import naming

PRODUCTION_PIPELINE = re.compile(r".*-production$")


@dataclass(frozen=True)
class Invariant:
    id: str
    name: str
    check: Callable[[dict[str, Any]], list[str]]


def blocks(value: Any) -> list[dict]:
    """A nested block as a list: the synthesized JSON writes a single block
    as an object, checkov as a one-element list."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def stages(pipeline: dict) -> dict[str, dict]:
    return {s.get("name"): s for s in blocks(pipeline.get("stage"))}


def rules(stage: dict, when: str) -> list[dict]:
    return [
        rule
        for block in blocks(stage.get(when))
        for condition in blocks(block.get("condition"))
        for rule in blocks(condition.get("rule"))
    ]


def results(stage: dict, when: str) -> list[str]:
    """The results of the stage's `when` block and of its conditions."""
    found = []
    for block in blocks(stage.get(when)):
        found.append(block.get("result"))
        found += [c.get("result") for c in blocks(block.get("condition"))]
    return [r for r in found if r]


def provider(rule: dict) -> str | None:
    return next((t.get("provider") for t in blocks(rule.get("rule_type_id"))), None)


def _is_production(pipeline: dict) -> bool:
    return bool(PRODUCTION_PIPELINE.fullmatch(str(pipeline.get("name", ""))))


def production_behind_approval(pipeline: dict) -> list[str]:
    if not _is_production(pipeline):
        return []
    stage = stages(pipeline).get(naming.DEPLOY_STAGES["production"], {})
    actions = blocks(stage.get("action"))
    approvals = [a.get("run_order", 1) for a in actions if a.get("category") == "Approval"]
    others = [a.get("run_order", 1) for a in actions if a.get("category") != "Approval"]
    if not approvals:
        return ["production is deployed without a manual approval before it"]
    if others and min(approvals) >= min(others):
        return ["production's manual approval does not run before its deploy"]
    return []


def deploy_stages_roll_back(pipeline: dict) -> list[str]:
    problems = []
    for name in naming.DEPLOY_STAGES.values():
        stage = stages(pipeline).get(name, {})
        rolls_back = "ROLLBACK" in results(stage, "on_failure")
        holds_approval = any(a.get("category") == "Approval" for a in blocks(stage.get("action")))
        # The stated exception: a stage that holds the approval has no
        # on-failure rollback (a rejection would roll back a release that
        # never deployed), and its bake rolls back instead.
        bake_rolls_back = "ROLLBACK" in results(stage, "on_success")
        if not rolls_back and not (holds_approval and bake_rolls_back):
            problems.append(f"{name} does not roll back on failure")
    return problems


def bakes_watch_health(pipeline: dict) -> list[str]:
    problems = []
    for target in naming.BAKE_TARGETS:
        name = naming.DEPLOY_STAGES[target]
        if not any(provider(r) == "CloudWatchAlarm" for r in rules(stages(pipeline).get(name, {}), "on_success")):
            problems.append(f"{name} has no bake alarm")
    return problems


def production_change_window(pipeline: dict) -> list[str]:
    if not _is_production(pipeline):
        return []
    stage = stages(pipeline).get(naming.DEPLOY_STAGES["production"], {})
    if not any(provider(r) == "DeploymentWindow" for r in rules(stage, "before_entry")):
        return ["production has no change window"]
    return []


def incident_gates(pipeline: dict) -> list[str]:
    return [
        f"{name} may be entered during an incident"
        for name in naming.DEPLOY_STAGES.values()
        if not any(
            r.get("name") == naming.INCIDENT_GATE_RULE and provider(r) == "CloudWatchAlarm"
            for r in rules(stages(pipeline).get(name, {}), "before_entry")
        )
    ]


def queued_execution(pipeline: dict) -> list[str]:
    mode = pipeline.get("execution_mode")
    return [] if mode == "QUEUED" else [f"execution mode is {mode}, not QUEUED (stage rollback needs it)"]


def artifacts_encrypted(pipeline: dict) -> list[str]:
    problems = []
    for store in blocks(pipeline.get("artifact_store")) or [{}]:
        key = next(iter(blocks(store.get("encryption_key"))), {})
        if key.get("type") != "KMS" or not key.get("id"):
            problems.append("the artifact store is not encrypted with the project's KMS key")
    return problems


INVARIANTS = (
    Invariant("CKV_KIRO_1", "Production is reachable only through a manual approval", production_behind_approval),
    Invariant(
        "CKV_KIRO_2", "Every deploy stage rolls back on failure (or holds the approval)", deploy_stages_roll_back
    ),
    Invariant("CKV_KIRO_3", "Staging and production bake on their health alarms", bakes_watch_health),
    Invariant("CKV_KIRO_4", "Production deploys only in its change window", production_change_window),
    Invariant("CKV_KIRO_5", "No deploy stage is entered during an incident", incident_gates),
    Invariant("CKV_KIRO_6", "Executions are QUEUED (stage rollback needs it)", queued_execution),
    Invariant("CKV_KIRO_7", "The artifact store is encrypted with the project's key", artifacts_encrypted),
)


def unwrap(value: Any) -> Any:
    """checkov's parsed form (every value in a one-element list, line
    markers) as the synthesized JSON's plain form."""
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        if len(value) == 1 and not isinstance(value[0], dict):
            return unwrap(value[0])
        return [unwrap(v) for v in value]
    return value
