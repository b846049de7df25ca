"""Checks before a deploy (python -m ops preflight ENV)."""

from __future__ import annotations

from ops.arguments import Command
from ops.aws import EXIT_FAILED
from ops.common import Context


def cmd_preflight(ctx: Context, args) -> int:
    from ops.preflight import Preflight

    checks = Preflight(ctx.config, ctx.session).run()
    failed = [c for c in checks if c.status == "fail"]
    lines = [f"Preflight for {ctx.config.name} (region {ctx.region}):", *[c.line() for c in checks]]
    lines.append("Ready to deploy." if not failed else f"{len(failed)} check(s) failed: fix them before deploying.")
    ctx.emit({"environment": ctx.config.name, "checks": [c.__dict__ for c in checks], "ready": not failed}, lines)
    return EXIT_FAILED if failed else 0


COMMANDS = {
    "preflight": Command(
        cmd_preflight,
        "Checks before a deploy: Terraform, credentials and account, state backend, "
        "no placeholders, deployer roles, GitHub connection",
        "preflight test",
    ),
}
