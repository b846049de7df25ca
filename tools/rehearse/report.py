"""The summary a rehearsal prints: what was applied and what was not, the
second plans, and what the user's own commands said."""

from __future__ import annotations

import json

from tools.rehearse.results import Rehearsal


def summary(rehearsal: Rehearsal) -> str:
    lines = []
    if rehearsal.previous:
        lines.append(f"upgrade from {rehearsal.previous}: this version's plans against that version's state")
        changed = sum(r.planned for r in rehearsal.reports)
        lines.append(f"  {changed} resource changes planned; destroyed or replaced: {len(rehearsal.upgrade_destroys)}")
        lines.extend(f"  DESTROYS {d}" for d in rehearsal.upgrade_destroys)
        not_updated = [f"{r.stack}: {a}: {why}" for r in rehearsal.reports for a, why in sorted(r.not_updated.items())]
        if not_updated:
            lines.append("  planned updates the emulator cannot apply (planned and reviewed, not applied):")
            lines.extend(f"    {line}" for line in not_updated)
    planned = sum(r.planned for r in rehearsal.reports)
    applied = sum(r.applied for r in rehearsal.reports)
    not_emulated = {}
    for report in rehearsal.reports:
        for address, why in report.not_emulated.items():
            not_emulated.setdefault(address.split(".")[0], why)
    if rehearsal.previous:
        # Over a previous version, a plan counts changes, not resources.
        lines.append(f"{applied} resources in state after {planned} planned changes, in {rehearsal.seconds:.0f} s")
        for report in rehearsal.reports:
            lines.append(
                f"  {report.stack}: {report.applied} in state, {report.planned} changes ({report.seconds:.0f} s)"
            )
    else:
        lines.append(f"applied {applied} of {planned} resources in {rehearsal.seconds:.0f} s")
        for report in rehearsal.reports:
            lines.append(f"  {report.stack}: applied {report.applied} of {report.planned} ({report.seconds:.0f} s)")
    if not_emulated:
        lines.append("not emulated (planned, not applied):")
        lines.extend(f"  {kind}: {why}" for kind, why in sorted(not_emulated.items()))
    artifacts = [a for r in rehearsal.reports for a in r.artifacts]
    if artifacts:
        lines.append(
            "second plan: known emulator artifacts only:"
            if not any(r.second_plan for r in rehearsal.reports)
            else "second plan: known emulator artifacts:"
        )
        lines.extend(f"  {a}" for a in artifacts)
    unexpected = [f"{r.stack}: {c}" for r in rehearsal.reports for c in r.second_plan]
    if unexpected:
        lines.append("second plan: UNEXPECTED CHANGES (a perpetual diff is a defect):")
        lines.extend(f"  {c}" for c in unexpected)
    else:
        lines.append("second plan: clean on every stack")
    lines.extend(_user_commands(rehearsal))
    lines.append("rehearsal " + ("passed" if rehearsal.ok else "FAILED"))
    return "\n".join(lines)


def _user_commands(rehearsal: Rehearsal) -> list[str]:
    """What the user's own commands said: deployer roles and preflight before
    the stacks, the probe and `ops validate` after."""
    lines = ["deployer roles (ops deployer-roles, before the stacks):"]
    lines.extend(f"  {name}: assumable only by {role}" for name, role in sorted(rehearsal.deployer_roles.items()))
    lines.extend(f"  TRUST: {problem}" for problem in rehearsal.deployer_trust_problems)
    lines.append(f"ops preflight {rehearsal.env}, before the stacks (exit {rehearsal.preflight_code}):")
    lines.extend(f"  {line[:160]}" for line in rehearsal.preflight_output.splitlines() if line[:1] in "✓✗!")
    lines.append(f"health probe, one round with the deployed settings: {json.dumps(rehearsal.probe_result)}")
    lines.append(
        f"ops validate {rehearsal.env} (exit {rehearsal.validate_code}; a ✗ on a resource that is not "
        "emulated is expected):"
    )
    lines.extend(f"  {line}" for line in rehearsal.validate_output.strip().splitlines() if line[:1] in "✓✗")
    if rehearsal.validate_failures:
        lines.append("ops validate: UNEXPECTED FAILURES:")
        lines.extend(f"  {line}" for line in rehearsal.validate_failures)
    return lines
