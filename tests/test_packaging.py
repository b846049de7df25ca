"""`make functions`: reproducible zips, and a clear error when they are
missing; and the packaging of the operations tool (pyproject.toml)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from functions import package
from tests.conftest import REPO


def test_two_builds_are_byte_identical(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for function in package.FUNCTIONS:
        built_first = package.build(function, first)
        # Touch the sources and leave a bytecode cache behind: neither may matter.
        for source in package.sources(function):
            os.utime(source)
        (package.ROOT / function / "__pycache__").mkdir(exist_ok=True)
        built_second = package.build(function, second)
        assert built_first.read_bytes() == built_second.read_bytes(), function
        assert package.source_code_hash(built_first) == package.source_code_hash(built_second)


def test_zip_entries_are_sorted_sources_with_fixed_time_and_mode(tmp_path):
    built = package.build("rollback", tmp_path)
    with zipfile.ZipFile(built) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert names == [
        "functions/__init__.py",
        "functions/rollback/__init__.py",
        "functions/rollback/aws.py",
        "functions/rollback/handler.py",
        "functions/rollback/logic.py",
        "functions/shared/__init__.py",
        "functions/shared/changes.py",
        "functions/shared/contract/__init__.py",
        "functions/shared/contract/calendar.py",
        "functions/shared/contract/metrics.py",
        "functions/shared/contract/records.py",
        "functions/shared/contract/settings.py",
        "functions/shared/contract/stages.py",
        "functions/shared/dora.py",
        "functions/shared/dora_rules.py",
        "functions/shared/errors.py",
        "functions/shared/executions.py",
        "functions/shared/fields.py",
        "functions/shared/log.py",
        "functions/shared/outcomes.py",
        "functions/shared/records.py",
        "functions/shared/retry.py",
        "functions/shared/settings.py",
        "functions/shared/stages.py",
        "functions/shared/store.py",
        "functions/shared/urls.py",
        "functions/shared/window.py",
    ]
    assert {i.date_time for i in infos} == {package.FIXED_TIME}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_a_zip_runs_without_the_repository(tmp_path):
    """The handler imports from the zip alone (plus boto3, as Lambda has)."""
    built = package.build("deployment_recorder", tmp_path)
    code = "import functions.deployment_recorder.logic as l; print(l.STATUS['SUCCEEDED'][0])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(built)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "SUCCEEDED", result.stderr


@pytest.mark.parametrize("function", package.FUNCTIONS)
def test_each_zip_loads_its_handler_alone(tmp_path, function):
    """Lambda runs `functions.<package>.handler.handler` from the zip's root: each
    function's zip holds all it imports of ours (its package and shared/),
    with no other function's package on the path."""
    built = package.build(function, tmp_path)
    code = f"import functions.{function}.handler as h; print(callable(h.handler))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(built)!r}); {code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "True", result.stderr


def test_a_hash_change_follows_a_source_change(tmp_path):
    built = package.build("rollback", tmp_path / "before")
    with zipfile.ZipFile(built) as archive:
        original = archive.read("functions/rollback/logic.py")
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(changed, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data + b"\n# edit\n" if info.filename == "functions/rollback/logic.py" else data)
    assert original
    assert package.source_code_hash(changed) != package.source_code_hash(built)


def test_synth_without_zips_says_to_run_make_functions(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "ENV"}
    environ.update(KIRO_FUNCTIONS_DIST=str(tmp_path / "empty"), CDKTF_OUTDIR=str(tmp_path / "out"), ENV="test")
    result = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=environ, capture_output=True, text=True)
    assert result.returncode == 2
    assert "missing: run `make functions` first" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_build_reflects_the_sources_of_now_never_a_stale_zip(tmp_path, monkeypatch):
    """The break this guards: a build that keeps an old zip. A changed source
    must change the zip and its hash, and a zip already in place (stale, or
    junk) must be replaced."""
    shutil.copytree(package.ROOT, tmp_path / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(package, "ROOT", tmp_path / "functions")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "rollback.zip").write_bytes(b"stale")
    first = package.build("rollback", dist)
    assert first.read_bytes() != b"stale"
    before = package.source_code_hash(first)
    logic = tmp_path / "functions" / "rollback" / "logic.py"
    logic.write_text(logic.read_text() + "\nCHANGED = True\n")
    second = package.build("rollback", dist)
    assert package.source_code_hash(second) != before
    with zipfile.ZipFile(second) as archive:
        assert archive.read("functions/rollback/logic.py").decode().endswith("CHANGED = True\n")


# --- the kiro-ops alias (pyproject.toml, installed by `make install`) -------------------
def test_kiro_ops_runs_the_operations_cli_from_any_directory(tmp_path):
    """`python -m ops` worked only with .venv's Python in the repository;
    `.venv/bin/kiro-ops` is the same parser and exit codes anywhere."""
    alias = Path(sys.executable).parent / "kiro-ops"
    assert alias.exists(), f"{alias} is missing: run `make install` (it installs this checkout into .venv)"
    shown = subprocess.run([str(alias), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "deployments" in shown.stdout and "override" in shown.stdout
    refused = subprocess.run(
        [str(alias), "deployments", "test", "--status", "finished"], cwd=tmp_path, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "argument --status: 'finished' is not a record status" in refused.stderr


def test_the_packages_listed_are_what_python_m_ops_imports():
    """setuptools refuses to discover packages in this flat layout, so
    pyproject.toml lists them: every package of this repository that any
    `ops` module imports, and no other."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    probe = (
        "import importlib, json, pkgutil, sys\n"
        "from pathlib import Path\n"
        "import ops\n"
        "for module in pkgutil.walk_packages(ops.__path__, 'ops.'):\n"
        "    if module.name != 'ops.__main__':  # it runs the CLI\n"
        "        importlib.import_module(module.name)\n"
        f"repo = Path({str(REPO)!r})\n"
        "files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, '__file__', None)}\n"
        "print(json.dumps(sorted({'.'.join(f.parent.relative_to(repo).parts) for f in files "
        "if f.is_relative_to(repo) and f.parent != repo and not f.relative_to(repo).parts[0].startswith('.')})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert set(json.loads(done.stdout)) == listed
