"""Outcomes both functions' decision logic returns for events they will not act on."""

from __future__ import annotations

from dataclasses import dataclass


class MalformedEvent(ValueError):
    """An event a function cannot interpret; rejected, never retried."""


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that is not this function's business, and why."""

    reason: str
