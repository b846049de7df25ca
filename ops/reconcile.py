"""The shape `bootstrap`, `deployer-roles` and `ci-roles` share: each brings
part of an account to the state this project needs, setting by setting. A
setting is read first and written only when it differs, so a second run
changes nothing and says so, and a setting edited by hand is repaired.

One home for what they have in common: the Step each setting produces, the
report (text and --json), the account guard and the "not there yet" read.
What each one reconciles stays in its own module (ops/bootstrap.py,
ops/deployers.py, ops/ci_access.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from ops.aws import AWS_ERRORS, OpsError, explain
from ops.common import Context, code

CHECKING_ACCOUNT = "checking which AWS account the credentials belong to"


@dataclass(frozen=True)
class Step:
    """One setting of one thing (`subject`: a bucket, a table, a role, the
    OIDC provider), what was made sure of, and whether it had to be written."""

    subject: str
    setting: str
    changed: bool
    # The name users read `subject` under: the key in --json and the
    # attribute callers use (step.resource for bootstrap, step.role for
    # deployer-roles), as each command named it before it shared this class.
    noun: str = field(default="subject", repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        # Only reached for a name the dataclass lacks: the step's noun.
        if name != "noun" and name == self.noun:
            return self.subject
        raise AttributeError(name)

    def as_json(self) -> dict:
        return {self.noun: self.subject, "setting": self.setting, "changed": self.changed}


class Reconciler:
    """The steps of one run, the account guard and the report. A subclass
    says what it reconciles (`run`), what its report is headed with
    (`title`), and may name its steps' noun and its closing lines."""

    NOUN = "subject"
    CHANGED = "{changes} change(s) made."
    UNCHANGED = "Nothing to change."

    def __init__(self, config, boto_session):
        self.config = config
        self.sts = boto_session.client("sts")
        self.steps: list[Step] = []

    def run(self) -> list[Step]:
        raise NotImplementedError

    def title(self) -> str:
        raise NotImplementedError

    def record(self, subject: str, setting: str, changed: bool) -> None:
        self.steps.append(Step(subject, setting, changed, self.NOUN))

    def ensure(self, subject: str, setting: str, read: Callable, desired, write: Callable) -> None:
        """The setting is `desired`: written only when `read()` says otherwise."""
        current = read()
        if current != desired:
            write()
        self.record(subject, setting, current != desired)

    def caller_account(self, doing: str = CHECKING_ACCOUNT) -> str:
        """The account of the credentials. GetCallerIdentity answers "The AWS
        account ID number of the account that owns or contains the calling
        entity." and needs no permission: "No permissions are required to
        perform this operation." (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html)"""
        with explained(doing):
            return self.sts.get_caller_identity()["Account"]

    def require_account(self, who: str, fix: str, doing: str = CHECKING_ACCOUNT) -> None:
        """Refuse, before any change, credentials for another account than the
        environment's: `who` names the environment, `fix` ends the line."""
        account = self.caller_account(doing)
        if account != self.config.account_id:
            raise OpsError(
                f"the credentials are for account {account}, but {who} lives in {self.config.account_id}{fix}"
            )

    def report(self) -> str:
        """One line per step (`+` written, `=` already so), then the count."""
        lines = [self.title()]
        lines += [f"  {'+' if s.changed else '='} {s.subject}: {s.setting}" for s in self.steps]
        changes = sum(s.changed for s in self.steps)
        lines.append(self.CHANGED.format(changes=changes) if changes else self.UNCHANGED)
        return "\n".join(lines)


@contextmanager
def explained(doing: str) -> Iterator[None]:
    """Any AWS error inside becomes one OpsError line saying what was being done."""
    try:
        yield
    except AWS_ERRORS as error:
        raise explain(error, doing) from error


def read_or_none(read: Callable, *absent: str):
    """`read()`, or None when AWS answers with one of the `absent` error codes:
    the setting (or the resource) is not there yet."""
    try:
        return read()
    except botocore.exceptions.ClientError as error:
        if code(error) in absent:
            return None
        raise


def apply(ctx: Context, reconciler: Reconciler, command: str | None = None) -> int:
    """Run a reconciler as a command: its steps with --json, else its report.
    When a step changed something, the run is recorded in the ledger as
    `command`'s (ops/ledger_runs.py): best effort, after the report, so a
    record that cannot be written changes neither the work nor the exit code."""
    steps = reconciler.run()
    ctx.emit([step.as_json() for step in steps], [reconciler.report()])
    if command:
        from ops.ledger_runs import record_run

        record_run(ctx, command, [f"{step.subject}: {step.setting}" for step in steps if step.changed])
    return 0
