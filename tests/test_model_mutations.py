"""Every rule of the CodePipeline semantics model has mutations, and each
mutation makes at least one delivery scenario fail: the scenarios depend on
the rules, so a rule written wrong would be seen.

KILLERS names, for each mutation, the scenario run (default readings) that
it breaks; `python -m tests.test_model_mutations` searches the scenarios
again and prints the table (after a rule or a scenario changes). A mutation
that no product scenario reaches is killed by the model's own unit tests
(tests/test_codepipeline_model.py, run with the mutation switched on
through MODEL_MUTATIONS), named here `model`.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from moto import mock_aws

from tests import test_delivery_scenarios as scenarios
from tests.codepipeline_model import Readings, mutations

# A check of the test suite itself, two minutes long: the acceptance tier.
pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

# The scenario runs, cheapest first (the search tries them in this order).
RUNS = {
    "in-the-window": (scenarios.test_a_release_in_the_window_reaches_production, {}),
    "rejection": (scenarios.test_a_rejection_deploys_nothing_and_the_next_push_goes_through, {}),
    "flaky-build": (scenarios.test_a_flaky_build_is_healed_by_the_retry, {}),
    "first-deployment": (scenarios.test_a_first_deployment_goes_through_the_incident_gate_with_an_override, {}),
    "missing-data": (scenarios.test_a_gate_does_not_hold_a_release_for_missing_data, {}),
    "fails-twice": (scenarios.test_a_build_that_fails_twice_is_not_retried_again, {}),
    "probe-silent": (
        scenarios.test_a_bake_rolls_back_when_the_probe_goes_silent,
        {"readings": Readings(bake_reading="like-entry")},
    ),
    "queued": (scenarios.test_a_release_queued_behind_an_approval_waits_its_turn, {}),
    "hung-deploy": (scenarios.test_a_hung_deploy_is_ended_by_codebuild_and_rolled_back, {}),
    "berlin": (scenarios.test_a_window_in_berlin_across_the_change_to_summer_time, {}),
    "friday": (scenarios.test_a_friday_approval_waits_for_monday, {"readings": Readings()}),
    "one-override": (scenarios.test_one_override_never_waives_the_other_control, {}),
    "weekend": (scenarios.test_the_weekend, {"readings": Readings()}),
    "time-out": (scenarios.test_an_unanswered_approval_times_out_after_seven_days, {"readings": Readings()}),
    "update-waiting": (
        scenarios.test_a_pipeline_update_while_a_release_waits_for_its_approval,
        {"readings": Readings()},
    ),
    "update-good": (
        scenarios.test_a_bad_release_after_an_update_rolls_back_to_a_good_execution_of_the_new_version,
        {},
    ),
    "update-no-good": (
        scenarios.test_a_bad_release_after_an_update_with_no_good_execution_in_the_new_version,
        {"readings": Readings()},
    ),
    "expired-artifacts": (scenarios.test_a_rollback_whose_target_lost_its_artifacts_pages_the_way_back, {}),
    "hotfix": (scenarios.test_a_hotfix_during_an_incident, {"readings": Readings(window_outside="wait")}),
    "manual-older": (
        scenarios.test_a_manual_rollback_to_an_older_version_is_refused_and_the_way_back_offered,
        {"readings": Readings()},
    ),
    "latest-good": (scenarios.test_a_failed_deploy_rolls_back_to_the_latest_good_release, {}),
}

# Found by the search below; "model": no product scenario reaches the rule
# (a shape the product does not use, or a behaviour it is built to tolerate),
# and the model's own unit tests kill it.
KILLERS: dict[str, str] = {
    "alarm-bake:ignore-alarm": "in-the-window",
    "alarm-entry-wait:ignore-alarm": "first-deployment",
    "alarm-entry-wait:no-wait": "first-deployment",
    "alarm-event:every-set": "model",
    "alarm-not-rechecked:recheck": "model",
    "alarm-states:insufficient-data-blocks": "missing-data",
    "approval-result:reject-succeeds": "rejection",
    "approval-timeout-report:succeeds": "time-out",
    "approval-timeout:never": "time-out",
    "approval-timeout:six-days": "time-out",
    "artifact-expiry:never-expire": "expired-artifacts",
    "automatic-retry:never": "flaky-build",
    "automatic-retry:retry-twice": "fails-twice",
    "condition-all-rules:any-rule": "probe-silent",
    "condition-counts:unbounded": "model",
    "condition-results:anything-goes": "model",
    "deploy-target:on-start": "in-the-window",
    "deployment-window-cron:ignore-time-zone": "berlin",
    "deployment-window-cron:monday-is-one": "in-the-window",
    "deployment-window-waits:always-open": "berlin",
    "entry-before-actions:after-actions": "berlin",
    "entry-result-effect:skip-fails": "model",
    "execution-order:newest-first": "model",
    "failure-condition:ignored": "model",
    "manual-retry:retry-anything": "model",
    "on-failure-rollback:never": "probe-silent",
    "on-failure-rollback:oldest-success": "latest-good",
    "override-stage-condition:ignored": "first-deployment",
    "retry-entry-condition:never-on-reading": "model",
    "retry-mode:all-actions-always": "model",
    "rollback-conditions:never-on-reading": "model",
    "rollback-outdated-error:validation": "manual-older",
    "rollback-preconditions:allow-rollback-target": "model",
    "rollback-preconditions:allow-source-stage": "model",
    "rollback-preconditions:ignore-structure-version": "manual-older",
    "rollback-reuses-target:latest-revision": "probe-silent",
    "stage-lock:no-lock": "queued",
    "stage-started-event:never": "model",
    "stop-execution:abandon-waits": "model",
    "structure-version:current-version": "model",
    "succeeded-in-stage-filter:all-versions": "model",
    "transition-holds:ignored": "model",
    "transition-resumes:always": "model",
    "transition-which-resume:oldest-only": "model",
    "update-in-flight:version-not-incremented": "update-no-good",
}


def run(name: str, mutation: str | None, pipelines, monkeypatch) -> None:
    """Run scenario `name` with `mutation` switched on in every world."""
    function, arguments = RUNS[name]
    with mock_aws():
        given = {"world_of": scenarios.worlds(pipelines, monkeypatch, mutation), "pipelines": pipelines, **arguments}
        function(**{p: given[p] for p in inspect.signature(function).parameters})


def killed(name: str, mutation: str, pipelines, monkeypatch) -> bool:
    try:
        run(name, mutation, pipelines, monkeypatch)
    except Exception:  # noqa: BLE001 - any failure of the scenario kills the mutation
        return True
    return False


def model_tests_fail(mutation: str) -> bool:
    """The model's own unit tests, in a fresh process with `mutation` on."""
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/test_codepipeline_model.py",
        ],
        cwd=repo,
        env={**os.environ, "MODEL_MUTATIONS": mutation},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode != 0


def search() -> dict[str, str | None]:
    """Each mutation's first killing scenario run, in RUNS order, else the
    model's tests, else None (python -m tests.test_model_mutations)."""
    import tests.conftest  # noqa: F401 - the scenarios' environment files
    from tests.support.delivery_world import synthesize_pipelines

    pipelines = synthesize_pipelines(Path(tempfile.mkdtemp(prefix="mutations.")))
    found = {}
    for mutation in sorted(mutations()):
        found[mutation] = next(
            (name for name in RUNS if killed(name, mutation, pipelines, pytest.MonkeyPatch())),
            "model" if model_tests_fail(mutation) else None,
        )
        print(f'    "{mutation}": "{found[mutation]}",', flush=True)
    return found


def test_every_mutation_has_a_killer():
    assert sorted(KILLERS) == sorted(mutations())


@pytest.mark.parametrize("mutation", sorted(mutations()))
def test_the_mutation_fails_its_scenario(mutation, scenario_pipelines, aws_credentials, monkeypatch):
    killer = KILLERS[mutation]
    if killer == "model":
        assert model_tests_fail(mutation), f"{mutation} no longer fails the model's unit tests"
    else:
        assert killed(killer, mutation, scenario_pipelines, monkeypatch), f"{mutation} no longer fails {killer}"


if __name__ == "__main__":
    search()
