"""The invariants (review/policies/invariants.py) as custom checkov checks, one per
invariant, on every `aws_codepipeline`. `make scan` loads this directory
(`--external-checks-dir tools/policies`); an exception is an inline skip with
a reason, as for checkov's own checks (modules/checks.py).

checkov runs from its own venv, so the repository root is put on the path
for `review` and `topology` (pure Python: standard library only)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories, CheckResult  # noqa: E402 (after the path)
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck  # noqa: E402

from review.policies.invariants import INVARIANTS, Invariant, unwrap  # noqa: E402


class PipelineInvariant(BaseResourceCheck):
    def __init__(self, invariant: Invariant):
        self.invariant = invariant
        super().__init__(
            name=invariant.name,
            id=invariant.id,
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_codepipeline"],
        )

    def scan_resource_conf(self, conf):
        problems = self.invariant.check(unwrap(conf))
        if problems:
            self.details.extend(problems)
            return CheckResult.FAILED
        return CheckResult.PASSED


checks = [PipelineInvariant(invariant) for invariant in INVARIANTS]
