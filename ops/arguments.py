"""How commands declare themselves and their arguments: one Command per
command, registered in ops/commands; the argparse types they share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from environments.config import is_region
from ops.aws import EXIT_USAGE


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command that takes only the common ones (environment, --region, ...)."""


# Which account a command's credentials must be in, checked once before it runs
# (ops/cli.py): the environment's (account_id), one of its deploy targets'
# (deployer-roles: a target may live in another account), or none checked
# there (bootstrap and preflight compare accounts themselves, ci-roles
# --print calls nothing).
ENVIRONMENT_ACCOUNT = "environment"
TARGET_ACCOUNT = "target"
NO_ACCOUNT = "none"
ACCOUNTS = (ENVIRONMENT_ACCOUNT, TARGET_ACCOUNT, NO_ACCOUNT)


@dataclass(frozen=True)
class Command:
    # Runs the command: (Context, parsed arguments) -> exit code.
    run: Callable[..., int]
    # One line for --help.
    help: str
    # An example, after `python -m ops `.
    example: str
    # Adds the command's own arguments to its subparser.
    arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    # One of ACCOUNTS, or a function of the parsed arguments returning one
    # (ci-roles: none with --print).
    account: str | Callable[[argparse.Namespace], str] = ENVIRONMENT_ACCOUNT

    def account_for(self, args: argparse.Namespace) -> str:
        kind = self.account(args) if callable(self.account) else self.account
        if kind not in ACCOUNTS:
            raise ValueError(f"Command.account must be one of {', '.join(ACCOUNTS)}, not {kind!r}")
        return kind


class Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, as docs/operations.md promises."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see: {self.prog} --help)\n")


def bounded(kind, low, high, unit: str):
    """An argparse type: a number of `kind` within [low, high]."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
        if not low <= value <= high:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"must be {low} to {high} {unit}, got {text}")
        return value

    return parse


def region(text: str) -> str:
    if not is_region(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region name such as us-east-1")
    return text
