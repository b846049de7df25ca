"""What both functions know about CodePipeline executions: which triggers
mean a rollback execution, and the execution types the records store
(contract/records.py)."""

from __future__ import annotations

from .contract.records import ROLLBACK, STANDARD

__all__ = ["ROLLBACK", "ROLLBACK_TRIGGERS", "STANDARD", "execution_type"]
# ExecutionTrigger.triggerType values of a rollback (CodePipeline API reference).
ROLLBACK_TRIGGERS = frozenset({"ManualRollback", "AutomatedRollback"})


def execution_type(trigger_type: str | None) -> str:
    return ROLLBACK if trigger_type in ROLLBACK_TRIGGERS else STANDARD
