"""Sessions, clients and AWS error translation shared by the operations tools.

Every client made from an ops session (`session()`) has short time-outs, a
line on stderr while a call is slow, and names its call in the error it
raises: explain() turns that error into one line with the operation, the
resource and, for a denied call, the missing IAM action.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config


def code(error: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else): the one
    place ops reads it."""
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return ""


# Exit codes: 2 is a usage or configuration error, 1 a failed operation,
# 130 an interrupt (128 + SIGINT, as shells report a command Ctrl-C stopped).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

# "connect_timeout: The time in seconds till a timeout exception is thrown when
# attempting to make a connection. The default is 60 seconds." and the same for
# read_timeout; "total_max_attempts: ... the maximum number of total attempts
# that will be made on a single request. This includes the initial request"
# (https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html).
# A command a person waits for should give up well before 60 s x 5 attempts
# (legacy mode's default): 5 s to connect, 20 s for an answer, 3 attempts in
# the standard retry mode (https://docs.aws.amazon.com/boto3/latest/guide/retries.html).
# `--timeout` changes the read time-out, for a slow link.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20.0
ATTEMPTS = 3
# After this long a call prints "waiting for ..." on stderr (never stdout, so
# --json output stays one document).
SLOW_CALL_SECONDS = 2.0


class OpsError(Exception):
    """An error the user can act on, printed as one line without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


# --- which call failed ----------------------------------------------------------
# The IAM service prefix, where it differs from the client's signing name:
# "Amazon CloudWatch (service prefix: cloudwatch)"
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html),
# whose API is signed as "monitoring".
IAM_PREFIX = {"monitoring": "cloudwatch"}
# "When you use an action in a policy, you usually allow or deny access to the
# API operation or CLI command with the same name. However, in some cases, a
# single action controls access to more than one operation" (same page). The
# exceptions among the calls these tools make: HeadBucket "To use this
# operation, you must have permissions to perform the s3:ListBucket action"
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html); HEAD
# on an object needs "the s3:GetObject permission"
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
ACTION_OF_OPERATION = {("s3", "HeadBucket"): "s3:ListBucket", ("s3", "HeadObject"): "s3:GetObject"}
# The request parameter that names what a call works on, and what to call it.
RESOURCE_PARAMETERS = {
    "pipelineName": "pipeline",
    "TableName": "table",
    "Bucket": "bucket",
    "FunctionName": "function",
    "TopicArn": "topic",
    "SecretId": "secret",
    "AlarmName": "alarm",
    "AlarmNames": "alarm",
    "AlarmNamePrefix": "alarms",
    "DashboardName": "dashboard",
    "RoleName": "role",
    "logGroupName": "log group",
    "ConnectionArn": "connection",
    "KeyId": "key",
}
# A bare `name` / `Name` parameter, by service.
NAME_PARAMETER = {"codepipeline": "pipeline", "ssm": "parameter", "events": "rule", "codebuild": "project"}
# Parameters that are not the resource even where their name says so.
_NOT_RESOURCES = {"NextToken", "nextToken", "ClientRequestToken", "clientRequestToken"}


@dataclass(frozen=True)
class Call:
    """One API call an ops client made: enough to name it in an error."""

    service: str  # the client's name: codepipeline, cloudwatch, ...
    signing_name: str
    operation: str  # GetPipelineState
    params: dict = field(default_factory=dict)
    endpoint: str = ""
    read_timeout: float | None = None  # seconds, per attempt
    attempts: int | None = None
    profile: str | None = None  # the profile its session was made with

    @property
    def action(self) -> str:
        """The IAM action the call needs (`codepipeline:GetPipelineState`)."""
        found = ACTION_OF_OPERATION.get((self.signing_name, self.operation))
        return found or f"{IAM_PREFIX.get(self.signing_name, self.signing_name)}:{self.operation}"

    @property
    def resource(self) -> str | None:
        for key, noun in RESOURCE_PARAMETERS.items():
            if self.params.get(key):
                return f"{noun} {_value(self.params[key])}"
        for key in ("name", "Name", "names"):
            if self.params.get(key) and self.service in NAME_PARAMETER:
                return f"{NAME_PARAMETER[self.service]} {_value(self.params[key])}"
        for key, value in self.params.items():
            if key not in _NOT_RESOURCES and isinstance(value, str) and re.search(r"(Name|Arn|Id|name|Prefix)$", key):
                return f"{key} {_value(value)}"
        return None


def _value(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value[:3]) + (", ..." if len(value) > 3 else "")
    return str(value)


def _call_of(error: Exception) -> Call | None:
    return getattr(error, "ops_call", None)


@contextmanager
def calling(resource: str) -> Iterator[None]:
    """Name what the calls inside work on, for an error one of them raises
    (`with calling(f"pipeline {name}"):`). The innermost name wins."""
    try:
        yield
    except AWS_ERRORS as error:
        if not getattr(error, "ops_resource", None):
            error.ops_resource = resource
        raise


def _watched(method, operation: str, profile: str | None):
    """A client method that prints a line while it is slow and leaves its
    Call on any error it raises (paginators and waiters call these too)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        model, config = self.meta.service_model, self.meta.config
        made = Call(
            model.service_name,
            model.signing_name or model.endpoint_prefix,
            operation,
            dict(kwargs),
            self.meta.endpoint_url,
            config.read_timeout,
            (config.retries or {}).get("total_max_attempts"),
            profile,
        )
        where = f" on {made.resource}" if made.resource else ""
        timer = threading.Timer(
            SLOW_CALL_SECONDS,
            lambda: print(f"waiting for {made.service} {operation}{where}…", file=sys.stderr, flush=True),
        )
        timer.daemon = True
        timer.start()
        try:
            return method(self, *args, **kwargs)
        except AWS_ERRORS as error:
            if _call_of(error) is None:
                error.ops_call = made
            raise
        finally:
            timer.cancel()

    return call


def _watch_calls(class_attributes, profile: str | None = None, **kwargs) -> None:
    """boto3's documented way to extend the client classes it generates:
    "it is still possible to extend the functionality of classes through
    Boto3's event system" (https://docs.aws.amazon.com/boto3/latest/guide/events.html),
    here the creating-client-class event, whose class_attributes hold one
    method per API operation (_PY_TO_OP_NAME maps their names)."""
    for py_name, operation in class_attributes.get("_PY_TO_OP_NAME", {}).items():
        if py_name in class_attributes:
            class_attributes[py_name] = _watched(class_attributes[py_name], operation, profile)


# --- sessions -------------------------------------------------------------------
def chosen_profile(profile: str | None = None) -> str | None:
    """The profile boto3 uses: --profile, else the environment's, else none
    (the default chain). Assumed from botocore's own lookup, which reads
    AWS_DEFAULT_PROFILE, then AWS_PROFILE (botocore/configprovider.py); the
    AWS documentation names only AWS_PROFILE."""
    return profile or os.environ.get("AWS_DEFAULT_PROFILE") or os.environ.get("AWS_PROFILE") or None


def profile_source(name: str | None) -> str:
    for variable in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        if name and name == os.environ.get(variable):
            return f" (from {variable})"
    return ""


def session(region: str, profile: str | None = None, read_timeout: float = READ_TIMEOUT) -> boto3.Session:
    """The session every ops client comes from: the time-outs above on each of
    its clients (a Config passed to client() would still win, so none is), and
    each call watched (_watch_calls). A profile that does not exist is a usage
    error naming it."""
    core = botocore.session.get_session()
    core.set_default_client_config(
        Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
        )
    )
    # Each session names its own profile in its errors (preflight holds one per target account).
    core.register("creating-client-class", functools.partial(_watch_calls, profile=chosen_profile(profile)))
    try:
        return boto3.Session(botocore_session=core, region_name=region, profile_name=profile)
    except botocore.exceptions.ProfileNotFound as error:
        raise explain(error) from None


def _login(profile: str | None) -> str:
    # "Retrieves and caches an AWS IAM Identity Center access token to exchange
    # for AWS credentials. To login, the requested profile must have first been
    # setup using aws configure sso." (https://docs.aws.amazon.com/cli/latest/reference/sso/login.html)
    return f"`aws sso login --profile {profile}`" if profile else "`aws sso login`"


# --- one line per error ---------------------------------------------------------
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
}
SSO_ERRORS = (
    botocore.exceptions.SSOError,  # SSOTokenLoadError, UnauthorizedSSOTokenError
    botocore.exceptions.TokenRetrievalError,
)
NETWORK_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)
# AWS's own "is not authorized to perform: service:Action" names the action.
_DENIED_ACTION = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")


def _first_line(text: str) -> str:
    # One line: a proxy or an emulator may answer with a whole HTML page,
    # whose first line (`<!doctype html>`) says nothing.
    line = (str(text).strip().splitlines() or [""])[0][:200]
    return HTML_PAGE if line.startswith("<") else line


HTML_PAGE = "(an HTML page, not an AWS error: a proxy or an emulator answered)"


def what_failed(error: Exception, resource: str | None = None) -> str:
    """`GetPipelineState on pipeline kiro-pipeline-test`, as much as is known."""
    call = _call_of(error)
    operation = getattr(error, "operation_name", None) or (call.operation if call else "")
    resource = resource or getattr(error, "ops_resource", None) or (call.resource if call else None)
    if not operation:
        return resource or ""
    named = f"{call.service} {operation}" if call and isinstance(error, NETWORK_ERRORS) else operation
    return f"{named} on {resource}" if resource else named


def explain(error: Exception, doing: str | None = None, resource: str | None = None) -> OpsError:
    """Turn a botocore exception into an OpsError of one line that names the
    call (operation and resource) and says what to do. `doing` is what the
    command was at ("configuring s3://bucket"), `resource` overrides what the
    call's own parameters name."""
    during = f" while {doing}" if doing else ""
    call = _call_of(error)
    subject = what_failed(error, resource)
    profile = call.profile if call else chosen_profile()
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        name = error.kwargs.get("profile") or profile
        return OpsError(
            f"AWS profile {name!r}{profile_source(name)} is not configured: see `aws configure list-profiles`, "
            "then pass --profile NAME or set AWS_PROFILE to one of them",
            EXIT_USAGE,
        )
    if isinstance(error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return OpsError(
            f"no AWS credentials{during}: run `aws configure`, or {_login(profile or 'NAME')} for an SSO "
            "profile, then pass --profile NAME or set AWS_PROFILE"
        )
    if isinstance(error, SSO_ERRORS):
        who = f"profile {profile!r}" if profile else "the default profile"
        return OpsError(
            f"the AWS SSO login of {who} is missing or expired{during}: run {_login(profile)} and retry "
            f"({_first_line(error)})"
        )
    if isinstance(error, NETWORK_ERRORS):
        return _no_answer(error, during, call, subject)
    if isinstance(error, botocore.exceptions.ClientError):
        return _refused(error, during, call, subject, profile)
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return OpsError(f"AWS error{during}: {subject + ' failed: ' if subject else ''}{_first_line(error)}")
    return OpsError(f"unexpected error{during}: {_first_line(error)}")


def _no_answer(error: Exception, during: str, call, subject: str | None) -> OpsError:
    """A call that timed out or could not connect: which endpoint, how long."""
    endpoint = error.kwargs.get("endpoint_url") or (call.endpoint if call else "") or "AWS"
    if isinstance(error, botocore.exceptions.ReadTimeoutError):
        within = f" within {call.read_timeout:g} s" if call and call.read_timeout else ""
        tries = f" ({call.attempts} attempts)" if call and call.attempts else ""
        why = f"did not answer{within}{tries}"
    else:
        why = f"could not be reached ({type(error).__name__})"
    return OpsError(
        f"no answer from AWS{during}: {subject or 'the call'} — {endpoint} {why}; check the network, VPN "
        "or proxy (and AWS_ENDPOINT_URL if set), then retry, or pass --timeout SECONDS for a slow link"
    )


def _refused(error, during: str, call, subject: str | None, profile: str | None) -> OpsError:
    """An error AWS answered: access denied names the missing action."""
    error_code = code(error)
    message = _first_line(error.response.get("Error", {}).get("Message", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if error_code in ACCESS_DENIED:
        named = _DENIED_ACTION.search(message)
        action = named.group(1) if named else (call.action if call else None)
        needs = f" needs {action}" if action else " was denied"
        detail = f" ({message})" if message and message != error_code else ""
        return OpsError(f"access denied{during}: {subject}{needs}{detail}; your role needs that permission")
    if error_code in BAD_CREDENTIALS:
        return OpsError(
            f"AWS credentials are expired or invalid{during} ({subject}: {error_code}): refresh them "
            f"({_login(profile)} for an SSO profile) and retry"
        )
    shown = f"HTTP {status}" if not error_code or error_code == str(status) else f"{error_code} (HTTP {status})"
    detail = f": {message}" if message and message != error_code else ""
    detail = f" {message}" if message == HTML_PAGE else detail
    return OpsError(f"AWS error{during}: {subject} failed: {shown}{detail}")
