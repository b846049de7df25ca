"""The files a workflow's plan jobs leave for the job that reports on them.

Each plan job writes, per stack, `STACK.json` (`terraform show -json`) and
optionally `STACK.txt` (`terraform show -no-color`) when its plan ran, or
`STACK.log` (the output of the failed `init` or `plan`) when it did not.
`collect()` sorts a downloaded directory of them into plans and failures,
for every stack the report expects: a stack that left nothing (its job was
cancelled or never started) is a failure too, never silently left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from topology import naming
from topology.environments import ENVIRONMENT_NAMES

NO_OUTPUT = "cancelled, timed out or failed to start"


def stacks_of(environments: list[str]) -> list[str]:
    """Every stack of these environments, in deploy order."""
    unknown = [env for env in environments if env not in ENVIRONMENT_NAMES]
    if unknown:
        raise ValueError(f"unknown environment(s) {', '.join(unknown)}: expected {', '.join(ENVIRONMENT_NAMES)}")
    return [naming.stack_id(concern, env) for env in environments for concern in naming.STACK_CONCERNS]


@dataclass
class Collected:
    plans: dict[str, tuple[Path, Path | None]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def collect(directory: Path, stacks: list[str]) -> Collected:
    found = Collected()
    for stack in stacks:
        plan, text, log = (directory / f"{stack}{suffix}" for suffix in (".json", ".txt", ".log"))
        if plan.is_file():
            found.plans[stack] = (plan, text if text.is_file() else None)
        elif log.is_file():
            found.failed[stack] = log.read_text(errors="replace")
        else:
            found.failed[stack] = (
                f"no plan output for {stack}: its job did not finish (cancelled, timed out or failed to start)"
            )
    return found
