"""What a synthesized stack's resources refer to, read from its JSON: the
graph `terraform apply -target` follows, since a target's dependencies are
applied with it. The rehearsal leaves resources out of an apply with it
(tools/emulator.py says which, tools/rehearse/stack.py applies the rest)."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"\$\{(aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")


def addresses(config: dict) -> list[str]:
    return [f"{kind}.{name}" for kind, items in config.get("resource", {}).items() for name in items]


def _dependencies(config: dict) -> dict[str, set[str]]:
    """Resource address -> the resource addresses it references or depends on."""
    found = {}
    for kind, items in config.get("resource", {}).items():
        for name, body in items.items():
            text = repr(body)
            found[f"{kind}.{name}"] = set(_REFERENCE.findall(text))
    # References through data sources (policy documents) count too.
    data_refs = {
        f"data.{kind}.{name}": set(_REFERENCE.findall(repr(body)))
        for kind, items in config.get("data", {}).items()
        for name, body in items.items()
    }
    for address, body_refs in found.items():
        kind, name = address.split(".", 1)
        text = repr(config["resource"][kind][name])
        for data_address, refs in data_refs.items():
            if "${" + data_address + "." in text:
                body_refs |= refs
    return found


def dependents(config: dict, excluded: dict[str, str], why: str) -> dict[str, str]:
    """What depends, directly or not, on an excluded resource: address ->
    "depends on X, {why}". `terraform apply -target` applies a target's
    dependencies too, so a dependent must be left out with what it needs."""
    found: dict[str, str] = {}
    dependencies = _dependencies(config)
    changed = True
    while changed:
        changed = False
        for address, refs in dependencies.items():
            if address not in excluded and address not in found:
                blocked = sorted(refs & (excluded.keys() | found.keys()))
                if blocked:
                    found[address] = f"depends on {blocked[0]}, {why}"
                    changed = True
    return found


def apply_targets(config: dict, excluded: dict[str, str]) -> list[str]:
    return [a for a in addresses(config) if a not in excluded]
