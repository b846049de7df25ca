"""The golden plans (tests/fixtures/plans/golden/) against what Terraform plans
today: the production rehearsal plans every review scenario again
(tests/support/plan_scenarios.py), and each difference from the fixtures is
named by scenario and resource address.

    make plan-fixtures     regenerate them (KIRO_UPDATE_PLAN_FIXTURES=1)

A stack change that changes what a scenario plans fails here until the
fixtures are regenerated and the difference is reviewed in the diff.
"""

from __future__ import annotations

import os

import pytest

from tests.support import golden_plans

pytestmark = [
    pytest.mark.slow,
    pytest.mark.terraform,
    pytest.mark.acceptance,
    pytest.mark.xdist_group("production-rehearsal"),
]
UPDATE = "KIRO_UPDATE_PLAN_FIXTURES"


def test_the_golden_plans_are_what_terraform_plans_today(production_rehearsal):
    fresh = production_rehearsal.then_result
    if os.environ.get(UPDATE) == "1":
        golden_plans.write(
            {name: (fresh.plans[name], fresh.texts[name]) for name in fresh.plans},
            {"stack": fresh.stack, "source": "the production rehearsal on moto (make plan-fixtures)", **fresh.versions},
        )
    plans, _ = golden_plans.load()
    differences = golden_plans.differences(plans, fresh.plans)
    assert differences == [], (
        "the plans differ from tests/fixtures/plans/golden/: review, then run `make plan-fixtures`:\n"
        + "\n".join(differences)
    )
    manifest = golden_plans.manifest()
    assert manifest["provider"] == fresh.versions["provider"], "the fixtures were made with another provider"
