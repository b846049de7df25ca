"""The upgrade gate: the previous release (the last line of `RELEASES`)
deployed to a moto server with real Terraform and the real provider, then
this version deployed over it. This version's plans run against the previous
version's state and must destroy or replace nothing; the second plans stay
clean.

The previous version comes from this clone's history (tools/previous_version.py).
A clone without `RELEASES` or without the commit it names fails, saying why:
a gate that skips in CI is a gate that never runs.
"""

from __future__ import annotations

import pytest

from tools import previous_version
from tools.rehearse import rehearse, summary
from topology import naming

pytestmark = [
    pytest.mark.slow,
    pytest.mark.terraform,
    pytest.mark.acceptance,
    pytest.mark.upgrade,
]
# Production, as the acceptance tier's rehearsal: it has every control.
ENV = "production"


@pytest.fixture(scope="module")
def upgrade(synth_dir, tmp_path_factory):
    try:
        revision = previous_version.default_revision()
    except previous_version.PreviousVersionUnavailable as error:
        pytest.fail(f"the upgrade gate cannot find the previous release: {error}")
    stacks = previous_version.synthesize(revision, cache=tmp_path_factory.mktemp("previous"), env=ENV)
    log: list[str] = []
    result = rehearse(
        ENV, synth_dir / "stacks", tmp_path_factory.mktemp("upgrade"), log=log.append, previous=(revision, stacks)
    )
    print("\n".join(log) + "\n" + summary(result))
    return result


def test_the_previous_version_is_deployed_first_then_this_one_over_it(upgrade):
    stacks = [naming.stack_id(c, ENV) for c in naming.STACK_CONCERNS]
    assert [r.stack for r in upgrade.previous_reports] == stacks == [r.stack for r in upgrade.reports]
    assert all(r.applied > 0 for r in upgrade.previous_reports)
    # Every resource of the previous version was in state before this version planned.
    for before, after in zip(upgrade.previous_reports, upgrade.reports, strict=True):
        assert after.applied >= before.applied - len(after.destroyed), after.stack


def test_the_upgrade_destroys_and_replaces_nothing(upgrade):
    assert upgrade.upgrade_destroys == []
    assert "destroyed or replaced: 0" in summary(upgrade)


def test_after_the_upgrade_every_second_plan_is_clean_and_validate_passes(upgrade):
    assert [c for r in upgrade.reports for c in r.second_plan] == []
    assert upgrade.validate_failures == [] and upgrade.ok
