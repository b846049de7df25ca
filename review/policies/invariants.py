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


def _order(pipeline: dict) -> list[str]:
    return [s.get("name") for s in blocks(pipeline.get("stage"))]


def _entry_providers(stage: dict) -> set[str | None]:
    return {provider(r) for r in rules(stage, "before_entry")}


def _has_approval(stage: dict) -> bool:
    return any(a.get("category") == "Approval" for a in blocks(stage.get("action")))


def production_behind_approval(pipeline: dict) -> list[str]:
    """The approval has a stage of its own, before production's deploy stage,
    and no deploy stage holds one (it would be rolled back with it)."""
    if not _is_production(pipeline):
        return []
    order, by_name = _order(pipeline), stages(pipeline)
    deploy = naming.DEPLOY_STAGES["production"]
    approvals = [name for name in order if _has_approval(by_name[name])]
    if not approvals:
        return ["production is deployed without a manual approval before it"]
    if deploy in order and min(order.index(a) for a in approvals) > order.index(deploy):
        return ["production's manual approval does not run before its deploy"]
    deploying = naming.DEPLOY_STAGES.values()
    return [f"{name} holds a manual approval and deploys" for name in approvals if name in deploying]


def deploy_stages_roll_back(pipeline: dict) -> list[str]:
    """Every deploy stage rolls back on failure; a stage holding the approval
    never rolls back (a rejection or a time-out deployed nothing)."""
    problems = []
    by_name = stages(pipeline)
    for name in naming.DEPLOY_STAGES.values():
        if name in by_name and "ROLLBACK" not in results(by_name[name], "on_failure"):
            problems.append(f"{name} does not roll back on failure")
    for name, stage in by_name.items():
        if _has_approval(stage) and "ROLLBACK" in results(stage, "on_failure") + results(stage, "on_success"):
            problems.append(f"{name} holds the approval and rolls back (a rejection would roll back)")
    return problems


def bakes_watch_health(pipeline: dict) -> list[str]:
    problems = []
    for target in naming.BAKE_TARGETS:
        name = naming.DEPLOY_STAGES[target]
        if not any(provider(r) == "CloudWatchAlarm" for r in rules(stages(pipeline).get(name, {}), "on_success")):
            problems.append(f"{name} has no bake alarm")
    return problems


def production_change_window(pipeline: dict) -> list[str]:
    """A DeploymentWindow entry condition after the approval and before the
    production deploy stage: a release approved outside it waits for it."""
    if not _is_production(pipeline):
        return []
    order, by_name = _order(pipeline), stages(pipeline)
    deploy = naming.DEPLOY_STAGES["production"]
    last = order.index(deploy) if deploy in order else len(order)
    approvals = [i for i, name in enumerate(order) if _has_approval(by_name[name])]
    first = max(approvals) + 1 if approvals else 0
    if not any("DeploymentWindow" in _entry_providers(by_name[name]) for name in order[first:last]):
        return ["production has no change window after its approval"]
    return []


def incident_gates(pipeline: dict) -> list[str]:
    """The stage right before each deploy stage is entered only while the
    target's health alarm is not in ALARM: the gate is evaluated last."""
    order, by_name = _order(pipeline), stages(pipeline)
    problems = []
    for name in naming.DEPLOY_STAGES.values():
        before = by_name.get(order[order.index(name) - 1], {}) if name in order and order.index(name) else {}
        if not any(
            r.get("name") == naming.INCIDENT_GATE_RULE and provider(r) == "CloudWatchAlarm"
            for r in rules(before, "before_entry")
        ):
            problems.append(f"{name} may be entered during an incident (no incident gate right before it)")
    return problems


def one_control_per_condition(pipeline: dict) -> list[str]:
    """No condition holds both the change window and an alarm: together,
    "after the deployment window opens, CodePipeline does not check the
    CloudWatchAlarm alarm again" (rule reference, CloudWatchAlarm), and one
    override would waive both."""
    return [
        f"{name}'s entry condition mixes a change window with an alarm"
        for name, stage in stages(pipeline).items()
        if {"DeploymentWindow", "CloudWatchAlarm"} <= _entry_providers(stage)
    ]


def rolled_back_stages_ungated(pipeline: dict) -> list[str]:
    """A stage that rolls back has no entry condition: whether a rollback
    execution evaluates it is undocumented, and a rollback must reach the
    target during an incident and outside the window."""
    return [
        f"{name} rolls back and has an entry condition its rollback could trip"
        for name, stage in stages(pipeline).items()
        if "ROLLBACK" in results(stage, "on_failure") + results(stage, "on_success") and rules(stage, "before_entry")
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
        "CKV_KIRO_2", "Every deploy stage rolls back on failure; the approval never does", deploy_stages_roll_back
    ),
    Invariant("CKV_KIRO_3", "Staging and production bake on their health alarms", bakes_watch_health),
    Invariant(
        "CKV_KIRO_4",
        "Production deploys only in its change window, checked after the approval",
        production_change_window,
    ),
    Invariant("CKV_KIRO_5", "The incident gate is the last stage before each deploy stage", incident_gates),
    Invariant("CKV_KIRO_6", "Executions are QUEUED (stage rollback needs it)", queued_execution),
    Invariant("CKV_KIRO_7", "The artifact store is encrypted with the project's key", artifacts_encrypted),
    Invariant("CKV_KIRO_8", "No condition holds both the change window and an alarm", one_control_per_condition),
    Invariant("CKV_KIRO_9", "A stage that rolls back has no entry condition", rolled_back_stages_ungated),
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
