"""Run a workflow's steps here, as GitHub would run them:

* `run_step`: a `run:` script in a real bash with GitHub's flags
  (`bash --noprofile --norc -eo pipefail`), with `terraform` replaced by a
  stand-in whose answers each test sets per stack, and `python3` a bare
  interpreter (`bare_python`: the standard library and, in the working
  directory, the packages `review` may import; nothing of .venv);
* `run_script`: an `actions/github-script` script in a real Node.js, as the
  body of an async function of `require`, `github`, `context` and `core`
  (what the action passes), with `github` a recorder that answers canned data.

What cannot run here: the actions themselves (checkout, credentials,
artifacts), GitHub's expression engine and the GitHub API. The API calls are
recorded, with their parameters, for the tests to judge.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What the workflows' `python3 -m review.…` may see: the runner's python3
# has nothing installed, and `-m` finds our packages in the working
# directory (the checkout's root there). `review` may import only `topology`
# (tests/test_architecture.py), which borrows one leaf module of functions/
# (the stage and record attribute names: functions/shared/contract/), so a step's
# directory links just these three; tests/test_review_package.py holds what
# loads to exactly review, topology and that module.
REVIEW_SEES = ("review", "topology", "functions")
# The interpreter behind .venv's launcher, started with `-S` (no site: no
# site-packages of .venv or of the system) and `-E` (PYTHONPATH and the other
# PYTHON* variables ignored). Without -I/-P, `-m` still puts the working
# directory first on sys.path, as the runner's `python3 -m` does. Python's
# docs (https://docs.python.org/3/using/cmdline.html): -m "As with the -c
# option, the current directory will be added to the start of sys.path."; -S
# "Disable the import of the module site and the site-dependent manipulations
# of sys.path that it entails."; -E "Ignore all PYTHON* environment
# variables, e.g. PYTHONPATH and PYTHONHOME, that might be set."
BARE_PYTHON = Path(sys.executable).resolve()
BARE_FLAGS = ("-E", "-S")


def bare_python(bin_dir: Path, workdir: Path) -> None:
    """`python3` in `bin_dir` runs bare, and `workdir` holds what it may import."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{BARE_PYTHON}" {" ".join(BARE_FLAGS)} "$@"\n')
    wrapper.chmod(0o755)
    for package in REVIEW_SEES:
        if not (workdir / package).exists():
            (workdir / package).symlink_to(REPO / package, target_is_directory=True)


# The stand-in: `terraform -chdir=DIR CMD ...`. Per stack (DIR's name), a
# file in $FAKE_TF_DIR decides: STACK.init-fails, STACK.plan-fails, STACK.apply-fails,
# STACK.apply-runs (a 10 s apply that records each SIGINT/SIGTERM it gets),
# STACK.plan-exit (the plan's exit code, e.g. 2 for "changes"), STACK.json
# (what `show -json` prints). Every call is logged to $FAKE_TF_DIR/calls.
FAKE_TERRAFORM = r"""#!/usr/bin/env bash
dir="${1#-chdir=}"; shift
stack=$(basename "$dir")
echo "$stack $*" >> "$FAKE_TF_DIR/calls"
case "$1" in
  init) if [ -f "$FAKE_TF_DIR/$stack.init-fails" ]; then
          echo "Error: Failed to get existing workspaces" >&2; exit 1
        fi
        echo "Terraform has been successfully initialized!";;
  plan) if [ -f "$FAKE_TF_DIR/$stack.plan-fails" ]; then echo "Error: Unsupported argument" >&2; exit 1; fi
        for arg in "$@"; do case "$arg" in -out=*) touch "$dir/${arg#-out=}";; esac; done
        exit "$(cat "$FAKE_TF_DIR/$stack.plan-exit" 2>/dev/null || echo 0)";;
  show) if [ "$2" = "-json" ]; then
          cat "$FAKE_TF_DIR/$stack.json" 2>/dev/null || echo '{"format_version":"1.2","resource_changes":[]}'
        else echo "No changes. Your infrastructure matches the configuration."; fi;;
  apply) if [ -f "$FAKE_TF_DIR/$stack.apply-fails" ]; then
           echo "Error: creating CodeBuild Project ($stack-build): AccessDeniedException" >&2; exit 1
         fi
         if [ -f "$FAKE_TF_DIR/$stack.apply-runs" ]; then
           # A long apply that stops gracefully on its first SIGINT (counted),
           # as Terraform does: "Interrupt received. Gracefully shutting down..."
           trap 'echo int >> "$FAKE_TF_DIR/$stack.interrupts"; sleep 1; echo "Error: canceled" >&2; exit 1' INT
           trap 'echo term >> "$FAKE_TF_DIR/$stack.interrupts"' TERM
           touch "$FAKE_TF_DIR/$stack.apply-started"
           for _ in $(seq 100); do sleep 0.1; done
           exit 0
         fi
         echo "Apply complete! ($stack)";;
  *) echo "unexpected: $*" >&2; exit 1;;
esac
"""


@dataclass(frozen=True)
class StepRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    terraform_calls: list[str]


def run_step(
    run: str, workdir: Path, stacks: list[str], env: dict[str, str] | None = None, interrupt_when: Path | None = None
) -> StepRun:
    """`run` in bash, as GitHub runs a step. `interrupt_when`: once that file
    exists, cancel the step as the runner does: "the runner machine sends
    SIGINT/Ctrl-C to the step's entry process ... If the process doesn't exit
    within 7500 ms, the runner will send SIGTERM" (GitHub Actions docs,
    "Canceling a workflow"); here SIGTERM follows after 1 s."""
    bin_dir = workdir / ".bin"
    fake = workdir / ".fake-terraform"
    bare_python(bin_dir, workdir)
    fake.mkdir(exist_ok=True)
    (bin_dir / "terraform").write_text(FAKE_TERRAFORM)
    (bin_dir / "terraform").chmod(0o755)
    for stack in stacks:
        (workdir / "cdktf.out" / "stacks" / stack).mkdir(parents=True, exist_ok=True)
    output = workdir / ".github_output"
    output.write_text("")
    environ = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "FAKE_TF_DIR": str(fake),
        **(env or {}),
    }
    with subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
        cwd=workdir,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        if interrupt_when is not None:
            deadline = time.monotonic() + 60
            while not interrupt_when.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)  # the entry process only, not its group
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
    return StepRun(done.returncode, done.stdout, done.stderr, outputs, calls)


HARNESS = r"""
const fs = require('fs');
const spec = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
Object.assign(process.env, spec.env || {});
const calls = [];
const outputs = {};
let failed = null;
function api(path) {
  return new Proxy(function () {}, {
    get(_, key) {
      if (path === '' && key === 'paginate') {
        return async (fn, params) => (await fn(params)).data;
      }
      return api(path ? `${path}.${String(key)}` : String(key));
    },
    apply(_, __, args) {
      calls.push([path, args[0]]);
      const answer = spec.responses[path];
      return Promise.resolve({ data: answer === undefined ? [] : answer });
    },
  });
}
const core = {
  setOutput: (k, v) => { outputs[k] = String(v); },
  setFailed: (m) => { failed = String(m); },
  info: () => {},
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', spec.script)(require, api(''), spec.context, core)
  .then(() => process.stdout.write(JSON.stringify({ calls, outputs, failed })))
  .catch((error) => { process.stderr.write(String(error.stack || error)); process.exit(1); });
"""


@dataclass(frozen=True)
class ScriptRun:
    calls: list[tuple[str, dict]]
    outputs: dict[str, str]
    failed: str | None

    def called(self, method: str) -> list[dict]:
        return [params for name, params in self.calls if name == method]


def run_script(
    script: str, workdir: Path, context: dict, responses: dict, env: dict[str, str] | None = None
) -> ScriptRun:
    spec = workdir / ".github-script.json"
    full_context = {"repo": {"owner": "acme", "repo": "kiro-pipeline"}, "serverUrl": "https://github.com", **context}
    spec.write_text(json.dumps({"script": script, "context": full_context, "responses": responses, "env": env or {}}))
    done = subprocess.run(
        ["node", "-e", HARNESS, str(spec)], cwd=workdir, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"the script failed in Node.js:\n{done.stderr}")
    result = json.loads(done.stdout)
    return ScriptRun([tuple(c) for c in result["calls"]], result["outputs"], result["failed"])
