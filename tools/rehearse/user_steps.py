"""What a user runs around the stacks, run as they run it against the
server: before them `ops bootstrap`, `ops deployer-roles` and `ops
preflight` (docs/first-deployment.md), with the deployer roles' trust read
back; after them one round of the health probe, which moto never runs
(emulator.health_probe_round)."""

from __future__ import annotations

import json
import subprocess

from ops import deployers, iam_roles
from tools import emulator
from tools.rehearse.results import RehearsalFailed
from tools.rehearse.server import run_python


def before_stacks(env: str, config, url: str, env_vars: dict[str, str]) -> subprocess.CompletedProcess:
    """What a user runs before `make deploy` (docs/first-deployment.md), as
    they run it: the state backend, then the deployer roles, which trust the
    pipeline's account and so need none of its roles yet, then preflight
    (returned: its ✗ lines are judged against emulator.PREFLIGHT_NOT_EMULATED)."""
    boot = run_python(["-m", "ops", "bootstrap", env], env_vars)
    if boot.returncode != 0:
        raise RehearsalFailed(f"ops bootstrap failed:\n{boot.stdout}{boot.stderr}")
    emulator.prepare_backend(config, url)
    roles = run_python(["-m", "ops", "deployer-roles", env], env_vars)
    if roles.returncode != 0:
        raise RehearsalFailed(f"ops deployer-roles failed:\n{roles.stdout}{roles.stderr}")
    return run_python(["-m", "ops", "preflight", env], env_vars)


def deployer_trust(config, url: str) -> tuple[dict[str, str], list[str]]:
    """Each deployer role on the server with the role its trust admits (the
    `aws:PrincipalArn` it names), and what preflight would find wrong with
    that trust (ops/deployers.trust_problems)."""
    iam = emulator.client("iam", url, config.region)
    admitted, problems = {}, []
    for target in config.deploy_targets:
        name = target.role_arn.split("/")[-1]
        role = iam.get_role(RoleName=name)["Role"]
        problems += deployers.trust_problems(config, target, role)
        statements = iam_roles.document(role["AssumeRolePolicyDocument"]).get("Statement", [])
        first = (statements[:1] if isinstance(statements, list) else [statements]) or [{}]
        admitted[name] = first[0].get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", "?")
    return admitted, problems


def probe_once(config, url: str, env_vars: dict[str, str]) -> dict:
    """One round of the health probe with the deployed settings, and what it returned."""
    run = emulator.health_probe_round(config, url, env_vars, run_python)
    if run.returncode != 0:
        raise RehearsalFailed(f"the health probe's round failed:\n{run.stdout}{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])
