"""The AWS value rules: what each AWS service accepts for a value a team
writes in its environment file (an account ID, a region and its partition, a
role ARN, a log retention, a bucket name...), and the bounds each consumer
needs. Pure functions and constants: `validation.py` applies them to a
configuration, and `ops` reuses the same functions for its flags, so a value
accepted in one place is accepted in the other.

Each rule names the AWS documentation it follows; where the documentation is
silent, the comment says "assumed".
"""

from __future__ import annotations

import re

# The rules the Lambda functions apply to the same values at run time: the
# configuration refuses what they would refuse, with their own reasons.
from functions.shared.urls import https_url_problem
from functions.shared.window import cron_problem, time_zone_problem

__all__ = [
    "ACCOUNT_ID_PATTERN",
    "BUCKET_SUFFIX_PATTERN",
    "BUILD_TIMEOUT_RANGE",
    "CDK_BOOTSTRAP_ROLES",
    "COMPUTE_TYPES",
    "DEPLOYMENT_DURATION_RANGE",
    "DYNAMODB_TABLE_PATTERN",
    "HEALTH_CHECK_DURATION_RANGE",
    "KMS_DELETION_WINDOW_RANGE",
    "LOG_RETENTION_DAYS",
    "MAX_RECORD_TTL_DAYS",
    "MIN_STANDARD_IA_DAYS",
    "PARTITION_PREFIXES",
    "PATH_GLOB_PATTERN",
    "POLICY_PATH_PATTERN",
    "POLLING_INTERVAL_RANGE",
    "QUEUED_TIMEOUT_RANGE",
    "REGION_PATTERN",
    "ROLE_ARN_PATTERN",
    "ROLE_NAME_PATTERN",
    "VERSION_PATTERN",
    "cron_problem",
    "email_problem",
    "github_owner_problem",
    "github_repo_problem",
    "https_url_problem",
    "is_region",
    "partition_of",
    "time_zone_problem",
    "valid_branch_name",
    "valid_bucket_name",
]

# CloudWatch Logs accepts only these retention periods: "Possible values are:
# 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
# 2192, 2557, 2922, 3288, and 3653." (PutRetentionPolicy, retentionInDays,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# Every pattern matches the whole value (fullmatch) with ASCII classes only:
# `$` would accept a trailing newline, and `\d` would accept Unicode digits.
# "The regex pattern for an account ID string requires exactly 12 digits."
# (Organizations DescribeAccount, AccountId,
# https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html)
ACCOUNT_ID_PATTERN = re.compile(r"[0-9]{12}", re.ASCII)
# A region name's form (assumed: AWS publishes the list of regions, not a
# grammar; this is the form every published name has, partition qualifier
# included, so `partition_of` can then name its partition).
REGION_PATTERN = re.compile(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]",
    re.ASCII,
)
# Assumed: one '@', no spaces, a dot in the domain (SNS sends the
# confirmation; it documents no grammar for the endpoint).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+", re.ASCII)
# GitHub has no reference page for these; they are its forms' own messages
# (assumed the rule): a user or organisation name "may only contain
# alphanumeric characters or single hyphens, and cannot begin or end with a
# hyphen", at most 39 characters (so no dots); a repository name holds ASCII
# letters, digits, '.', '-' and '_' (at most 100), and is not '.' or '..'
# (git's own names for a folder and its parent).
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", re.ASCII)
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
# A role name "consisting of upper and lowercase alphanumeric characters with
# no spaces. You can also include any of the following characters: _+=,.@-",
# 1 to 64 characters (CreateRole, RoleName,
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html);
# the ARN's partitions are the ones this project names (PARTITION_PREFIXES).
ROLE_ARN_PATTERN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}", re.ASCII)
# A CodePipeline trigger's file-path glob (assumed: no spaces, at most 255
# characters; the trigger reference gives no grammar).
PATH_GLOB_PATTERN = re.compile(r"[^\s]{1,255}", re.ASCII)
# CodeBuild's Linux container compute types: "BUILD_GENERAL1_SMALL: Use up to
# 4 GiB memory and 2 vCPUs for builds." ... "BUILD_GENERAL1_2XLARGE"
# (ProjectEnvironment, computeType,
# https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectEnvironment.html).
COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)
# A suffix inside a bucket name: the bucket naming rules' characters, without
# dots (the whole name is then checked by valid_bucket_name).
BUCKET_SUFFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.ASCII)
# "Table names and index names must be between 3 and 255 characters long, and
# can contain only the following characters: a-z A-Z 0-9 _ (underscore) -
# (dash) . (dot)" (DynamoDB naming rules,
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
DYNAMODB_TABLE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,255}", re.ASCII)
# A release version of the scanner (not AWS): MAJOR.MINOR.PATCH.
VERSION_PATTERN = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)

# The roles `cdk bootstrap` creates (any qualifier, account and region).
CDK_BOOTSTRAP_ROLES = (
    "cdk-*-deploy-role-*",
    "cdk-*-file-publishing-role-*",
    "cdk-*-image-publishing-role-*",
    "cdk-*-lookup-role-*",
)
# An IAM role-name pattern: the role name's characters (CreateRole, above)
# and '*'.
ROLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9+=,.@_*-]{1,64}", re.ASCII)
# An IAM policy name with an optional path: path/to/Name.
POLICY_PATH_PATTERN = re.compile(r"(?:[\x21-\x7E]{1,510}/)?[A-Za-z0-9+=,.@_-]{1,128}", re.ASCII)

# Bounds each consumer needs. CodeBuild: timeoutInMinutes "from 5 to 2160 (36
# hours)" (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html),
# queuedTimeoutInMinutes "Valid Range: Minimum value of 5. Maximum value of
# 480." (same page). DynamoDB TTL: items with an expiry more than five years in
# the past are not deleted (assumed: the TTL page's wording varies); we cap at
# ten years so a typo of millions of days is refused. CloudWatch: "For alarms
# with a period of less than one hour (3,600 seconds), the total evaluation
# period can't be longer than one day (86,400 seconds)." (PutMetricAlarm,
# Period, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
# CodePipeline CloudWatchAlarm rule: WaitTime is in minutes (5 min to 1 day is
# what this project allows; a longer bake blocks the pipeline for days).
MAX_RECORD_TTL_DAYS = 3650
QUEUED_TIMEOUT_RANGE = (5, 480)
BUILD_TIMEOUT_RANGE = (5, 2160)
HEALTH_CHECK_DURATION_RANGE = (5, 1440)
POLLING_INTERVAL_RANGE = (1, 1440)
DEPLOYMENT_DURATION_RANGE = (1, 10080)
# PendingWindowInDays: "If you include a value, it must be between 7 and 30,
# inclusive." (ScheduleKeyDeletion,
# https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html)
KMS_DELETION_WINDOW_RANGE = (7, 30)
# Transition Days: "If the specified storage class is STANDARD_IA or
# ONEZONE_IA, valid values are positive integers greater than 30."
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Transition.html). 30
# itself is accepted (assumed from the default of 30, deployed since the first
# release; the User Guide's transition constraints speak of "at least 30 days").
MIN_STANDARD_IA_DAYS = 30


def is_region(name: str) -> bool:
    """Whether `name` has the form of an AWS region name (us-east-1, eu-central-2...)."""
    return REGION_PATTERN.fullmatch(name) is not None


def github_owner_problem(text: str) -> str | None:
    """Why `text` is not a GitHub user or organisation name, or None. The
    rule of `github.owner`; `ops setup-parameters` checks its flag with it."""
    if not isinstance(text, str) or not _GITHUB_OWNER.fullmatch(text):
        return (
            f"{text!r} is not a GitHub user or organisation name (1-39 letters, digits or single inner "
            "hyphens; no dots, spaces or newlines)"
        )
    return None


def github_repo_problem(text: str) -> str | None:
    """Why `text` is not a GitHub repository name, or None (the rule of
    `github.repo`, shared with `ops setup-parameters`)."""
    if not isinstance(text, str) or not _GITHUB_REPO.fullmatch(text) or text in (".", ".."):
        return f"{text!r} is not a GitHub repository name (1-100 letters, digits, '.', '-' or '_', and not '.' or '..')"
    return None


def email_problem(text: str) -> str | None:
    """Why `text` is not an email address, or None (the rule of
    `notification_email`, shared with `ops subscribe` and `setup-parameters`)."""
    if not isinstance(text, str) or not _EMAIL.fullmatch(text):
        return f"{text!r} is not an email address such as devops@example.com"
    return None


def valid_bucket_name(name: str) -> str | None:
    """Why `name` is not a valid general-purpose S3 bucket name, or None.

    S3's "General purpose buckets naming rules": "Bucket names must be between
    3 (min) and 63 (max) characters long.", "can consist only of lowercase
    letters, numbers, dots (.), and hyphens (-).", "must begin and end with a
    letter or number.", "must not contain two adjacent periods.", "must not be
    formatted as an IP address", and the reserved prefixes and suffixes below
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name, re.ASCII):
        return (
            "may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent dots"
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", name):
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by S3)"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by S3)"
    return None


def valid_branch_name(name: str) -> str | None:
    """Why `name` is not a branch name git accepts (`git check-ref-format
    --branch`), or None."""
    if not name or len(name) > 255:
        return "must be 1 to 255 characters long"
    if name == "@" or name.startswith("-"):
        return "must not be '@' or start with '-'"
    if any(ord(c) < 0x20 or c == "\x7f" or c in " ~^:?*[\\" for c in name):
        return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
    if not name.isascii():
        return "must be ASCII (CodePipeline trigger filters match ASCII branch names)"
    if ".." in name or "@{" in name or "//" in name:
        return "must not contain '..', '@{' or '//'"
    if name.startswith("/") or name.endswith(("/", ".")) or name.endswith(".lock"):
        return "must not start with '/' or end with '/', '.' or '.lock'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "no path component may start with '.' or end with '.lock'"
    return None


# Each partition's regions, by the prefix of their names: the partitions'
# `regionRegex` in the AWS SDKs' endpoint data (botocore's partitions.json;
# tests/test_config_values.py compares). "Every Region is in exactly one
# partition" (AWS Fault Isolation Boundaries, Partitions,
# https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


def partition_of(region: str) -> str | None:
    """The partition of a region name (`aws` for the commercial regions), or
    None for a name with a qualifier no partition has (`us-isoz-east-1`)."""
    for prefix, partition in PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    # A commercial region has no qualifier between its country and its direction.
    return None if re.match(r"[a-z]{2}-(?:gov|iso[a-z]?)-", region, re.ASCII) else "aws"
