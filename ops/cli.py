"""kiro-pipeline operations: the deployment guide's scripts and the runbook's
tasks as one command.

    python -m ops <command> <env> [options]     (python -m ops --help)

Every command takes --region, --profile and --json, prints one clear line
for missing credentials, denied access or missing resources (no tracebacks),
and exits 0 on success, 1 when a check or operation failed, 2 on a usage error.
The commands live in ops/commands/, one module each; this module parses the
command line and turns every error into that one line, in one place.
"""

from __future__ import annotations

import sys

from botocore.exceptions import ClientError

from environments import ENVIRONMENT_NAMES, ConfigError, UnknownEnvironmentError, load
from ops.arguments import Parser, region
from ops.aws import AWS_ERRORS, EXIT_FAILED, EXIT_USAGE, OpsError, explain
from ops.commands import COMMANDS
from ops.common import Context, code


def parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("environment", help=f"one of {', '.join(ENVIRONMENT_NAMES)}")
    common.add_argument("--region", type=region, help="AWS region (default: the environment's)")
    common.add_argument("--profile", help="AWS CLI profile (default: the standard credential chain)")
    common.add_argument("--json", dest="as_json", action="store_true", help="machine-readable output")
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


NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "PipelineNotFoundException",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "NoSuchBucket",
    "PipelineExecutionNotFoundException",
    "ParameterNotFound",
}


# Which stack creates what an operation reads, so "not found" says what to deploy.
STACK_OF_OPERATION = {
    **dict.fromkeys(
        (
            "Query",
            "GetItem",
            "PutItem",
            "UpdateItem",
            "Scan",
            "DescribeTable",
            "DescribeTimeToLive",
            "GetBucketEncryption",
            "GetBucketVersioning",
            "GetPublicAccessBlock",
        ),
        "core",
    ),
    **dict.fromkeys(
        (
            "GetPipeline",
            "GetPipelineState",
            "GetPipelineExecution",
            "StartPipelineExecution",
            "StopPipelineExecution",
            "PutApprovalResult",
            "RollbackStage",
            "ListPipelineExecutions",
            "BatchGetProjects",
            "GetConnection",
        ),
        "pipeline",
    ),
    **dict.fromkeys(
        (
            "Publish",
            "Subscribe",
            "GetTopicAttributes",
            "ListSubscriptionsByTopic",
            "GetDashboard",
            "DescribeRule",
            "GetFunctionConfiguration",
            "DescribeAlarms",
            "DescribeAlarmHistory",
        ),
        "monitoring",
    ),
}


def _missing_resource(error: Exception, env: str) -> str | None:
    """A not-found error as one line naming what is missing and the stack that creates it."""
    if not isinstance(error, ClientError) or code(error) not in NOT_FOUND_CODES:
        return None
    detail = error.response.get("Error", {}).get("Message", "") or code(error)
    stack = STACK_OF_OPERATION.get(error.operation_name)
    fix = (
        f"deploy {stack}-{env} (make deploy ENV={env} STACK={stack})"
        if stack
        else f"check that every stack of {env} is deployed (make deploy ENV={env})"
    )
    return f"not found while calling {error.operation_name}: {detail.splitlines()[0][:200]}; {fix}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = COMMANDS[args.command].run
    try:
        config = load(args.environment)
        ctx = Context(config, args.region or config.region, args.profile, args.as_json)
        return handler(ctx, args)
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except AWS_ERRORS as error:
        missing = _missing_resource(error, args.environment)
        print(f"error: {missing or explain(error, args.command + ' ' + args.environment)}", file=sys.stderr)
        return EXIT_FAILED
