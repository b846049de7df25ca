"""The post-deployment checklist (python -m ops validate ENV)."""

from __future__ import annotations

from ops.arguments import Command
from ops.aws import EXIT_FAILED
from ops.common import Context
from ops.validate import Validator


def cmd_validate(ctx: Context, args) -> int:
    # Missing or expired credentials were one line already: ops/cli.py checks
    # the account before any command runs.
    results = Validator(ctx.config, ctx.session).run()
    failed = [r for r in results if not r.ok]
    lines = [f"Validating kiro-pipeline deployment for environment: {ctx.config.name}"]
    lines += [r.line() for r in results]
    lines.append("All validation checks passed!" if not failed else f"{len(failed)} of {len(results)} checks failed.")
    ctx.emit({"environment": ctx.config.name, "checks": [r.__dict__ for r in results], "passed": not failed}, lines)
    return 0 if not failed else EXIT_FAILED


COMMANDS = {
    "validate": Command(cmd_validate, "Post-deployment checklist: one ✓/✗ line per check", "validate test"),
}
