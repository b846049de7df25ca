"""The upgrade gate's unit parts: the release list it reads (RELEASES,
tools/previous_version.py) and its verdict on a plan (tools/rehearse/results.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from tools import previous_version
from tools.rehearse import Rehearsal, StackReport, summary


def test_the_tracked_release_list_is_well_formed_and_its_last_commit_is_an_ancestor_of_head():
    listed = previous_version.releases()
    assert listed, "RELEASES lists no release"
    versions = [tuple(int(n) for n in r.version[1:].split(".")) for r in listed]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), "versions must increase"
    last = previous_version.default_release()
    ancestor = subprocess.run(
        ["git", "merge-base", "--is-ancestor", last.commit, "HEAD"], cwd=previous_version.REPO, capture_output=True
    )
    assert ancestor.returncode == 0, f"{last.version} {last.commit} is not an ancestor of HEAD"


def test_the_last_line_is_the_previous_release(tmp_path):
    path = tmp_path / "RELEASES"
    path.write_text(f"# oldest first\nv0.1.0 {'a' * 40}\n\nv0.2.0 {'b' * 40}\n")
    assert previous_version.releases(path)[-1] == previous_version.Release("v0.2.0", "b" * 40)


def test_a_missing_file_fails_with_the_fix(tmp_path):
    with pytest.raises(previous_version.PreviousVersionUnavailable, match="RELEASES is missing.*restore it from git"):
        previous_version.releases(tmp_path / "RELEASES")


def test_every_malformed_line_is_named_at_once(tmp_path):
    path = tmp_path / "RELEASES"
    path.write_text("v0.1 abc\nv0.2.0 5289e49\n")
    with pytest.raises(previous_version.PreviousVersionUnavailable) as raised:
        previous_version.releases(path)
    assert re.search(r"RELEASES:1: 'v0\.1 abc'.*RELEASES:2: 'v0\.2\.0 5289e49'", str(raised.value))


def test_a_commit_missing_from_the_clone_fails_never_skips(tmp_path):
    path = tmp_path / "RELEASES"
    path.write_text(f"v9.9.9 {'0' * 40}\n")
    with pytest.raises(previous_version.PreviousVersionUnavailable, match="not in this clone: clone with full history"):
        previous_version.default_release(path)


def _plan(*actions: list[str]) -> dict:
    return {
        "resource_changes": [
            {"address": f"aws_sns_topic.t{i}", "change": {"actions": a}} for i, a in enumerate(actions)
        ]
    }


def test_a_destroy_or_replace_fails_the_upgrade_gate():
    """The gate's own logic, on the plan JSON shapes Terraform writes
    (replace is delete+create, or create+delete with create_before_destroy)."""
    report = StackReport(
        "monitoring-test",
        plan_json=_plan(["update"], ["delete", "create"], ["create", "delete"], ["delete"], ["no-op"]),
    )
    assert report.destroyed == [
        "aws_sns_topic.t1: delete/create",
        "aws_sns_topic.t2: create/delete",
        "aws_sns_topic.t3: delete",
    ]
    upgrade = Rehearsal("test", reports=[report], validate_code=0, previous="v0.0.0")
    assert not upgrade.ok and len(upgrade.upgrade_destroys) == 3
    assert "DESTROYS monitoring-test: aws_sns_topic.t3: delete" in summary(upgrade)
    # The same plan on a first deploy (no previous version) is not an upgrade.
    assert Rehearsal("test", reports=[report], validate_code=0).upgrade_destroys == []
