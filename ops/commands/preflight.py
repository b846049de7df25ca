"""Checks before a deploy (python -m ops preflight ENV [--target-profile ACCOUNT=PROFILE ...])."""

from __future__ import annotations

import argparse
import re

from ops import common
from ops.arguments import NO_ACCOUNT, Command
from ops.aws import EXIT_FAILED, EXIT_USAGE, OpsError
from ops.common import Context

ACCOUNT = re.compile(r"\d{12}", re.ASCII)


def target_profile(text: str) -> tuple[str, str]:
    """An argparse type: ACCOUNT=PROFILE, a 12-digit account and a profile name."""
    account, sep, profile = text.partition("=")
    if not sep or not ACCOUNT.fullmatch(account) or not profile.strip() or profile != profile.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ACCOUNT=PROFILE, such as 210987654321=prod (a 12-digit account and an AWS CLI profile)"
        )
    return account, profile


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target-profile",
        dest="target_profiles",
        type=target_profile,
        action="append",
        default=[],
        metavar="ACCOUNT=PROFILE",
        help="check a deploy target's account (its CDK bootstrap, its deployer role) with that profile; repeatable",
    )


def target_access(ctx: Context, named: list[tuple[str, str]]) -> dict:
    """The sessions of --target-profile, each for a target's account: checked
    before any call, so a wrong account or profile is a usage error."""
    from ops.preflight import TargetAccess

    accounts = sorted({t.role_arn.split(":")[4] for t in ctx.config.deploy_targets})
    access: dict[str, TargetAccess] = {}
    for account, profile in named:
        if account not in accounts:
            raise OpsError(
                f"--target-profile {account}={profile}: no deploy target of {ctx.config.name} is in account "
                f"{account}; its targets are in {', '.join(accounts)}",
                EXIT_USAGE,
            )
        if account in access:
            twice = f"--target-profile {account}: named twice ({access[account].profile}, {profile})"
            raise OpsError(twice, EXIT_USAGE)
        try:
            access[account] = TargetAccess(profile, common.session(ctx.region, profile))
        except OpsError as error:  # a profile that is not configured
            raise OpsError(f"--target-profile {account}={profile}: {error}", error.exit_code) from None
    return access


def cmd_preflight(ctx: Context, args) -> int:
    from ops.preflight import Preflight

    targets = target_access(ctx, args.target_profiles)
    checks = Preflight(ctx.config, ctx.session, targets).run()
    failed = [c for c in checks if c.status == "fail"]
    lines = [f"Preflight for {ctx.config.name} (region {ctx.region}):", *[c.line() for c in checks]]
    lines.append("Ready to deploy." if not failed else f"{len(failed)} check(s) failed: fix them before deploying.")
    ctx.emit({"environment": ctx.config.name, "checks": [c.__dict__ for c in checks], "ready": not failed}, lines)
    return EXIT_FAILED if failed else 0


COMMANDS = {
    "preflight": Command(
        cmd_preflight,
        "Checks before a deploy: Terraform and the pinned provider, credentials and account, state backend, "
        "no placeholders, Lambda concurrency, CodeBuild quota, GitHub connection, deployer roles, "
        "each target account's CDK bootstrap",
        "preflight test --target-profile 210987654321=prod",
        arguments,
        # Preflight compares the credentials' account itself: a wrong account
        # is one ✗ line among the others, not a refusal before any check.
        account=NO_ACCOUNT,
    ),
}
