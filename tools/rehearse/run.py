"""The order of a rehearsal: the server, what a user runs before the stacks,
the stacks in turn (the previous version's first, on an upgrade), then the
probe round, `ops validate`, and `then`, while the server still runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from environments import load
from tools.rehearse.results import Rehearsal, Site
from tools.rehearse.server import MotoServer, aws_environment, run_python
from tools.rehearse.stack import rehearse_stack
from tools.rehearse.user_steps import before_stacks, deployer_trust, probe_once
from tools.terraform_cli import REPO, configure, find_provider_source, find_terraform
from topology import naming

SCRATCH = REPO / ".make" / "rehearsal"


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
        rehearsal.deployer_roles, rehearsal.deployer_trust_problems = deployer_trust(config, server.url)
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
        rehearsal.probe_result = probe_once(config, server.url, env_vars)
        checked = run_python(["-m", "ops", "validate", env], env_vars)
        rehearsal.validate_output, rehearsal.validate_code = checked.stdout + checked.stderr, checked.returncode
        if then:
            rehearsal.then_result = then(Site(terraform, scratch_root, server.url, env_vars))
    rehearsal.seconds = time.monotonic() - started
    return rehearsal
