"""Session creation and AWS error translation shared by the operations tools."""

from __future__ import annotations

import boto3
import botocore.exceptions

# Exit codes: 2 is a usage or configuration error, 1 a failed operation.
EXIT_FAILED = 1
EXIT_USAGE = 2


class OpsError(Exception):
    """An error the user can act on, printed as one line without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


def session(region: str, profile: str | None = None) -> boto3.Session:
    try:
        return boto3.Session(region_name=region, profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        raise OpsError(f"AWS profile {profile!r} is not configured (see `aws configure list-profiles`)", 2) from None


def explain(error: Exception, doing: str) -> OpsError:
    """Turn a botocore exception raised while `doing` something into an OpsError."""
    if isinstance(error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return OpsError(f"no AWS credentials while {doing}: run `aws configure` or `aws sso login`, or set AWS_PROFILE")
    if isinstance(error, botocore.exceptions.TokenRetrievalError):
        return OpsError(f"AWS SSO session expired while {doing}: run `aws sso login`")
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return OpsError(f"cannot reach AWS while {doing}: {error}")
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"):
            return OpsError(f"access denied while {doing}: {message or code}; your role needs that permission")
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"):
            return OpsError(f"AWS credentials are expired or invalid while {doing}: refresh them and retry")
        return OpsError(f"AWS error while {doing}: {code}: {message}")
    return OpsError(f"unexpected error while {doing}: {error}")


AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
