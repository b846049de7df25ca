"""The app as users run it: `python main.py` (what `cdktf synth` executes)."""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys

import pytest

import main
from environments import ENVIRONMENT_NAMES
from tests.conftest import REPO
from topology import naming


def run_main(outdir, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("ENV", "CDKTF_CONTEXT_JSON")}
    environ.update(CDKTF_OUTDIR=str(outdir), **env)
    return subprocess.run([sys.executable, "main.py"], cwd=REPO, env=environ, capture_output=True, text=True)


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_full_app_has_every_stack_of_every_environment(stacks):
    assert set(stacks) == {naming.stack_id(c, e) for c in naming.STACK_CONCERNS for e in ENVIRONMENT_NAMES}


def test_cross_stack_reads_and_outputs_match_exactly(stacks):
    """Every remote-state read names an output of its producer, every
    cross-stack output is read, and no stack reads another environment."""
    read = re.compile(r"data\.terraform_remote_state\.cross-stack-reference-input-([\w-]+)\.outputs\.([\w-]+)")
    reads = {
        (consumer, producer, output)
        for consumer, stack in stacks.items()
        for _, value in stack.walk()
        if isinstance(value, str)
        for producer, output in read.findall(value)
    }
    written = {
        (stack_id, name)
        for stack_id, stack in stacks.items()
        for name in stack.outputs
        if name.startswith("cross-stack-output-")
    }
    assert {(producer, output) for _, producer, output in reads} == written
    pairs = {(consumer, producer) for consumer, producer, _ in reads}
    # Monitoring gets the pipeline's name and ARN as plain values and depends
    # on the pipeline stack explicitly (see test_monitoring_is_deployed_after_pipeline).
    assert {(c.split("-")[0], p.split("-")[0]) for c, p in pairs} == {("pipeline", "core"), ("monitoring", "core")}
    assert all(c.split("-", 1)[1] == p.split("-", 1)[1] for c, p in pairs)


def test_monitoring_is_deployed_after_pipeline(synth_dir):
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    for env in ENVIRONMENT_NAMES:
        assert set(manifest["stacks"][f"monitoring-{env}"]["dependencies"]) == {f"core-{env}", f"pipeline-{env}"}
        assert manifest["stacks"][f"pipeline-{env}"]["dependencies"] == [f"core-{env}"]


class TestEnvironmentSelection:
    def test_default_is_every_environment(self):
        assert main.selected_environment_names({}) == list(ENVIRONMENT_NAMES)

    def test_env_variable_narrows(self):
        assert main.selected_environment_names({"ENV": "test"}) == ["test"]
        assert main.selected_environment_names({"ENV": " test, staging "}) == ["test", "staging"]

    def test_cdktf_context_narrows_and_env_wins(self):
        context = json.dumps({"environment": "staging"})
        assert main.selected_environment_names({"CDKTF_CONTEXT_JSON": context}) == ["staging"]
        assert main.selected_environment_names({"CDKTF_CONTEXT_JSON": context, "ENV": "production"}) == ["production"]

    def test_unknown_environment_fails_fast_with_the_valid_names(self, tmp_path):
        result = run_main(tmp_path / "out", ENV="prod")
        assert result.returncode == 2
        assert "unknown environment 'prod': valid names are test, staging, production" in result.stderr
        assert not (tmp_path / "out").exists(), "a failed selection must not leave partial output"


@pytest.fixture(scope="module")
def subprocess_synth(tmp_path_factory):
    """A second, independent synth in a fresh interpreter with another hash seed."""
    outdir = tmp_path_factory.mktemp("second-synth")
    result = run_main(outdir, PYTHONHASHSEED="12345")
    assert result.returncode == 0, result.stderr
    return outdir


def test_two_synths_are_byte_identical(synth_dir, subprocess_synth):
    assert tree(synth_dir) == tree(subprocess_synth)
    files = tree(synth_dir)
    match, mismatch, errors = filecmp.cmpfiles(synth_dir, subprocess_synth, files, shallow=False)
    assert mismatch == [] and errors == []
    assert len(match) == len(files) > 0


def test_env_narrows_to_that_environment_and_changes_nothing_in_it(tmp_path, stacks):
    outdir = tmp_path / "test-only"
    result = run_main(outdir, ENV="test")
    assert result.returncode == 0, result.stderr
    synthesized = sorted(p.name for p in (outdir / "stacks").iterdir())
    assert synthesized == sorted(s for s in stacks if s.endswith("-test"))
    for stack_id in synthesized:
        narrowed = (outdir / "stacks" / stack_id / "cdk.tf.json").read_text()
        assert narrowed == stacks[stack_id].path.read_text(), stack_id
