"""The roles GitHub Actions assumes (python -m ops ci-roles ENV --repository OWNER/REPO)."""

from __future__ import annotations

import json

from ops.arguments import ENVIRONMENT_ACCOUNT, NO_ACCOUNT, Command
from ops.common import Context


def cmd_ci_roles(ctx: Context, args) -> int:
    from ops.ci_access import CiRoles, check_repository, documents
    from ops.reconcile import apply

    if args.print:
        # No AWS call: for teams that create IAM with their own tooling.
        print(json.dumps(documents(ctx.config, check_repository(args.repository)), indent=2, sort_keys=True))
        return 0
    return apply(ctx, CiRoles(ctx.config, args.repository, ctx.session), "ci-roles")


def _arguments(parser) -> None:
    parser.add_argument("--repository", required=True, help="the GitHub repository, OWNER/REPO")
    parser.add_argument("--print", action="store_true", help="print the policies, change nothing")


COMMANDS = {
    "ci-roles": Command(
        cmd_ci_roles,
        "Create or repair the GitHub OIDC provider and the CI plan and apply roles (docs/review-and-apply.md)",
        "ci-roles production --repository acme/kiro-pipeline",
        _arguments,
        # --print only prints the policies: no call, so no account to check.
        account=lambda args: NO_ACCOUNT if args.print else ENVIRONMENT_ACCOUNT,
    ),
}
