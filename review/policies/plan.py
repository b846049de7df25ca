"""The pipeline's invariants over `terraform show -json` plans: CI's blocking
check (`.github/workflows/terraform-plan.yml`), after the summary comment.

    python3 -m review.policies.plan PLAN.json [PLAN.json ...]

Every `aws_codepipeline` the plan creates or updates is judged by its
planned after-state (the same invariants `make scan` runs through checkov
over the synthesized JSON). Exit 1 when any invariant fails.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from review.policies.invariants import INVARIANTS


@dataclass(frozen=True)
class Verdict:
    address: str
    id: str
    name: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def verdicts(plan: dict) -> list[Verdict]:
    found = []
    for change in plan.get("resource_changes", []):
        after = change.get("change", {}).get("after")
        if change.get("type") != "aws_codepipeline" or after is None:
            continue  # a deleted pipeline has no delivery controls left to judge
        for invariant in INVARIANTS:
            found.append(Verdict(change["address"], invariant.id, invariant.name, tuple(invariant.check(after))))
    return found


def render(by_plan: dict[str, list[Verdict]]) -> str:
    lines = []
    for plan, found in by_plan.items():
        for v in found:
            mark = "pass" if v.passed else "FAIL"
            lines.append(
                f"{mark}  {plan}: {v.address}: {v.id} {v.name}" + ("" if v.passed else f": {'; '.join(v.problems)}")
            )
    return "\n".join(lines) or "no pipeline in these plans"


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python3 -m review.policies.plan PLAN.json [PLAN.json ...]", file=sys.stderr)
        return 2
    by_plan = {path: verdicts(json.loads(Path(path).read_text())) for path in paths}
    print(render(by_plan))
    return 0 if all(v.passed for found in by_plan.values() for v in found) else 1


if __name__ == "__main__":
    sys.exit(main())
