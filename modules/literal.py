"""Text that Terraform must emit exactly as written.

In Terraform's JSON syntax every string is a template: `${...}` is an
interpolation and `%{...}` a directive, so a buildspec's shell `${TRIVY_VERSION}`
reads as a (broken) reference to a resource type (assumed from
https://developer.hashicorp.com/terraform/language/syntax/json, whose stored
copy does not show the sentence; the round-trip test below is the proof).
Terraform's escapes, from https://developer.hashicorp.com/terraform/language/expressions/strings:
"$${ | Literal ${, without beginning an interpolation sequence." and
"%%{ | Literal %{, without beginning a template directive sequence." A plain
replacement is exact: `$$${x}` reads back as `$${x}`
(tests/test_terraform_templates.py::test_literal_round_trips_through_real_terraform
checks the round trip with real Terraform).

`cdktf.Fn.raw_string` is not used: it escapes `${` but not `%{`, and it also
escapes `"`, which would change a buildspec.
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import Token


def literal(text: str) -> str:
    """`text` escaped so that Terraform reads it back unchanged.

    Refuses text that holds a CDKTF token: a token is meant to become a
    reference, and escaping it would turn the reference into plain text.
    """
    if Token.is_unresolved(text):
        raise ValueError(f"literal() got a CDKTF token, which must stay a reference: {text[:80]!r}")
    return text.replace("${", "$${").replace("%{", "%%{")


def literal_json(value: Any) -> str:
    """`value` as canonical JSON (sorted keys), escaped for Terraform."""
    return literal(json.dumps(value, sort_keys=True))
