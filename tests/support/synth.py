"""Read synthesized stacks (cdktf.out/stacks/<id>/cdk.tf.json) in tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class SynthesizedStack:
    def __init__(self, path: Path):
        self.path = path
        self.json: dict[str, Any] = json.loads(path.read_text())

    def resources(self, resource_type: str) -> dict[str, dict]:
        return self.json.get("resource", {}).get(resource_type, {})

    def resource(self, resource_type: str, name: str) -> dict:
        found = self.resources(resource_type)
        assert name in found, f"{resource_type}.{name} not in {self.path}: have {sorted(found)}"
        return found[name]

    def only(self, resource_type: str) -> dict:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type} in {self.path}, found {sorted(found)}"
        return next(iter(found.values()))

    def data(self, data_type: str) -> dict[str, dict]:
        return self.json.get("data", {}).get(data_type, {})

    @property
    def outputs(self) -> dict[str, dict]:
        return self.json.get("output", {})

    @property
    def backend(self) -> dict:
        return self.json["terraform"]["backend"]["s3"]

    def policy_statements(self, reference: str) -> list[dict]:
        """Statements of the policy document that `reference` (`${data...json}`) points to."""
        prefix, suffix = "${data.aws_iam_policy_document.", ".json}"
        assert reference.startswith(prefix) and reference.endswith(suffix), reference
        name = reference[len(prefix) : -len(suffix)]
        return self.data("aws_iam_policy_document")[name]["statement"]

    def walk(self) -> Iterator[tuple[str, Any]]:
        """Every (json-path, value) pair in the stack, depth first."""

        def _walk(node, path):
            yield path, node
            if isinstance(node, dict):
                for key, value in node.items():
                    yield from _walk(value, f"{path}.{key}")
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    yield from _walk(value, f"{path}[{index}]")

        yield from _walk(self.json, "$")


def statement_by_sid(statements: list[dict], sid: str) -> dict:
    matches = [s for s in statements if s.get("sid") == sid]
    assert len(matches) == 1, f"statement {sid!r} not found once in {[s.get('sid') for s in statements]}"
    return matches[0]


def condition(statement: dict, test: str, variable: str) -> list[str]:
    for c in statement.get("condition", []):
        if c["test"] == test and c["variable"] == variable:
            return c["values"]
    raise AssertionError(f"no {test} {variable} condition in {statement.get('sid')}")
