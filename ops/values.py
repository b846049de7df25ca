"""Argument types the commands share: each one refuses, at parse time, a
value that AWS would refuse or that would silently mean something else, so
it is a usage error (one line, exit 2) before any AWS call or record.

Where AWS sets the rule, the rule is read from AWS's own service model as
botocore ships it (the API reference is generated from the same model), so
a limit is never copied by hand and follows a botocore upgrade. Where the
project's configuration sets it (an email address, a GitHub owner), it is the
configuration's own rule (environments/rules.py), so a value accepted on
the command line is one the configuration would accept too.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Callable, Iterable
from datetime import timedelta

from environments import config as rules


@functools.cache
def _shape(service: str, shape: str) -> dict:
    """A shape's constraints (pattern, min, max) in botocore's service model."""
    import botocore.session  # lazy: only a command that takes such a value pays for the model

    return dict(botocore.session.get_session().get_service_model(service).shape_for(shape).metadata)


def canonical(options: Iterable[str], value: str) -> str | None:
    """`value` as written in `options`, matched in any case; None if it is none of them."""
    return {option.casefold(): option for option in options}.get(value.strip().casefold())


def choice(options: Iterable[str], what: str = "value") -> Callable[[str], str]:
    """One of `options`, in any case, returned as written in `options`
    (`--status failed` means the stored FAILED, never "no such records")."""
    options = tuple(options)

    def parse(value: str) -> str:
        found = canonical(options, value)
        if found is None:
            raise argparse.ArgumentTypeError(f"{value!r} is not a {what}: one of {', '.join(options)}")
        return found

    return parse


def text(
    what: str, service: str | None = None, shape: str | None = None, *, longest: int | None = None
) -> Callable[[str], str]:
    """Free text that says something: not empty or blank, and no longer than
    AWS takes where it is sent (`shape` of `service`, e.g. a stop reason) or,
    where no AWS parameter takes it whole, than `longest`."""
    within = limited(what, service, shape, longest=longest)

    def parse(value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise argparse.ArgumentTypeError(f"{what} is empty: say it in words (it is kept and shown to others)")
        return within(stripped)

    return parse


def limited(
    what: str, service: str | None = None, shape: str | None = None, *, longest: int | None = None
) -> Callable[[str], str]:
    """Text passed on as it is, no longer than `shape` of `service` takes
    (AWS's own limit), or than `longest`."""

    def parse(value: str) -> str:
        most = _shape(service, shape).get("max") if service and shape else longest
        if most is not None and len(value) > most:
            whose = f"AWS takes at most {most} ({shape})" if service and shape else f"at most {most} are kept"
            raise argparse.ArgumentTypeError(f"{what} is {len(value)} characters; {whose}")
        return value

    return parse


def execution_id(value: str) -> str:
    """A CodePipeline execution ID. AWS: "pipelineExecutionId ... Pattern:
    [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_StopPipelineExecution.html;
    the same PipelineExecutionId shape in RollbackStage and
    OverrideStageCondition). AWS's IDs are lower case, so an ID pasted in
    upper case is lowered rather than refused."""
    candidate = value.strip().lower()
    if not re.fullmatch(_shape("codepipeline", "PipelineExecutionId")["pattern"], candidate, re.ASCII):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a pipeline execution ID (36 characters such as "
            "3137f7cb-7cf7-4ad9-8b6a-0c0b1b2e4f5a; `python -m ops deployments ENV` lists them)"
        )
    return candidate


# aws logs tail's --since: "For relative times, provide a number and a single
# unit. Supported units include: s - seconds, m - minutes, h - hours, d - days,
# w - weeks" (https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html).
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# CloudWatch Logs keeps events at most 10 years (the longest retention), so
# further back finds nothing; it also keeps the start time after 1970.
_LONGEST_SINCE = timedelta(days=3653)


def since(value: str) -> timedelta:
    """How far back: a number and one unit (15m, 2h, 1d), as `aws logs tail` takes it."""
    found = re.fullmatch(r"([0-9]{1,9})([smhdw])", value.strip(), re.ASCII)
    if not found or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time back: a number and one unit of s, m, h, d, w (15m, 2h, 1d)"
        )
    back = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if back > _LONGEST_SINCE:
        raise argparse.ArgumentTypeError(f"{value!r} is further back than CloudWatch Logs keeps events (10 years)")
    return back


def _configured(problem: Callable[[str], str | None], field: str) -> Callable[[str], str]:
    """A value the configuration's own rule for `field` accepts, whole: a
    trailing newline (a pasted line, `$(cat file)`) is refused, not stored."""

    def parse(value: str) -> str:
        found = problem(value)
        if found:
            raise argparse.ArgumentTypeError(f"{found} (the rule of {field} in the configuration)")
        return value

    return parse


email = _configured(rules.email_problem, "notification_email")
github_owner = _configured(rules.github_owner_problem, "github.owner")
github_repo = _configured(rules.github_repo_problem, "github.repo")
