"""The configured values as SSM parameters (python -m ops setup-parameters ENV)."""

from __future__ import annotations

import argparse

from ops.arguments import Command
from ops.common import Context
from ops.ledger_runs import record_run
from ops.values import email, github_owner, github_repo
from topology import naming


def parameter_path(environment: str) -> str:
    """Where the environment's parameters live (`ops changes` describes them there)."""
    return f"/{naming.PROJECT}/{environment}"


def _parameter_names(ctx: Context) -> dict[str, str]:
    prefix = parameter_path(ctx.config.name)
    return {key: f"{prefix}/{key}" for key in ("github-owner", "github-repo", "notification-email")}


def cmd_setup_parameters(ctx: Context, args) -> int:
    ssm, names = ctx.client("ssm"), _parameter_names(ctx)
    if args.show:
        path = parameter_path(ctx.config.name)
        found = {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path=path)["Parameters"]}
        ctx.emit(found, [f"{name} = {found.get(name, '(not set)')}" for name in names.values()])
        return 0
    values = {
        "github-owner": args.github_owner or ctx.config.github.owner,
        "github-repo": args.github_repo or ctx.config.github.repo,
        "notification-email": args.notification_email or ctx.config.notification_email,
    }
    # Each value passed its rule before this: a given one by its argument's
    # type (the configuration's own rule), a configured one when it loaded.
    configured = {
        "github-owner": ctx.config.github.owner,
        "github-repo": ctx.config.github.repo,
        "notification-email": ctx.config.notification_email,
    }
    # Read before writing, only to say in the ledger which names changed
    # (ops/ledger_runs.py records names, never values).
    path = parameter_path(ctx.config.name)
    before = {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path=path)["Parameters"]}
    for key, value in values.items():
        ssm.put_parameter(Name=names[key], Value=value, Type="String", Overwrite=True)
    # An export for other tools: the pipeline reads environments/{env}.py,
    # never these parameters, so a value that differs changes nothing.
    lines = [f"exported {names[k]} = {v}" for k, v in values.items()]
    lines += [
        f"! {names[k]} = {v!r} differs from the configuration ({configured[k]!r}); the pipeline uses the "
        f"configuration: change environments/{ctx.config.name}.py and redeploy to change it"
        for k, v in values.items()
        if v != configured[k]
    ]
    ctx.emit({names[k]: v for k, v in values.items()}, lines)
    changed = [
        f"{names[k]}: {'set' if names[k] in before else 'created'}"
        for k, v in values.items()
        if before.get(names[k]) != v
    ]
    record_run(ctx, "setup-parameters", changed)
    return 0


def arguments_setup_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", action="store_true", help="print the current values")
    # The configuration's rules for github.owner, github.repo and
    # notification_email: nothing is exported that the configuration would refuse.
    parser.add_argument("--github-owner", type=github_owner)
    parser.add_argument("--github-repo", type=github_repo)
    parser.add_argument("--notification-email", type=email)


COMMANDS = {
    "setup-parameters": Command(
        cmd_setup_parameters,
        "Export the configured values as SSM parameters for other tools "
        "(the pipeline reads its configuration, not these), or --show them",
        "setup-parameters test",
        arguments=arguments_setup_parameters,
    ),
}
