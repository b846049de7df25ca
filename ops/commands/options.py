"""The options several commands declare alike, each in one place: how many
days back a command reads (--days, and the window it names), and a value
chosen from a list in any case whose help lists the list. Not a command:
ops/commands/__init__.py registers the command modules only.

Each takes the command's parser first, as Command.arguments does, so a
command whose one option is shared passes it as
`arguments=partial(add_days, default=30)`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ops.arguments import bounded
from ops.values import choice

# The longest window summary and dora read: ten years (dora warns when the
# records' time to live is shorter than the window).
LONGEST_DAYS = 3650


def add_days(parser: argparse.ArgumentParser, default: int, most: int = LONGEST_DAYS, help: str | None = None) -> None:
    """--days: how many days back the command reads, a whole number from 1 to `most`."""
    parser.add_argument("--days", type=bounded(int, 1, most, "days"), default=default, help=help)


def days_back(days: int) -> tuple[datetime, datetime]:
    """The window --days names: (start, end), from `days` days ago to now, in UTC."""
    end = datetime.now(UTC)
    return end - timedelta(days=days), end


def add_choice(parser: argparse.ArgumentParser, name: str, options: Sequence[str], what: str, lead: str) -> None:
    """Argument `name` (--status, or a positional such as source): one of
    `options` in any case (ops.values.choice, which calls it a `what`), with a
    help of `lead` and every option, so --help shows what it takes."""
    parser.add_argument(
        name,
        type=choice(options, what),
        metavar=name.lstrip("-").upper(),
        help=f"{lead}, in any case: {', '.join(options)}",
    )
