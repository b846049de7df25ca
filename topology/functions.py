"""The Lambda functions of `monitoring-{env}`, and the concurrency each one
reserves when the environment opts in (`reserve_function_concurrency`).

Issue 23 grows this into the functions table (purpose, package, entry point,
trigger, schedule, IAM statements), as projects.py is for the CodeBuild
projects; for now a row is a function's purpose and its reservation.

Why reservations are opt-in: "When a function has reserved concurrency, no
other function can use that concurrency", and "You can reserve up to the
Unreserved account concurrency value that is shown, minus 100 for functions
that don't have reserved concurrency" (Lambda developer guide, "Configuring
reserved concurrency for a function",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
"New AWS accounts have reduced concurrency and memory quotas" (Lambda quotas,
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), as
low as 10: there, any reservation makes CreateFunction fail. Without one, the
functions share the account's unreserved pool; the rollback function's claim
(a conditional write) keeps one rollback per alarm without a reservation of 1.

Pure data: no cdktf, no boto3, nothing else of this repository.
"""

from __future__ import annotations

from typing import Protocol

# A function's purpose (its name is `kiro-pipeline-{env}-{purpose}`) and the
# concurrency it reserves when the environment opts in.
RESERVED_CONCURRENCY: dict[str, int] = {
    # One round at a time: a late round only repeats the same truth.
    "health-probe": 1,
    # One rollback at a time per environment.
    "rollback": 1,
    # Pipeline events arrive in bursts (a stage's actions change together).
    "deployment-recorder": 5,
    # A five-minute schedule.
    "execution-age": 1,
    # An hourly schedule.
    "dora-metrics": 1,
    # Three health alarms may change state together.
    "incident-recorder": 2,
    # Three topics may publish together.
    "slack-notifier": 2,
}


class OptsIn(Protocol):
    """What this module reads of an environment's configuration."""

    reserve_function_concurrency: bool


def reserved_concurrency(config: OptsIn, purpose: str) -> int | None:
    """What the function `purpose` reserves in this environment: None (no
    reservation, the attribute left out) unless the environment opts in."""
    if purpose not in RESERVED_CONCURRENCY:
        raise KeyError(f"no function {purpose!r} in topology/functions.py: add its row (purpose and concurrency)")
    return RESERVED_CONCURRENCY[purpose] if config.reserve_function_concurrency else None


def reserved_total(config: OptsIn) -> int:
    """The concurrency one environment's functions reserve in its account:
    0 unless it opts in (what preflight compares with the account's limit)."""
    return sum(RESERVED_CONCURRENCY.values()) if config.reserve_function_concurrency else 0
