"""Retry transient AWS errors with capped exponential backoff and full jitter,
within the invocation's time budget.

A short throttle must not turn into "manual rollback needed". What counts as
transient: throttling, service unavailability, ConflictException (CodePipeline
answers it while another change to the same stage settles), and timeouts or
dropped connections. Anything else is an answer and is raised at once.
A timeout is also ambiguous (the call may have been applied): callers that
change state re-read it after `Ambiguous`, they do not guess.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from . import errors

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        "ConflictException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionInProgressException",
    }
)
# The request may have reached the service: the change may have happened.
AMBIGUOUS = (ReadTimeoutError, ConnectionClosedError)
UNREACHED = (ConnectTimeoutError, EndpointConnectionError)


class Ambiguous(Exception):
    """The last attempt timed out after sending: re-read to learn the outcome."""

    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause


def is_transient(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return errors.code(error) in TRANSIENT_CODES
    return isinstance(error, AMBIGUOUS + UNREACHED)


@dataclass
class Budget:
    """How long retries may take: the invocation's remaining time less a
    reserve for writing the outcome."""

    remaining_ms: Callable[[], int]
    reserve_ms: int = 20_000

    @classmethod
    def of(cls, context, default_ms: int = 60_000) -> Budget:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if callable(getter):
            return cls(getter)
        deadline = time.monotonic() + default_ms / 1000
        return cls(lambda: int((deadline - time.monotonic()) * 1000))

    def allows(self, delay_s: float) -> bool:
        return self.remaining_ms() - self.reserve_ms > delay_s * 1000


def call(
    operation: Callable[[], T],
    budget: Budget,
    *,
    attempts: int = 6,
    base_s: float = 0.2,
    cap_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[Exception, int], None] | None = None,
    idempotent: bool = True,
) -> T:
    """`operation()`, retried on transient errors. Raises the last error, or
    `Ambiguous` when an attempt timed out after sending: at once for an
    operation that is not `idempotent` (repeating it could act twice), after
    the last attempt for one that is."""
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as error:  # noqa: BLE001 - classified just below
            if not is_transient(error):
                raise
            if isinstance(error, AMBIGUOUS) and not idempotent:
                raise Ambiguous(error) from error
            # Jitter spreads retries; it needs no cryptographic randomness.
            delay = random.uniform(0, min(cap_s, base_s * 2**attempt))  # noqa: S311
            if attempt == attempts or not budget.allows(delay):
                if isinstance(error, AMBIGUOUS):
                    raise Ambiguous(error) from error
                raise
            if on_retry:
                on_retry(error, attempt)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
