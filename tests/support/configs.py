"""Config helpers for tests."""

from __future__ import annotations

import dataclasses


def unvalidated_replace(config, **changes):
    """A copy of a frozen config with `changes`, skipping validation: for code
    (such as bootstrap) that must handle values the stacks do not accept yet."""
    copy = object.__new__(type(config))
    for field in dataclasses.fields(config):
        object.__setattr__(copy, field.name, changes.get(field.name, getattr(config, field.name)))
    return copy
