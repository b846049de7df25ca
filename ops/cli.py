"""kiro-pipeline operations: the deployment guide's scripts and the runbook's
tasks as one command.

    python -m ops <command> <env> [options]     (python -m ops --help)

Every command takes --region, --profile, --json and --timeout, checks first
that the credentials are for the account it works in, prints one clear line
for missing credentials, denied access or missing resources (no tracebacks),
and exits 0 on success, 1 when a check or operation failed, 2 on a usage
error (wrong account included), 130 on Ctrl-C. The commands live in
ops/commands/, one module each; this module parses the command line, makes
the account check, and turns every error into that one line, in one place.
"""

from __future__ import annotations

import sys

from environments import ENVIRONMENT_NAMES, ConfigError, UnknownEnvironmentError, load
from ops.arguments import Parser, bounded, region
from ops.aws import AWS_ERRORS, EXIT_INTERRUPTED, EXIT_USAGE, READ_TIMEOUT, OpsError
from ops.commands import COMMANDS
from ops.common import Context, failure


def parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("environment", help=f"one of {', '.join(ENVIRONMENT_NAMES)}")
    common.add_argument("--region", type=region, help="AWS region (default: the environment's)")
    common.add_argument("--profile", help="AWS CLI profile (default: the standard credential chain)")
    common.add_argument("--json", dest="as_json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--timeout",
        type=bounded(float, 1.0, 600.0, "seconds"),
        help=f"seconds to wait for each AWS answer, per attempt (default {READ_TIMEOUT:g})",
    )
    root = Parser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="command")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name,
            parents=[common],
            help=command.help,
            description=command.help,
            epilog=f"example: python -m ops {command.example}",
        )
        command.arguments(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = COMMANDS[args.command]
    ctx: Context | None = None
    try:
        config = load(args.environment)
        ctx = Context(config, args.region or config.region, args.profile, args.as_json, args.timeout)
        # Once, before the command makes any other call: a command run with
        # another account's credentials would read or change that account.
        ctx.check_account(command.account_for(args), args.command, getattr(args, "target", None))
        return command.run(ctx, args)
    except KeyboardInterrupt:
        # One line, no traceback; what the command started remotely keeps
        # running, and the line says how to stop it.
        print(ctx.interrupted() if ctx else "interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (OpsError, *AWS_ERRORS) as error:
        found = failure(error, args.environment)
        print(f"error: {found}", file=sys.stderr)
        return found.exit_code
