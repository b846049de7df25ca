"""`make rehearse ENV=test`: deploy an environment for real, with real
Terraform and the real hashicorp/aws provider, against a moto server on
127.0.0.1, then prove that a second plan is clean and `ops validate` agrees.

    python -m tools.rehearse ENV [--stacks-dir cdktf.out/stacks] [--scratch-dir DIR] [--upgrade-from [REV]]

With `--upgrade-from` (`make rehearse-upgrade`), the previous version REV
(default: the last release in RELEASES, tools/previous_version.py) is deployed
first, and this version over it: its plans must destroy or replace nothing.

1. Start a moto server on a free loopback port, in the environment's own
   AWS account (moto's MOTO_ACCOUNT_ID), so that a team's real account id
   rehearses as the fixtures' does.
2. In the order docs/first-deployment.md gives (and preflight expects), before
   any stack: `python -m ops bootstrap ENV`, then `python -m ops
   deployer-roles ENV`, which needs none of the pipeline's roles to exist
   (ops/deployers.py). Their trust is read back and judged as preflight does.
3. core, pipeline, monitoring in turn: `terraform init` with the synthesized
   S3 backend, `plan`, `apply`. Remote-state reads go through that backend.
4. A second `terraform plan -detailed-exitcode` per stack must show nothing
   but the known emulator artifacts (`emulator.KNOWN_ARTIFACTS`).
5. `python -m ops validate ENV` against the same server.

Everything the emulator cannot do is decided in one place, tools/emulator.py:
the scratch copies (`.make/rehearsal/<stack>`) get endpoint overrides and the
listed workarounds; cdktf.out/ is never changed. The server is stopped by PID
when the run ends, failed, interrupted (Ctrl-C: exit 130, one line) or not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from environments import ConfigError, UnknownEnvironmentError, load
from ops import deployers, iam_roles
from tools import emulator, previous_version
from tools.terraform_cli import (
    REPO,
    Terraform,
    configure,
    find_provider_source,
    find_terraform,
    pinned_provider_version,
    relax_provider_pin,
)
from topology import naming

SCRATCH = REPO / ".make" / "rehearsal"
STACK_FILE = "cdk.tf.json"
NO_INPUT = ("-input=false", "-no-color")


class RehearsalFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Site:
    """A rehearsal still running: what `rehearse(then=...)` gets, to plan
    against the deployed state before the server stops. Each stack's scratch
    copy is `scratch_root / stack`, initialized, its state in the server."""

    terraform: Terraform
    scratch_root: Path
    url: str
    env_vars: dict[str, str]


@dataclass
class StackReport:
    stack: str
    planned: int = 0
    applied: int = 0
    not_emulated: dict[str, str] = field(default_factory=dict)  # address -> why
    # Planned updates the emulator cannot apply (an upgrade's): address -> why.
    not_updated: dict[str, str] = field(default_factory=dict)
    second_plan: list[str] = field(default_factory=list)  # unexpected changes
    artifacts: list[str] = field(default_factory=list)  # known emulator artifacts seen
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # terraform command -> seconds
    plan_json: dict | None = None  # `terraform show -json` of the full plan
    plan_text: str = ""  # its `terraform plan` output, with Terraform's "Plan:" line

    @property
    def destroyed(self) -> list[str]:
        """What the full plan destroys or replaces: on an upgrade, a lost resource (and its state)."""
        return [
            f"{c['address']}: {'/'.join(c['change']['actions'])}"
            for c in _changes(self.plan_json or {})
            if "delete" in c["change"]["actions"]
        ]


@dataclass
class Rehearsal:
    env: str
    reports: list[StackReport] = field(default_factory=list)
    validate_output: str = ""
    validate_code: int | None = None
    seconds: float = 0.0
    server_pid: int | None = None
    deployer_roles: dict[str, str] = field(default_factory=dict)  # role name -> the role its trust admits
    # What preflight would say about those roles' trust (ops/deployers.trust_problems).
    deployer_trust_problems: list[str] = field(default_factory=list)
    probe_result: dict = field(default_factory=dict)  # one health-probe round, run with the deployed settings
    # `ops preflight`, run where a user runs it: after bootstrap and deployer roles, before the stacks.
    preflight_output: str = ""
    preflight_code: int | None = None
    # An upgrade rehearsal: the previous version's stacks, applied first.
    previous: str | None = None
    previous_reports: list[StackReport] = field(default_factory=list)
    # What `rehearse(then=...)` returned.
    then_result: object = None

    @property
    def upgrade_destroys(self) -> list[str]:
        """On an upgrade, what this version's plans destroy or replace in the previous version's state."""
        if not self.previous:
            return []
        return [f"{r.stack}: {d}" for r in self.reports for d in r.destroyed]

    @property
    def not_emulated_types(self) -> set[str]:
        return {address.split(".")[0] for r in self.reports for address in r.not_emulated}

    @property
    def held_types(self) -> set[str]:
        """Types with a resource the emulator did not create, or did not update."""
        return self.not_emulated_types | {address.split(".")[0] for r in self.reports for address in r.not_updated}

    @property
    def validate_failures(self) -> list[str]:
        """`ops validate` ✗ lines that the emulator does not explain."""
        unexplained = []
        for line in self.validate_output.splitlines():
            if line.startswith("✗"):
                label = line[2:]
                kinds = [k for prefix, k in emulator.NOT_EMULATED_CHECKS.items() if label.startswith(prefix)]
                if not (kinds and set(kinds) <= self.held_types):
                    unexplained.append(line)
        return unexplained

    @property
    def preflight_failures(self) -> list[str]:
        """Preflight ✗ lines that neither the emulator nor this machine explains
        (emulator.PREFLIGHT_NOT_EMULATED). Reported, not part of `ok`: the
        test fixtures' sample values are placeholders preflight refuses, as it
        should; the newcomer test (tests/test_newcomer.py) holds a team's
        values to none."""
        return [
            line
            for line in self.preflight_output.splitlines()
            if line.startswith("✗") and not any(line[2:].startswith(p) for p in emulator.PREFLIGHT_NOT_EMULATED)
        ]

    @property
    def ok(self) -> bool:
        return (
            self.validate_code is not None
            and not self.validate_failures
            and not self.deployer_trust_problems
            and all(not r.second_plan for r in self.reports + self.previous_reports)
            and not self.upgrade_destroys
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """A moto server process on 127.0.0.1, stopped by PID on exit. With
    `account`, every request is served in that AWS account instead of moto's
    default 123456789012. moto's documentation, "Multi-Account support"
    (https://docs.getmoto.org/en/latest/docs/multi_account.html): "It is
    possible to configure the default account ID that will be used for all
    incoming requests, by setting the environment variable MOTO_ACCOUNT_ID."
    It is read per request (moto/core/responses.py), so the server process
    gets it in its environment."""

    def __init__(self, log: Path | None = None, account: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = log  # the server's request log, to diagnose a hang or a lost answer
        self.account = account
        self._output = None

    def __enter__(self) -> MotoServer:
        self._output = open(self.log, "w") if self.log else None  # noqa: SIM115 - closed in stop()
        environ = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        if self.account:
            environ["MOTO_ACCOUNT_ID"] = self.account
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches the rehearsal,
            # which stops the server itself (stop()), after what still uses it.
            start_new_session=True,
            cwd=REPO,  # `-m tools.moto_server`
            env=environ,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()  # noqa: S310 - our own http://127.0.0.1
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RehearsalFailed(f"moto server exited with {self.process.returncode}") from None
                time.sleep(0.2)
        self.stop()
        raise RehearsalFailed("moto server did not answer within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._output:
            self._output.close()

    def __exit__(self, *exc) -> None:
        self.stop()


def aws_environment(url: str, region: str) -> dict[str, str]:
    """Fake credentials and the server's endpoint: nothing can reach AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300
    )


def _changes(plan: dict) -> list[dict]:
    return [c for c in plan.get("resource_changes", []) if c["change"]["actions"] not in (["no-op"], ["read"])]


_LOCK_ID = re.compile(r"Lock Info:\s+ID:\s+([0-9a-f-]{36})")


def _own_stale_lock(result) -> str | None:
    """The ID of a lock that a failed lock acquisition reports, when the
    failure is the conditional check on it (a retried PutItem of our own)."""
    text = result.stderr + result.stdout
    if result.code == 0 or "Error acquiring the state lock" not in text or "ConditionalCheckFailed" not in text:
        return None
    found = _LOCK_ID.search(text)
    return found.group(1) if found else None


# A Lambda function that a retried CreateFunction finds already made: moto was
# slow to answer the first call, the SDK retried, the first had succeeded.
_CREATED_TWICE = re.compile(
    r"ResourceConflictException: Function already exist: (?P<name>[\w-]+)"
    r".*?with (?P<address>aws_lambda_function\.[\w-]+),",
    re.DOTALL,
)


def _created_twice(result) -> tuple[str, str] | None:
    """(address, function name) when an apply failed only because its own
    retried CreateFunction found the function its first call made."""
    found = _CREATED_TWICE.search(result.stderr + result.stdout) if result.code else None
    return (found.group("address"), found.group("name")) if found else None


def _run_terraform(terraform: Terraform, scratch: Path, report: StackReport, *args: str):
    """One Terraform command. A slow emulator can lose the answer to
    Terraform's lock PutItem; the SDK's retry then finds Terraform's own lock
    and fails. That lock (ours, made by this very command) is released and the
    command run once more, and the report says so."""
    result = terraform.run(scratch, *args)
    stale = _own_stale_lock(result)
    if stale:
        terraform.run(scratch, "force-unlock", "-force", stale)
        report.artifacts.append(f"released a lock the emulator's lost answer left behind ({args[0]})")
        result = terraform.run(scratch, *args)
    twice = _created_twice(result) if args[0] == "apply" else None
    if twice:
        # What the lost answer made is taken into the state, as an operator would import it.
        terraform.run(scratch, "import", "-input=false", "-no-color", *twice)
        report.artifacts.append(f"imported {twice[0]}, made by a CreateFunction whose answer the emulator lost")
        result = terraform.run(scratch, *args)
    return result


def _exclusions(report: StackReport, patched: dict) -> dict[str, str]:
    """What the apply leaves out: what is not emulated, the updates the
    emulator cannot apply, and what depends on those (listed in the report
    when it has changes of its own)."""
    unappliable = emulator.unappliable_updates(report.plan_json)
    held = emulator.dependents(patched, unappliable, "whose update the emulator cannot apply")
    changing = {c["address"] for c in _changes(report.plan_json)}
    report.not_updated = {**unappliable, **{a: why for a, why in held.items() if a in changing}}
    return {**report.not_emulated, **unappliable, **held}


def rehearse_stack(
    terraform: Terraform, source, stack_dir: Path, scratch: Path, url: str, log, replan: bool = True
) -> StackReport:
    """Init, plan, apply and (with `replan`) plan again: one stack."""
    started = time.monotonic()
    report = StackReport(stack_dir.name)
    config = json.loads((stack_dir / STACK_FILE).read_text())
    pinned = pinned_provider_version(config)
    version = source.version_for(pinned)
    if version != pinned:
        config = relax_provider_pin(config, version)
    patched, report.not_emulated = emulator.patch(config, url)
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(stack_dir, scratch)
    (scratch / STACK_FILE).write_text(json.dumps(patched, indent=2, sort_keys=True))

    def run(*args: str, ok=(0,)):
        begun = time.monotonic()
        result = _run_terraform(terraform, scratch, report, *args)
        report.phases[args[0]] = report.phases.get(args[0], 0.0) + time.monotonic() - begun
        if result.code not in ok:
            raise RehearsalFailed(
                f"{report.stack}: terraform {args[0]} failed:\n{result.stderr.strip() or result.stdout[-3000:]}"
            )
        return result

    run("init", *NO_INPUT)
    # The full plan, including what the emulator cannot create.
    full = run("plan", "-out=full.tfplan", *NO_INPUT)
    report.plan_json = json.loads(run("show", "-json", "full.tfplan").stdout)
    report.plan_text = full.stdout
    report.planned = len(_changes(report.plan_json))
    # Only what the emulator can create, when something is not emulated.
    excluded = _exclusions(report, patched)
    targets = [f"-target={t}" for t in emulator.apply_targets(patched, excluded)] if excluded else []
    fast = _fast_path(report, patched, excluded)
    first_targets = [f"-target={t}" for t in emulator.apply_targets(patched, {**excluded, **fast})]
    applied = run("apply", "-auto-approve", *NO_INPUT, *(first_targets if fast else targets))
    (scratch / "apply.log").write_text(applied.stdout)
    if fast:
        _import_fast_created(fast, scratch, url, patched, run)
    report.applied = _managed_instances(json.loads(run("state", "pull").stdout))
    log(
        f"  {report.stack}: applied {report.applied} of {report.planned} resources"
        + (f"; not emulated: {len(report.not_emulated)}" if report.not_emulated else "")
        + (f"; updates the emulator cannot apply: {len(report.not_updated)}" if report.not_updated else "")
    )

    if replan:
        _replan(report, run, targets)
    report.seconds = time.monotonic() - started
    log(f"    {report.seconds:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.phases.items()))
    return report


def _replan(report: StackReport, run, targets: list[str]) -> None:
    """The second plan: anything but a known emulator artifact is a perpetual diff."""
    second = run("plan", "-detailed-exitcode", "-out=second.tfplan", *NO_INPUT, *targets, ok=(0, 2))
    if second.code != 2:
        return
    plan = json.loads(run("show", "-json", "second.tfplan").stdout)
    for change in _changes(plan):
        if change["address"] in report.not_emulated:
            continue
        artifact = emulator.known_artifact(change)
        if artifact:
            report.artifacts.append(f"{change['address']}: {artifact}")
        else:
            report.second_plan.append(f"{change['address']}: {change['change']['actions']} {_diff(change)}")


def _fast_path(report: StackReport, patched: dict, excluded: dict[str, str]) -> dict:
    """The slow creates (emulator.SLOW_TO_CREATE) this plan makes, that
    nothing else depends on: made through the API and imported instead."""
    creates = {c["address"] for c in _changes(report.plan_json) if c["change"]["actions"] == ["create"]}
    fast = {a: v for a, v in emulator.fast_created(patched).items() if a in creates and a not in excluded}
    held = emulator.dependents(patched, dict.fromkeys(fast, ""), "")
    return {} if held else fast


def _import_fast_created(fast: dict, scratch: Path, url: str, patched: dict, run) -> None:
    """Create the fast-path resources on the server, and take them into the
    state with one apply of `import` blocks (removed again afterwards)."""
    state = json.loads(run("state", "pull").stdout)
    buckets = {
        r["name"]: r["instances"][0]["attributes"]["bucket"]
        for r in state.get("resources", [])
        if r.get("mode") == "managed" and r["type"] == "aws_s3_bucket"
    }
    region = patched["provider"]["aws"][0]["region"]
    path = scratch / STACK_FILE
    original = path.read_text()
    with_imports = json.loads(original)
    with_imports["import"] = emulator.fast_create(fast, buckets, url, region)
    path.write_text(json.dumps(with_imports, indent=2, sort_keys=True))
    try:
        run("apply", "-auto-approve", *NO_INPUT, *(f"-target={a}" for a in sorted(fast)))
    finally:
        path.write_text(original)


def _managed_instances(state: dict) -> int:
    """Managed resource instances in a raw state (`terraform state pull`,
    which starts no provider, unlike `terraform show -json`)."""
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")


def _diff(change: dict) -> str:
    before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return ", ".join(f"{k}: {json.dumps(before.get(k))[:60]} -> {json.dumps(after.get(k))[:60]}" for k in keys)


def _deployer_trust(config, url: str) -> tuple[dict[str, str], list[str]]:
    """Each deployer role on the server with the role its trust admits (the
    `aws:PrincipalArn` it names), and what preflight would find wrong with
    that trust (ops/deployers.trust_problems)."""
    iam = boto3.client(
        "iam", endpoint_url=url, region_name=config.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    admitted, problems = {}, []
    for target in config.deploy_targets:
        name = target.role_arn.split("/")[-1]
        role = iam.get_role(RoleName=name)["Role"]
        problems += deployers.trust_problems(config, target, role)
        statements = iam_roles.document(role["AssumeRolePolicyDocument"]).get("Statement", [])
        first = (statements[:1] if isinstance(statements, list) else [statements]) or [{}]
        admitted[name] = first[0].get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", "?")
    return admitted, problems


def before_stacks(env: str, config, url: str, env_vars: dict[str, str]) -> subprocess.CompletedProcess:
    """What a user runs before `make deploy` (docs/first-deployment.md), as
    they run it: the state backend, then the deployer roles, which trust the
    pipeline's account and so need none of its roles yet, then preflight
    (returned: its ✗ lines are judged against emulator.PREFLIGHT_NOT_EMULATED)."""
    boot = _python(["-m", "ops", "bootstrap", env], env_vars)
    if boot.returncode != 0:
        raise RehearsalFailed(f"ops bootstrap failed:\n{boot.stdout}{boot.stderr}")
    emulator.prepare_backend(config, url)
    roles = _python(["-m", "ops", "deployer-roles", env], env_vars)
    if roles.returncode != 0:
        raise RehearsalFailed(f"ops deployer-roles failed:\n{roles.stdout}{roles.stderr}")
    return _python(["-m", "ops", "preflight", env], env_vars)


def _probe_once(config, url: str, env_vars: dict[str, str]) -> dict:
    """moto stores functions but never runs them: run one round of the health
    probe's handler here, with the deployed function's own environment, as its
    schedule would; `ops validate` then sees its data. The targets' example
    URLs do not resolve here, so every target reports 0, quickly (timeout
    lowered to 2 s for the same reason)."""
    lambda_ = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=config.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = config.names.lambda_function("health-probe")
    variables = lambda_.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    run = _python(
        ["-c", "import json; from functions.health_probe import handler; print(json.dumps(handler.handler({})))"],
        {**env_vars, **variables, "TIMEOUT_SECONDS": "2", "PYTHONPATH": str(REPO)},
    )
    if run.returncode != 0:
        raise RehearsalFailed(f"the health probe's round failed:\n{run.stdout}{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def rehearse(
    env: str,
    stacks_dir: Path,
    scratch_root: Path = SCRATCH,
    log=print,
    previous: tuple[str, Path] | None = None,
    then: Callable[[Site], object] | None = None,
) -> Rehearsal:
    """Deploy `env` from `stacks_dir` to a fresh moto server. With `previous`
    (a label and its stacks directory), deploy that version first and this one
    over it, as an upgrade: this version's plans run against the previous
    version's state and must destroy or replace nothing."""
    started = time.monotonic()
    config = load(env)
    terraform = find_terraform()
    source = find_provider_source()
    configure(terraform, source, scratch_root)
    rehearsal = Rehearsal(env)
    log(f"rehearsal of {env}: {terraform.description}; hashicorp/aws from {source.description}")
    scratch_root.mkdir(parents=True, exist_ok=True)
    with MotoServer(log=scratch_root / "moto-server.log", account=config.account_id) as server:
        env_vars = aws_environment(server.url, config.region)
        terraform.environ.update(env_vars)
        rehearsal.server_pid = server.process.pid
        log(f"  moto server pid {server.process.pid} on {server.url}, account {config.account_id}")
        preflight = before_stacks(env, config, server.url, env_vars)
        rehearsal.preflight_output, rehearsal.preflight_code = preflight.stdout + preflight.stderr, preflight.returncode
        rehearsal.deployer_roles, rehearsal.deployer_trust_problems = _deployer_trust(config, server.url)
        if previous:
            rehearsal.previous = previous[0]
            log(f"  the previous version, {previous[0]}, first:")
            for concern in naming.STACK_CONCERNS:
                stack = naming.stack_id(concern, env)
                rehearsal.previous_reports.append(
                    # Its own second plan was its own gate; this version's are the upgrade's.
                    rehearse_stack(
                        terraform, source, previous[1] / stack, scratch_root / stack, server.url, log, replan=False
                    )
                )
            log("  this version over it:")
        for concern in naming.STACK_CONCERNS:
            stack = naming.stack_id(concern, env)
            rehearsal.reports.append(
                rehearse_stack(terraform, source, stacks_dir / stack, scratch_root / stack, server.url, log)
            )
        rehearsal.probe_result = _probe_once(config, server.url, env_vars)
        checked = _python(["-m", "ops", "validate", env], env_vars)
        rehearsal.validate_output, rehearsal.validate_code = checked.stdout + checked.stderr, checked.returncode
        if then:
            rehearsal.then_result = then(Site(terraform, scratch_root, server.url, env_vars))
    rehearsal.seconds = time.monotonic() - started
    return rehearsal


def summary(rehearsal: Rehearsal) -> str:
    lines = []
    if rehearsal.previous:
        lines.append(f"upgrade from {rehearsal.previous}: this version's plans against that version's state")
        changed = sum(r.planned for r in rehearsal.reports)
        lines.append(f"  {changed} resource changes planned; destroyed or replaced: {len(rehearsal.upgrade_destroys)}")
        lines.extend(f"  DESTROYS {d}" for d in rehearsal.upgrade_destroys)
        not_updated = [f"{r.stack}: {a}: {why}" for r in rehearsal.reports for a, why in sorted(r.not_updated.items())]
        if not_updated:
            lines.append("  planned updates the emulator cannot apply (planned and reviewed, not applied):")
            lines.extend(f"    {line}" for line in not_updated)
    planned = sum(r.planned for r in rehearsal.reports)
    applied = sum(r.applied for r in rehearsal.reports)
    not_emulated = {}
    for report in rehearsal.reports:
        for address, why in report.not_emulated.items():
            not_emulated.setdefault(address.split(".")[0], why)
    if rehearsal.previous:
        # Over a previous version, a plan counts changes, not resources.
        lines.append(f"{applied} resources in state after {planned} planned changes, in {rehearsal.seconds:.0f} s")
        for report in rehearsal.reports:
            lines.append(
                f"  {report.stack}: {report.applied} in state, {report.planned} changes ({report.seconds:.0f} s)"
            )
    else:
        lines.append(f"applied {applied} of {planned} resources in {rehearsal.seconds:.0f} s")
        for report in rehearsal.reports:
            lines.append(f"  {report.stack}: applied {report.applied} of {report.planned} ({report.seconds:.0f} s)")
    if not_emulated:
        lines.append("not emulated (planned, not applied):")
        lines.extend(f"  {kind}: {why}" for kind, why in sorted(not_emulated.items()))
    artifacts = [a for r in rehearsal.reports for a in r.artifacts]
    if artifacts:
        lines.append(
            "second plan: known emulator artifacts only:"
            if not any(r.second_plan for r in rehearsal.reports)
            else "second plan: known emulator artifacts:"
        )
        lines.extend(f"  {a}" for a in artifacts)
    unexpected = [f"{r.stack}: {c}" for r in rehearsal.reports for c in r.second_plan]
    if unexpected:
        lines.append("second plan: UNEXPECTED CHANGES (a perpetual diff is a defect):")
        lines.extend(f"  {c}" for c in unexpected)
    else:
        lines.append("second plan: clean on every stack")
    lines.extend(_user_commands(rehearsal))
    lines.append("rehearsal " + ("passed" if rehearsal.ok else "FAILED"))
    return "\n".join(lines)


def _user_commands(rehearsal: Rehearsal) -> list[str]:
    """What the user's own commands said: deployer roles and preflight before
    the stacks, the probe and `ops validate` after."""
    lines = ["deployer roles (ops deployer-roles, before the stacks):"]
    lines.extend(f"  {name}: assumable only by {role}" for name, role in sorted(rehearsal.deployer_roles.items()))
    lines.extend(f"  TRUST: {problem}" for problem in rehearsal.deployer_trust_problems)
    lines.append(f"ops preflight {rehearsal.env}, before the stacks (exit {rehearsal.preflight_code}):")
    lines.extend(f"  {line[:160]}" for line in rehearsal.preflight_output.splitlines() if line[:1] in "✓✗!")
    lines.append(f"health probe, one round with the deployed settings: {json.dumps(rehearsal.probe_result)}")
    lines.append(
        f"ops validate {rehearsal.env} (exit {rehearsal.validate_code}; a ✗ on a resource that is not "
        "emulated is expected):"
    )
    lines.extend(f"  {line}" for line in rehearsal.validate_output.strip().splitlines() if line[:1] in "✓✗")
    if rehearsal.validate_failures:
        lines.append("ops validate: UNEXPECTED FAILURES:")
        lines.extend(f"  {line}" for line in rehearsal.validate_failures)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearse", description=__doc__.split("\n\n")[0])
    parser.add_argument("env")
    parser.add_argument("--stacks-dir", type=Path, default=REPO / "cdktf.out" / "stacks")
    parser.add_argument(
        "--scratch-dir", type=Path, default=SCRATCH, help="the scratch copies' directory (default: .make/rehearsal)"
    )
    parser.add_argument(
        "--upgrade-from",
        metavar="REV",
        nargs="?",
        const="",
        help="deploy the previous version REV first (default: the last release in RELEASES); nothing may be destroyed",
    )
    args = parser.parse_args(argv)
    try:
        previous = None
        if args.upgrade_from is not None:
            revision = args.upgrade_from or previous_version.default_revision()
            previous = (revision, previous_version.synthesize(revision))
        rehearsal = rehearse(args.env, args.stacks_dir, args.scratch_dir, previous=previous)
    except (previous_version.PreviousVersionUnavailable, ConfigError, UnknownEnvironmentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RehearsalFailed as error:
        print(f"rehearsal FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # By now every `with` has run: Terraform's process group is killed
        # (tools/terraform_cli.py), `ops` children with it (subprocess.run),
        # and the moto server stopped by PID (MotoServer.stop). Nothing runs
        # on AWS: the rehearsal only ever talks to its own server.
        print("rehearsal interrupted: stopped the terraform and moto server processes it started", file=sys.stderr)
        return 130
    print(summary(rehearsal))
    return 0 if rehearsal.ok else 1


if __name__ == "__main__":
    sys.exit(main())
