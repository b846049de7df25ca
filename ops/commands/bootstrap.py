"""The state backend: `make bootstrap` (python -m ops bootstrap ENV)."""

from __future__ import annotations

from ops.arguments import NO_ACCOUNT, Command
from ops.common import Context


def cmd_bootstrap(ctx: Context, args) -> int:
    from ops.bootstrap import Bootstrapper
    from ops.reconcile import apply

    return apply(ctx, Bootstrapper(ctx.config, ctx.session), "bootstrap")


COMMANDS = {
    "bootstrap": Command(
        cmd_bootstrap,
        "Create ENV's Terraform state bucket and lock table (idempotent)",
        "bootstrap test",
        # It compares the account itself, and says more than the guard can:
        # which bucket it would create where.
        account=NO_ACCOUNT,
    ),
}
