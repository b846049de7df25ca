"""What both functions know about CodePipeline executions: which triggers
mean a rollback execution, and the execution types the records store."""

from __future__ import annotations

# ExecutionTrigger.triggerType values of a rollback (CodePipeline API reference).
ROLLBACK_TRIGGERS = frozenset({"ManualRollback", "AutomatedRollback"})
STANDARD, ROLLBACK = "STANDARD", "ROLLBACK"


def execution_type(trigger_type: str | None) -> str:
    return ROLLBACK if trigger_type in ROLLBACK_TRIGGERS else STANDARD
