"""What a rehearsal finds: per stack (StackReport) and in all (Rehearsal),
with the verdicts drawn from them; what `rehearse(then=...)` is handed
while the server still runs (Site); and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools import emulator
from tools.terraform_cli import Terraform


class RehearsalFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Site:
    """A rehearsal still running: what `rehearse(then=...)` gets, to plan
    against the deployed state before the server stops. Each stack's scratch
    copy is `scratch_root / stack`, initialized, its state in the server."""

    terraform: Terraform
    scratch_root: Path
    url: str
    env_vars: dict[str, str]


def changes(plan: dict) -> list[dict]:
    """A plan's resource changes that change something (neither no-op nor read)."""
    return [c for c in plan.get("resource_changes", []) if c["change"]["actions"] not in (["no-op"], ["read"])]


@dataclass
class StackReport:
    stack: str
    planned: int = 0
    applied: int = 0
    not_emulated: dict[str, str] = field(default_factory=dict)  # address -> why
    # Planned updates the emulator cannot apply (an upgrade's): address -> why.
    not_updated: dict[str, str] = field(default_factory=dict)
    second_plan: list[str] = field(default_factory=list)  # unexpected changes
    artifacts: list[str] = field(default_factory=list)  # known emulator artifacts seen
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # terraform command -> seconds
    plan_json: dict | None = None  # `terraform show -json` of the full plan
    plan_text: str = ""  # its `terraform plan` output, with Terraform's "Plan:" line

    @property
    def destroyed(self) -> list[str]:
        """What the full plan destroys or replaces: on an upgrade, a lost resource (and its state)."""
        return [
            f"{c['address']}: {'/'.join(c['change']['actions'])}"
            for c in changes(self.plan_json or {})
            if "delete" in c["change"]["actions"]
        ]


@dataclass
class Rehearsal:
    env: str
    reports: list[StackReport] = field(default_factory=list)
    validate_output: str = ""
    validate_code: int | None = None
    seconds: float = 0.0
    server_pid: int | None = None
    deployer_roles: dict[str, str] = field(default_factory=dict)  # role name -> the role its trust admits
    # What preflight would say about those roles' trust (ops/deployers.trust_problems).
    deployer_trust_problems: list[str] = field(default_factory=list)
    probe_result: dict = field(default_factory=dict)  # one health-probe round, run with the deployed settings
    # `ops preflight`, run where a user runs it: after bootstrap and deployer roles, before the stacks.
    preflight_output: str = ""
    preflight_code: int | None = None
    # An upgrade rehearsal: the previous version's stacks, applied first.
    previous: str | None = None
    previous_reports: list[StackReport] = field(default_factory=list)
    # What `rehearse(then=...)` returned.
    then_result: object = None

    @property
    def upgrade_destroys(self) -> list[str]:
        """On an upgrade, what this version's plans destroy or replace in the previous version's state."""
        if not self.previous:
            return []
        return [f"{r.stack}: {d}" for r in self.reports for d in r.destroyed]

    @property
    def not_emulated_types(self) -> set[str]:
        return {address.split(".")[0] for r in self.reports for address in r.not_emulated}

    @property
    def held_types(self) -> set[str]:
        """Types with a resource the emulator did not create, or did not update."""
        return self.not_emulated_types | {address.split(".")[0] for r in self.reports for address in r.not_updated}

    @property
    def validate_failures(self) -> list[str]:
        """`ops validate` ✗ lines that the emulator does not explain."""
        unexplained = []
        for line in self.validate_output.splitlines():
            if line.startswith("✗"):
                label = line[2:]
                kinds = [k for prefix, k in emulator.NOT_EMULATED_CHECKS.items() if label.startswith(prefix)]
                if not (kinds and set(kinds) <= self.held_types):
                    unexplained.append(line)
        return unexplained

    @property
    def preflight_failures(self) -> list[str]:
        """Preflight ✗ lines that neither the emulator nor this machine explains
        (emulator.PREFLIGHT_NOT_EMULATED). Reported, not part of `ok`: the
        test fixtures' sample values are placeholders preflight refuses, as it
        should; the newcomer test (tests/test_newcomer.py) holds a team's
        values to none."""
        return [
            line
            for line in self.preflight_output.splitlines()
            if line.startswith("✗") and not any(line[2:].startswith(p) for p in emulator.PREFLIGHT_NOT_EMULATED)
        ]

    @property
    def ok(self) -> bool:
        return (
            self.validate_code is not None
            and not self.validate_failures
            and not self.deployer_trust_problems
            and all(not r.second_plan for r in self.reports + self.previous_reports)
            and not self.upgrade_destroys
        )
