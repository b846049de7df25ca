"""The review package runs where the workflows run it: on the runner's bare
`python3`, from the checkout's root, with nothing installed (review/).

* Each `python3 -m review.…` command line is read from the workflow YAML and
  run as written, in bash, on a bare interpreter (tests/support/
  workflow_steps.py `bare_python`: `-E -S`, so neither .venv's nor the
  system's site-packages, nor PYTHONPATH) from a directory that holds what
  `review` may import, on a sample input.
* Every module under review/ is imported with `python3 -I -S` and only the
  repository root on sys.path, each in a fresh interpreter; of this
  repository it may load only `review`, `topology` and the leaf modules
  topology borrows (the stage and record attribute names in
  functions/shared/contract/).
* Both checks catch a planted break in a copy of the package.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from review import plan_binding, plan_files, plan_summary
from tests.conftest import REPO
from tests.support import golden_plans
from tests.support.architecture import ALLOWED_MODULES
from tests.support.workflow_steps import BARE_PYTHON, REVIEW_SEES, bare_python
from topology.environments import ENVIRONMENT_NAMES

WORKFLOWS = REPO / ".github" / "workflows"
HEAD = "c0ffee" + "0" * 34
EMPTY_PLAN = {"format_version": "1.2", "resource_changes": []}
# The call and its arguments, up to what ends a simple command in bash.
CALL = re.compile(r"python3 -m review\.[\w.]+[^;|&<>()\n]*")


@dataclass(frozen=True)
class Call:
    where: str  # workflow, job and step, for the failure message
    line: str  # exactly as the workflow runs it (continuations joined)

    @property
    def key(self) -> str:
        """`review.module` and its subcommand, if any: which sample it needs."""
        words = shlex.split(self.line)[2:4]
        return " ".join(words if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]) else words[:1])


def workflow_calls() -> list[Call]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for entry in job.get("steps", []):
                script = re.sub(r"\\\n\s*", " ", entry.get("run", ""))
                where = f"{path.name} {job_name}: {entry.get('name', entry.get('uses'))}"
                found += [Call(where, match.group().strip()) for match in CALL.finditer(script)]
    return found


def plan_dir(root: Path, name: str, stacks: list[str], plans: dict[str, dict]) -> None:
    (root / name).mkdir()
    for stack in stacks:
        (root / name / f"{stack}.json").write_text(json.dumps(plans.get(stack, EMPTY_PLAN)))


@dataclass
class Sample:
    """What the step before the call leaves, and what the call must answer."""

    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    shell: str = ""  # variables the step's own script sets before the call
    stdin: str = ""
    stdout: str = ""  # a line the answer must hold
    produced: dict[str, str] = field(default_factory=dict)  # file -> text it must hold


def samples(root: Path) -> dict[str, Sample]:
    golden, _ = golden_plans.load()
    production = plan_files.stacks_of(["production"])
    pipeline = "pipeline-production"
    plan_dir(root, "plans", production, {pipeline: golden["unchanged"]})
    plan_dir(root, "drift", plan_files.stacks_of(list(ENVIRONMENT_NAMES)), {pipeline: golden["drift"]})
    comment = plan_summary.MARKER + "\n" + plan_binding.record(HEAD, {pipeline: golden["unchanged"]})
    reviewed = plan_binding.read_record(comment)
    return {
        "review.affected": Sample(stdin="environments/staging.py\ndocs/x.md\n", stdout="staging"),
        "review.plan_summary": Sample(
            files={"plans/environments.txt": "production\n"},
            env={"HEAD_SHA": HEAD},
            produced={"comment.md": plan_summary.MARKER, "labels.txt": "add-or-update"},
        ),
        "review.plan_binding reviewed": Sample(
            files={"reviewed-comment.md": comment}, env={"HEAD_SHA": HEAD}, stdout='["production"]'
        ),
        "review.plan_binding check": Sample(
            files={"reviewed/reviewed.json": json.dumps({"head": HEAD, "stacks": reviewed.stacks})},
            shell=f"stack={pipeline}",
            stdout=f"`{pipeline}`: the plan is the reviewed one",
        ),
        "review.policies.plan": Sample(
            shell=f"plans=(plans/{pipeline}.json)", stdout=f"pass  plans/{pipeline}.json: aws_codepipeline.pipeline"
        ),
        "review.drift_report": Sample(
            env={"RUN_URL": "https://github.com/acme/kiro-pipeline/actions/runs/1"},
            stdout="drift status: drift",
            produced={"status.txt": "drift"},
        ),
    }


def checkout(tmp_path: Path, planted: str | None = None, module: str = "review/_planted.py") -> Path:
    """A root holding what `review` may import (as the runner's checkout
    does), with `review` copied when a break is planted in it."""
    root = tmp_path / "root"
    root.mkdir()
    for package in REVIEW_SEES:
        if planted and package == "review":
            shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / package).symlink_to(REPO / package, target_is_directory=True)
    if planted:
        target = root / module
        # At the end: a module's `from __future__` must stay its first statement.
        target.write_text((target.read_text() if target.exists() else "") + "\n" + planted + "\n")
    return root


def run_call(call: Call, root: Path, sample: Sample) -> subprocess.CompletedProcess:
    """The call as the workflow writes it, in GitHub's bash, with an empty
    environment but for PATH (its python3 the bare one) and the step's env."""
    bin_dir = root.parent / "bin"
    bare_python(bin_dir, root)
    for name, text in sample.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    script = "\n".join(part for part in (sample.shell, call.line) if part)
    return subprocess.run(
        ["env", "-i", f"PATH={bin_dir}:/usr/bin:/bin", *(f"{k}={v}" for k, v in sample.env.items()), "bash"]
        + ["--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=root,
        input=sample.stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


CALLS = workflow_calls()


def test_the_workflows_call_the_review_package():
    keys = {call.key for call in CALLS}
    assert keys == {
        "review.affected",
        "review.plan_summary",
        "review.plan_binding reviewed",
        "review.plan_binding check",
        "review.policies.plan",
        "review.drift_report",
    }
    # Nothing the workflows run is left in tools/ (developer gates only).
    text = "\n".join(path.read_text() for path in WORKFLOWS.glob("*.yml"))
    assert "-m tools." not in text


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_each_workflow_call_runs_on_a_bare_python3_as_written(call, tmp_path):
    root = checkout(tmp_path)
    sample = samples(root)[call.key]
    done = run_call(call, root, sample)
    assert done.returncode == 0, f"{call.where}: {call.line}\n{done.stdout}{done.stderr}"
    assert done.stderr == ""
    assert sample.stdout in done.stdout
    for name, text in sample.produced.items():
        assert text in (root / name).read_text(), name


def test_the_bare_python3_sees_nothing_of_the_venv(tmp_path):
    root = checkout(tmp_path)
    probe = Call("probe", "python3 -c 'import sys; print(sys.path)'")
    done = run_call(probe, root, Sample())
    assert done.returncode == 0, done.stderr
    assert ".venv" not in done.stdout and "site-packages" not in done.stdout
    for installed in ("yaml", "boto3", "cdktf"):  # all three are in .venv
        missing = run_call(Call("probe", f"python3 -c 'import {installed}'"), root, Sample())
        assert missing.returncode == 1 and "ModuleNotFoundError" in missing.stderr, installed


def test_a_stray_import_fails_the_workflow_call(tmp_path):
    (call,) = [c for c in CALLS if c.key == "review.policies.plan"]
    root = checkout(tmp_path, planted="import yaml", module="review/policies/invariants.py")
    done = run_call(call, root, samples(root)[call.key])
    assert done.returncode == 1 and "No module named 'yaml'" in done.stderr


# ---- every module, imported bare ---------------------------------------------

# Imports the module, then names every module of the repository it loaded.
IMPORT = """
import importlib, json, sys
root = sys.argv[1]
sys.path.insert(0, root)
importlib.import_module(sys.argv[2])
ours = sorted(n for n, m in sys.modules.items() if (getattr(m, "__file__", None) or "").startswith(root + "/"))
print(json.dumps(ours))
"""


# The modules topology borrows and the packages that hold them (their
# __init__.py files load with it).
TOPOLOGY_BORROWS = {
    ".".join(name.split(".")[: n + 1]) for name in ALLOWED_MODULES["topology"] for n in range(name.count(".") + 1)
}


def modules_of(root: Path) -> list[str]:
    return sorted(
        ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for path in (root / "review").rglob("*.py")
        if "__pycache__" not in path.parts
    )


def import_breaks(root: Path) -> list[str]:
    """Each module of `root`/review imported by `python3 -I -S` (no site,
    no environment, no working directory) with only `root` on sys.path."""
    breaks = []
    for name in modules_of(root):
        done = subprocess.run(
            [str(BARE_PYTHON), "-I", "-S", "-c", IMPORT, str(root), name],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            breaks.append(f"{name}: {done.stderr.strip().splitlines()[-1]}")
            continue
        loaded = [m for m in json.loads(done.stdout) if m.split(".")[0] not in ("review", "topology")]
        loaded = [m for m in loaded if m not in TOPOLOGY_BORROWS]
        if loaded:
            breaks.append(
                f"{name} loads {', '.join(loaded)}: review may import only review, topology "
                f"and what topology borrows ({', '.join(sorted(ALLOWED_MODULES['topology']))})"
            )
    return breaks


def test_every_review_module_imports_on_a_bare_python3():
    assert len(modules_of(REPO)) >= 10  # the package was found
    assert import_breaks(REPO) == []


@pytest.mark.parametrize(
    "planted, found",
    [
        ("import boto3", "No module named 'boto3'"),
        ("from modules import core", "No module named 'cdktf'"),
        ("import environments", "loads environments"),
        ("from functions.shared import records", "functions.shared.records"),
    ],
)
def test_the_import_check_finds_a_planted_break(tmp_path, planted, found):
    # A copy of the repository's root: review copied with the break, the rest linked.
    root = tmp_path / "root"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name != "review" and not entry.name.startswith("."):
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    shutil.copytree(REPO / "review", root / "review", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "review" / "_planted.py").write_text(planted + "\n")
    (breaks,) = import_breaks(root)
    assert breaks.startswith("review._planted") and found in breaks, breaks
