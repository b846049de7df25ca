"""A small evaluator of the IAM rules a role trust policy relies on, written
from the IAM documentation (not from AWS code, which is not public), to judge
the deployer roles' trust (ops/deployers.py) where no emulator can: moto
compares principals literally and evaluates few condition operators.

What it models, and the sentence of the IAM User Guide each rule rests on:

* Saving a trust policy (`save_trust_policy`). "AWS JSON policy elements:
  Principal" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
  "If your Principal element in a role trust policy contains an ARN that
  points to a specific IAM role, then that ARN transforms to the role unique
  principal ID when you save the policy." (the same for users). A principal
  that does not exist is refused: "This error message indicates that the value
  of a Principal element in your IAM trust policy isn't valid. [...] If the
  IAM role trust policy uses IAM identities (users, user groups, and roles) as
  principals, then confirm that the user or role wasn't deleted."
  (https://repost.aws/knowledge-center/iam-trust-policy-error; the API error is
  `MalformedPolicyDocument: Invalid principal in policy`). Accounts are
  assumed to exist.
* Showing it (`shown`): "You don't normally see this ID in the console,
  because IAM uses a reverse transformation back to the role ARN when the
  trust policy is displayed. However, if you delete the role, then you break
  the relationship. [...] the principal ID appears in resource-based policies
  because AWS can no longer map it back to a valid ARN."
* An account as principal: "This delegates authority to the account. When
  you allow access to a different account, an administrator in that account
  must then grant access to an identity (IAM user or role) in that account."
  and "The account ARN and the shortened account ID behave the same way. Both
  delegate permissions to the account. Using the account ARN in the Principal
  element does not limit permissions to only the root user of the account."
  Within one account too, "IAM role trust policies and KMS key policies are
  exceptions to this logic, because they must explicitly allow access for
  principals." ("Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  an account principal admits a role only when the role's identity policy
  allows the call (`Caller.identity`).
* A role as principal: matched by the unique ID stored at save time, so a
  recreated role (new ID) does not match: "The policy no longer applies, even
  if you recreate the role because the new role has a new principal ID that
  does not match the ID stored in the trust policy." That such a statement
  admits its role in the same account without the role's identity policy is
  assumed (the docs say so for users and sessions, not for role ARNs); it is
  not what our trust relies on.
* `aws:PrincipalArn` ("AWS global condition context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn):
  "Use this key to compare the Amazon Resource Name (ARN) of the principal
  that made the request with the ARN that you specify in the policy. For IAM
  roles, the request context returns the ARN of the role, not the ARN of the
  user that assumed the role." and "This key is always included in the request
  context." Principal page: "Because AWS does not convert condition key ARNs
  to IDs, permissions granted to the role ARN persist if you delete the role
  and then create a new role with the same name." `aws:PrincipalAccount` is
  in the context too ("This key is always included in the request context.").
* ARN and string operators ("Condition operators",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  ArnEquals/ArnLike: "Case-sensitive matching of the ARN. Each of the six
  colon-delimited components of the ARN is checked separately and each can
  include multi-character match wildcards (*) or single-character match
  wildcards (?). The ArnEquals and ArnLike condition operators behave
  identically."; ArnNotEquals/ArnNotLike: "Negated matching for ARN";
  StringEquals: "Exact matching, case sensitive"; StringLike: wildcards
  "anywhere in the string". "If the key that you specify in a policy condition
  is not present in the request context, the values do not match and the
  condition is false. If the policy condition requires that the key is not
  matched, such as StringNotLike or ArnNotLike, and the right key is not
  present, the condition is true." Several values of one key match if any
  does, several keys and operators must all match (assumed: the usual reading
  of the Condition element, not quoted here).
* Explicit deny wins (evaluation logic): "If the enforcement code finds even
  one explicit deny that applies, the code returns a final decision of Deny."
* Cross-account ("Cross-account policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
  "AWS evaluates the request in the trusting account and the trusted account.
  [...] The request is allowed only if both evaluations return a decision of
  Allow."

Not modelled, and refused with `NotModelled` rather than guessed: the `*`
principal, NotPrincipal, NotAction, other condition operators and keys, SCPs,
permissions boundaries and session policies.
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

ASSUME_ROLE = "sts:AssumeRole"
_ACCOUNT = re.compile(r"^\d{12}$")
_ACCOUNT_ARN = re.compile(r"^arn:[\w-]+:iam::(\d{12}):root$")
_IDENTITY_ARN = re.compile(r"^arn:[\w-]+:iam::\d{12}:(role|user)/.+$")


class MalformedPolicyDocument(Exception):
    """What IAM answers when a trust policy names a principal that does not exist."""


class NotModelled(Exception):
    """A policy element this evaluator does not know: no verdict rather than a guess."""


@dataclass(frozen=True)
class Role:
    """An IAM role as IAM knows it: its ARN, and the unique ID it got when created."""

    arn: str
    unique_id: str

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


class Identity(enum.Enum):
    """What the caller's identity-based policies say about sts:AssumeRole on the target role."""

    ALLOWS = "allows"
    SILENT = "silent"  # no statement applies: an implicit deny
    DENIES = "denies"  # an explicit Deny


@dataclass(frozen=True)
class Caller:
    role: Role
    identity: Identity = Identity.ALLOWS


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str

    def __bool__(self) -> bool:
        return self.allowed


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _values(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _aws_principals(statement: dict) -> list[str]:
    if "NotPrincipal" in statement:
        raise NotModelled("NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and "*" in _values(principal.get("AWS", []))):
        raise NotModelled("the * principal")
    if not isinstance(principal, dict):
        raise NotModelled(f"Principal {principal!r}")
    return _values(principal.get("AWS", []))


def save_trust_policy(document: dict, existing_roles: Iterable[Role]) -> dict:
    """The policy as IAM stores it: each role or user ARN principal replaced by
    that identity's unique ID. Raises MalformedPolicyDocument, as IAM does, for
    an ARN principal that names no existing identity."""
    by_arn = {role.arn: role.unique_id for role in existing_roles}
    stored = copy.deepcopy(document)
    for statement in _statements(stored):
        principals = _aws_principals(statement)
        converted = []
        for principal in principals:
            if _IDENTITY_ARN.match(principal):
                if principal not in by_arn:
                    raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{principal}"')
                converted.append(by_arn[principal])
            else:
                converted.append(principal)
        statement["Principal"]["AWS"] = converted[0] if isinstance(statement["Principal"]["AWS"], str) else converted
    return stored


def shown(stored: dict, existing_roles: Iterable[Role]) -> dict:
    """The policy as GetRole shows it: unique IDs mapped back to the ARN of the
    role that has them, or left as they are when that role is gone."""
    by_id = {role.unique_id: role.arn for role in existing_roles}
    displayed = copy.deepcopy(stored)
    for statement in _statements(displayed):
        principals = [by_id.get(p, p) for p in _aws_principals(statement)]
        aws = statement["Principal"]["AWS"]
        statement["Principal"]["AWS"] = principals[0] if isinstance(aws, str) else principals
    return displayed


def _like(pattern: str, value: str) -> bool:
    """`*` any run of characters, `?` one character; everything else literal, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.S) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """Six colon-delimited components, each matched on its own (the last one
    is the rest of the ARN, colons included)."""
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) == 6 and all(_like(p, v) for p, v in zip(patterns, values, strict=True))


_OPERATORS = {
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "stringequals": (lambda pattern, value: pattern == value, False),
    "stringlike": (_like, False),
}


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator.lower() not in _OPERATORS:
            raise NotModelled(f"condition operator {operator}")
        match, negated = _OPERATORS[operator.lower()]
        for key, expected in tests.items():
            # Condition key names are not case-sensitive.
            value = context.get(key.lower())
            if value is None:
                if not negated:
                    return False
                continue
            matched = any(match(pattern, value) for pattern in _values(expected))
            if matched == negated:
                return False
    return True


def _action_applies(statement: dict) -> bool:
    if "NotAction" in statement:
        raise NotModelled("NotAction")
    # Action names are not case-sensitive (assumed here as in IAM generally).
    return any(_like(a.lower(), ASSUME_ROLE.lower()) for a in _values(statement.get("Action", [])))


def assume_role(stored: dict, target_role_arn: str, caller: Caller) -> Decision:
    """May `caller` (a role's session) call sts:AssumeRole on the role whose
    trust policy, as stored, is `stored`?"""
    context = {
        "aws:principalarn": caller.role.arn,
        "aws:principalaccount": caller.role.account,
    }
    trusting = target_role_arn.split(":")[4]
    admitted = set()
    for statement in _statements(stored):
        if not _action_applies(statement):
            continue
        how = None
        for principal in _aws_principals(statement):
            if _IDENTITY_ARN.match(principal):
                raise NotModelled("a role ARN principal in a stored policy: save it first (save_trust_policy)")
            account = _ACCOUNT_ARN.match(principal)
            if (account and account.group(1) == caller.role.account) or principal == caller.role.account:
                how = how or "account"
            elif principal == caller.role.unique_id:
                how = "role"
        if how is None or not _condition_holds(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(False, f"explicit Deny in the trust policy ({statement.get('Sid', 'no Sid')})")
        admitted.add(how)
    if caller.identity is Identity.DENIES:
        return Decision(False, "explicit Deny in the caller's identity policy")
    if not admitted:
        return Decision(False, "the trust policy admits neither the caller's role nor its account")
    if "role" in admitted and caller.role.account == trusting:
        return Decision(True, "the trust policy names the caller's role")
    if caller.identity is Identity.ALLOWS:
        return Decision(True, "the trust policy admits the caller and its identity policy allows the call")
    if caller.role.account != trusting:
        return Decision(False, "cross-account: the trusted account's evaluation (its identity policy) does not allow")
    return Decision(False, "the trust policy admits the caller's account, whose identity policy does not allow it")


def trust_before_v0_20(project_role_arn: str) -> dict:
    """The deployer roles' trust that versions before v0.20.0 wrote: the
    deploy project role's ARN as principal (IAM pins it to the role's unique
    ID when saved, so it breaks when the role is recreated)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyItsDeployProject",
                "Effect": "Allow",
                "Principal": {"AWS": project_role_arn},
                "Action": "sts:AssumeRole",
            }
        ],
    }
