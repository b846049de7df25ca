"""What a plan does to the pipeline's delivery controls, in plain words.

A plan's `aws_codepipeline` update reads as an ordinary in-place change;
this compares its before and after (and the deploy projects' roles) and
says, for example, "ProductionEnv: manual approval removed". A change that
weakens a control is marked, and the plan summary puts it first.
Pure: works on `terraform show -json` before/after values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from review.policies.invariants import INVARIANTS, blocks, provider, results, rules, stages
from topology import naming


@dataclass(frozen=True)
class ControlChange:
    text: str
    weakened: bool = False


def _facts(pipeline: dict) -> dict[str, Any]:
    """The delivery controls of a pipeline, as comparable values."""
    by_name = stages(pipeline)
    facts: dict[str, Any] = {"execution mode": pipeline.get("execution_mode")}
    facts["stage order"] = tuple(by_name)
    for name in by_name:
        if name == naming.SOURCE_STAGE:
            continue
        stage = by_name[name]
        entry = {r.get("name"): r for r in rules(stage, "before_entry")}
        window = next((r for r in entry.values() if provider(r) == "DeploymentWindow"), None)
        gate = entry.get(naming.INCIDENT_GATE_RULE)
        facts[f"{name}: manual approval"] = any(a.get("category") == "Approval" for a in blocks(stage.get("action")))
        facts[f"{name}: rollback on failure"] = "ROLLBACK" in results(stage, "on_failure")
        facts[f"{name}: automatic retry"] = "RETRY" in results(stage, "on_failure")
        facts[f"{name}: bake alarms"] = {
            str(r.get("configuration", {}).get("AlarmName")): int(r.get("configuration", {}).get("WaitTime") or 0)
            for r in rules(stage, "on_success")
            if provider(r) == "CloudWatchAlarm"
        }
        facts[f"{name}: change window"] = (
            (window.get("configuration", {}).get("Cron"), window.get("configuration", {}).get("TimeZone"))
            if window
            else None
        )
        facts[f"{name}: incident gate"] = (gate or {}).get("configuration", {}).get("AlarmName")
    for trigger in blocks(pipeline.get("trigger")):
        for git in blocks(trigger.get("git_configuration")):
            facts["trigger"] = json_like(git.get("push"))
    return facts


def json_like(value: Any) -> Any:
    """A nested value with blocks and one-element lists flattened, for comparing."""
    if isinstance(value, list) and len(value) == 1:
        return json_like(value[0])
    if isinstance(value, dict):
        return {k: json_like(v) for k, v in sorted(value.items()) if v not in (None, [], {})}
    return value


def pipeline_changes(before: dict, after: dict) -> list[ControlChange]:
    old, new = _facts(before), _facts(after)
    # A stage that is gone reads as its controls removed; a new one, added.
    for one, other in ((old, new), (new, old)):
        for key, value in one.items():
            if key not in other:
                other[key] = False if isinstance(value, bool) else {} if isinstance(value, dict) else None
    changes = []
    for key in new:
        was, now = old.get(key), new[key]
        if was == now:
            continue
        name = key.split(": ", 1)[-1]
        if isinstance(now, bool):
            weakened = was and not now and name != "automatic retry"
            changes.append(ControlChange(f"{key.split(': ')[0]}: {name} {'removed' if was else 'added'}", weakened))
        elif name == "bake alarms":
            lost = sorted(set(was or {}) - set(now or {}))
            shorter = sorted(a for a in now or {} if a in (was or {}) and now[a] < was[a])
            weakened = bool(lost or shorter)
            detail = "; ".join(
                [f"no longer watches {a}" for a in lost]
                + [f"watches {a} for {now[a]} instead of {was[a]} minutes" for a in shorter]
            )
            changes.append(ControlChange(f"{key}: {detail or f'{was} -> {now}'}", weakened))
        elif name in ("change window", "incident gate"):
            weakened = was is not None and now is None
            verb = "removed" if now is None else "added" if was is None else f"changed from {was} to {now}"
            changes.append(ControlChange(f"{key} {verb}", weakened))
        elif key == "stage order":
            changes.append(ControlChange(f"stages were {', '.join(was or ())}; now {', '.join(now)}"))
        else:
            weakened = key == "execution mode" and was == "QUEUED"
            changes.append(ControlChange(f"{key} changed from {was} to {now}", weakened))
    # Whatever the words, an invariant that held and no longer does weakens:
    # said in the invariant's words when nothing above said so (a stage moved).
    for invariant in INVARIANTS if not any(c.weakened for c in changes) else ():
        if not invariant.check(before):
            changes += [
                ControlChange(f"{invariant.id} ({invariant.name}) no longer holds: {problem}", weakened=True)
                for problem in invariant.check(after)
            ]
    return changes


def project_changes(address: str, before: dict, after: dict) -> list[ControlChange]:
    """A deploy project's target role (DEPLOY_ROLE_ARN) changing."""

    def role(project: dict) -> str | None:
        for environment in blocks(project.get("environment")):
            for variable in blocks(environment.get("environment_variable")):
                if variable.get("name") == "DEPLOY_ROLE_ARN":
                    return variable.get("value")
        return None

    was, now = role(before or {}), role(after or {})
    if was == now or was is None:
        return []
    return [ControlChange(f"{address}: deploy role changed from {was} to {now}")]


def plan_changes(plan: dict) -> list[ControlChange]:
    """Every delivery-control change in a `terraform show -json` plan, weakened first."""
    found = []
    for change in plan.get("resource_changes", []):
        values = change.get("change", {})
        before, after = values.get("before"), values.get("after")
        if change.get("type") == "aws_codepipeline" and before and after:
            found += pipeline_changes(before, after)
        elif change.get("type") == "aws_codepipeline" and before and not after:
            found.append(ControlChange(f"{change['address']}: the pipeline is destroyed", weakened=True))
        elif change.get("type") == "aws_codebuild_project" and before and after:
            found += project_changes(change["address"], before, after)
    return sorted(found, key=lambda c: not c.weakened)
