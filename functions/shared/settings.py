"""Environment variables, validated once at cold start."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping


class SettingsError(RuntimeError):
    """Every missing or invalid variable, reported together."""


def read(spec: Mapping[str, Callable[[str], object]], environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Parse each variable in `spec` with its parser; raise one error naming all problems."""
    environ = os.environ if environ is None else environ
    values, problems = {}, []
    for name, parse in spec.items():
        raw = environ.get(name, "")
        if not raw.strip():
            problems.append(f"{name} is not set")
            continue
        try:
            values[name] = parse(raw)
        except (TypeError, ValueError) as error:
            problems.append(f"{name}={raw!r} is invalid: {error}")
    if problems:
        raise SettingsError("configuration error: " + "; ".join(problems))
    return values


def arn(service: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        parts = value.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != service:
            raise ValueError(f"not an ARN of {service}")
        return value

    return parse


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be positive")
    return number
