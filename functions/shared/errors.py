"""An AWS error's code and text, read in one place for every function (ops
has its own, ops.aws.code: the zips carry functions/ only)."""

from __future__ import annotations

from botocore.exceptions import ClientError


def code(error: BaseException) -> str | None:
    """The `Error.Code` of a ClientError (the AWS answer), else None."""
    return error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None


def text(error: BaseException) -> str:
    """`Code: Message` of a ClientError, else the error's own text."""
    if isinstance(error, ClientError):
        answer = error.response.get("Error", {})
        return f"{answer.get('Code')}: {answer.get('Message')}"
    return str(error)
