"""Terraform's template syntax, as the tests read synthesized JSON.

In Terraform JSON every string is a template. `${` opens an interpolation and
`%{` a directive; `$${` and `%%{` are their escapes. CDKTF emits references
as `${<resource type>.<name>.<attribute>...}`, `${data.<type>.<name>...}`
and `${terraform.workspace}`; anything else that opens a template is text
that should have gone through modules/literal.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_-]*"
# A CDKTF-made reference: a traversal of a resource, data source or
# `terraform.workspace`, with attribute and index steps.
INTENDED_REFERENCE = re.compile(
    rf"\$\{{(?:aws_[a-z0-9_]+\.{_SEGMENT}|data\.[a-z0-9_]+\.{_SEGMENT}|terraform\.workspace)"
    rf"(?:\.{_SEGMENT}|\[\d+\])*\}}"
)


@dataclass(frozen=True)
class Finding:
    where: str
    sequence: str

    def __str__(self) -> str:
        return f"{self.where}: {self.sequence!r}"


def template_sequences(text: str) -> Iterator[str]:
    """Every unescaped `${...}` or `%{...` in `text`, left to right."""
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith("${", i):
            match = INTENDED_REFERENCE.match(text, i)
            if match:
                i = match.end()
            else:
                end = text.find("}", i)
                yield text[i : end + 1 if end >= 0 else len(text)][:80]
                i += 2
        elif text.startswith("%{", i):
            yield text[i : i + 40]
            i += 2
        else:
            i += 1


def stray_templates(node: Any, where: str) -> Iterator[Finding]:
    """Template sequences in every string (keys included) under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from (Finding(f"{where}.{key} (key)", s) for s in template_sequences(str(key)))
            yield from stray_templates(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from stray_templates(value, f"{where}[{index}]")
    elif isinstance(node, str):
        yield from (Finding(where, s) for s in template_sequences(node))


def unescape(text: str) -> str:
    """What Terraform makes of a literal string (one without references)."""
    return text.replace("$${", "${").replace("%%{", "%{")
