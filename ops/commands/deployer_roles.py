"""The roles the deploy projects assume (python -m ops deployer-roles ENV)."""

from __future__ import annotations

from ops.arguments import TARGET_ACCOUNT, Command
from ops.common import Context


def cmd_deployer_roles(ctx: Context, args) -> int:
    from ops.deployers import DeployerRoles
    from ops.reconcile import apply

    return apply(ctx, DeployerRoles(ctx.config, ctx.session), "deployer-roles")


COMMANDS = {
    "deployer-roles": Command(
        cmd_deployer_roles,
        "Create or repair the roles the deploy projects assume, in the "
        "credentials' account (like cdk bootstrap --trust); before or after make deploy",
        "deployer-roles production",
        # Made with a target account's credentials, not the pipeline's: the
        # guard accepts any account that hosts one of the environment's targets.
        account=TARGET_ACCOUNT,
    ),
}
