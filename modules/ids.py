"""Stable Terraform addresses for elements that live inside constructs.

No state moves when a stack's resources move into a unit (a bucket, a build
project, a function, a topic): every element keeps the logical ID it had
when the stack made it directly, so an existing state is used as it is and a
plan shows no change. Only the `//` metadata path in the synthesized JSON
says where the element now lives.
"""

from __future__ import annotations

from typing import TypeVar

from cdktf import TerraformElement

T = TypeVar("T", bound=TerraformElement)


def keep_logical_id(element: T) -> T:
    """Give `element` the logical ID its construct ID would have at stack
    level, wherever it lives, so moving a resource into a construct moves no
    state. At stack level this changes nothing. It must run before anything
    refers to the element: CDKTF fixes a logical ID once a reference is made."""
    element.override_logical_id(element.node.id)
    return element
