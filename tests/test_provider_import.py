"""Lazy provider imports: same output, far fewer modules, a switch, a fallback."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

# Tier: import checks in fresh interpreters; the eager-import benchmark (an
# eager synth, 30 s and more) is the acceptance tier's.
pytestmark = pytest.mark.slow

COUNT = "import sys; print(sum(1 for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')))"


def python(code: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "KIRO_EAGER_PROVIDER_IMPORT"}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environ, capture_output=True, text=True)


def test_the_app_loads_only_the_submodules_it_uses():
    result = python("import modules.app; " + COUNT)
    assert result.returncode == 0, result.stderr
    assert 10 < int(result.stdout) < 100


@pytest.mark.acceptance
def test_the_switch_turns_it_off(eager_synth):
    """With KIRO_EAGER_PROVIDER_IMPORT=1 every submodule loads: measured in the
    eager synth's own interpreter (one eager import, not two)."""
    state, count = eager_synth.state, eager_synth.count
    assert state == "disabled"
    assert count > 2000


def test_submodules_stay_reachable_as_attributes():
    result = python(
        "from modules import provider_import as p; p.enable(); import cdktf_cdktf_provider_aws as aws; "
        "print(aws.s3_bucket.S3Bucket.__name__); print(hasattr(aws, 'no_such_resource'))"
    )
    assert result.stdout.split() == ["S3Bucket", "False"], result.stderr


def test_an_unexpected_layout_falls_back_and_warns_once(tmp_path):
    package = tmp_path / "cdktf_cdktf_provider_aws"
    package.mkdir()
    (package / "_jsii").mkdir()
    (package / "_jsii" / "__init__.py").write_text("")
    imports = "".join(f"from . import m{i}\n" for i in range(1500))
    (package / "__init__.py").write_text(imports + "class Surprise:\n    pass\n")
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("always")
        from modules import provider_import as p
        with warnings.catch_warnings(record=True) as caught:
            print(p.enable(), p.enable())
        print(len(caught), caught[0].message)
    """)
    result = python(code, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    first, warning = result.stdout.splitlines()
    assert first == "fallback fallback"
    assert warning.startswith("1 cdktf_cdktf_provider_aws does not have the layout modules.provider_import expects")


@dataclass
class EagerSynth:
    outdir: Path
    state: str  # what provider_import.enable() answered under the switch
    count: int  # provider submodules loaded by the end of the synth


# main.py run as `python main.py` would, then the switch's state and the
# number of provider submodules loaded, on the last line.
EAGER_MAIN = textwrap.dedent("""
    import runpy, sys
    from modules import provider_import as p
    state = p.enable()
    sys.argv = ["main.py"]
    try:
        runpy.run_path("main.py", run_name="__main__")
    except SystemExit as stop:
        if stop.code:
            raise
    print(state, sum(1 for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")))
""")


@pytest.fixture(scope="module")
def eager_synth(tmp_path_factory, function_zips) -> EagerSynth:
    outdir = tmp_path_factory.mktemp("eager")
    environ = {k: v for k, v in os.environ.items() if k != "ENV"}
    environ.update(CDKTF_OUTDIR=str(outdir), KIRO_EAGER_PROVIDER_IMPORT="1")
    result = subprocess.run([sys.executable, "-c", EAGER_MAIN], cwd=REPO, env=environ, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    state, count = result.stdout.split()[-2:]
    return EagerSynth(outdir, state, int(count))


@pytest.mark.acceptance
def test_output_is_byte_identical_to_an_eager_synth(synth_dir, eager_synth):
    eager_synth = eager_synth.outdir
    files = sorted(str(p.relative_to(synth_dir)) for p in synth_dir.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(eager_synth)) for p in eager_synth.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(synth_dir, eager_synth, files, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert len(match) == len(files) > 9
