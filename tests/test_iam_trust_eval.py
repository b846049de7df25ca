"""The deployer roles' trust (ops/deployers.py) judged by an evaluator of the
IAM rules it relies on (tests/support/iam_trust_eval.py), after the evaluator
itself is held to the IAM User Guide's own examples, quoted below.

No emulator can judge this trust: moto's IAM enforcement compares principals
literally and evaluates few condition operators, and it accepts a principal
that does not exist. The half moto can judge, the deploy project role's
identity policy, is asserted on moto in tests/test_ops_deployers.py."""

from __future__ import annotations

import dataclasses

import pytest

from environments import load
from environments.config import standard_deploy_targets
from ops import deployers
from tests.support.iam_trust_eval import (
    Caller,
    Identity,
    MalformedPolicyDocument,
    NotModelled,
    Role,
    assume_role,
    save_trust_policy,
    shown,
    trust_before_v0_20,
)

ACCOUNT = "123456789012"  # the guide's example account
TARGET = f"arn:aws:iam::{ACCOUNT}:role/Target"


def trust(principal, condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def role(arn, unique_id):
    return Role(arn, unique_id)


# --- The IAM User Guide's examples -----------------------------------------


@pytest.mark.parametrize(
    "principal",
    [
        # "AWS JSON policy elements: Principal", AWS account principals: "given
        # an account ID of 123456789012, you can use either of the following
        # methods to specify that account in the Principal element:"
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"AWS": "123456789012"},
    ],
)
def test_an_account_principal_delegates_to_the_accounts_identity_policies(principal):
    """ "The account ARN and the shortened account ID behave the same way. Both
    delegate permissions to the account. Using the account ARN in the
    Principal element does not limit permissions to only the root user of the
    account." And "an administrator in that account must then grant access to
    an identity (IAM user or role) in that account"."""
    stored = save_trust_policy(trust(principal), [])
    anyone = role(f"arn:aws:iam::{ACCOUNT}:role/AnyRole", "AROAANYROLE000000001")
    assert assume_role(stored, TARGET, Caller(anyone, Identity.ALLOWS))
    refused = assume_role(stored, TARGET, Caller(anyone, Identity.SILENT))
    assert not refused and "identity policy" in refused.why
    elsewhere = role("arn:aws:iam::555555555555:role/AnyRole", "AROAELSEWHERE0000001")
    assert not assume_role(stored, TARGET, Caller(elsewhere, Identity.ALLOWS))


def test_a_role_principal_is_pinned_to_the_unique_id_and_a_recreated_role_loses_access():
    """Principal page, IAM role principals: "If your Principal element in a
    role trust policy contains an ARN that points to a specific IAM role, then
    that ARN transforms to the role unique principal ID when you save the
    policy. [...] You don't normally see this ID in the console, because IAM
    uses a reverse transformation back to the role ARN when the trust policy
    is displayed. However, if you delete the role, then you break the
    relationship. The policy no longer applies, even if you recreate the role
    because the new role has a new principal ID that does not match the ID
    stored in the trust policy. When this happens, the principal ID appears in
    resource-based policies because AWS can no longer map it back to a valid
    ARN. [...] you must edit the role in the policy to replace the principal ID
    with the correct ARN. The ARN once again transforms into the role's new
    principal ID when you save the policy.\""""
    arn = f"arn:aws:iam::{ACCOUNT}:role/role-name"
    first, second = role(arn, "AROAFIRST00000000001"), role(arn, "AROASECOND0000000001")
    document = trust({"AWS": arn})
    stored = save_trust_policy(document, [first])
    assert stored["Statement"][0]["Principal"] == {"AWS": "AROAFIRST00000000001"}
    assert shown(stored, [first]) == document
    assert assume_role(stored, TARGET, Caller(first))
    # Deleted and recreated under the same name.
    assert shown(stored, [second])["Statement"][0]["Principal"] == {"AWS": "AROAFIRST00000000001"}
    assert not assume_role(stored, TARGET, Caller(second))
    # Edited back to the ARN and saved: transformed to the new ID.
    assert assume_role(save_trust_policy(document, [second]), TARGET, Caller(second))


def test_a_principal_that_does_not_exist_is_refused_when_saved():
    """Knowledge Center, "Invalid principal in policy": "This error message
    indicates that the value of a Principal element in your IAM trust policy
    isn't valid. [...] If the IAM role trust policy uses IAM identities (users,
    user groups, and roles) as principals, then confirm that the user or role
    wasn't deleted." Its example principals, "arn:aws:iam::123456789012:role/role-name"
    among them; the account forms need no identity."""
    with pytest.raises(MalformedPolicyDocument, match='Invalid principal in policy: "AWS":"arn:aws:iam::'):
        save_trust_policy(trust({"AWS": "arn:aws:iam::123456789012:role/role-name"}), [])
    with pytest.raises(MalformedPolicyDocument):
        save_trust_policy(trust({"AWS": ["arn:aws:iam::123456789012:user/user-name"]}), [])
    save_trust_policy(trust({"AWS": "arn:aws:iam::123456789012:root"}), [])


def test_principal_arn_survives_a_recreated_role():
    """Principal page: "Alternatively, you can [...] use the aws:PrincipalArn
    condition key. [...] Because AWS does not convert condition key ARNs to
    IDs, permissions granted to the role ARN persist if you delete the role and
    then create a new role with the same name." Global condition keys,
    aws:PrincipalArn: "For IAM roles, the request context returns the ARN of
    the role, not the ARN of the user that assumed the role.\""""
    arn = f"arn:aws:iam::{ACCOUNT}:role/role-name"
    stored = save_trust_policy(
        trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"ArnEquals": {"aws:PrincipalArn": arn}}), []
    )
    for incarnation in (role(arn, "AROAFIRST00000000001"), role(arn, "AROASECOND0000000001")):
        assert assume_role(stored, TARGET, Caller(incarnation))
    assert not assume_role(stored, TARGET, Caller(role(f"arn:aws:iam::{ACCOUNT}:role/other", "AROAOTHER00000000001")))


def test_arn_operators_match_component_by_component_and_string_operators_do_not():
    """Condition operators, ARN: "if the following pattern is used for
    matching: arn:aws:someservice:*:111122223333:finance/* And the following
    value is in the request:
    arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt
    With a StringLike condition, the match succeeds. [...] With an ArnLike
    condition, which matches elements between colons, the match fails."
    (Here the value is the caller's aws:PrincipalArn.)"""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    caller = Caller(role(value, "AROAEXAMPLE000000001"))
    account = f"arn:aws:iam::{value.split(':')[4]}:root"
    for operator, expected in (("StringLike", True), ("ArnLike", False), ("ArnEquals", False)):
        stored = save_trust_policy(trust({"AWS": account}, {operator: {"aws:PrincipalArn": pattern}}), [])
        assert bool(assume_role(stored, TARGET, caller)) is expected, operator
    # ArnNotLike is the negation: it holds exactly where ArnLike does not.
    stored = save_trust_policy(trust({"AWS": account}, {"ArnNotLike": {"aws:PrincipalArn": pattern}}), [])
    assert assume_role(stored, TARGET, caller)


def test_a_condition_on_a_key_the_request_does_not_have_is_false():
    """Condition operators: "If the key that you specify in a policy condition
    is not present in the request context, the values do not match and the
    condition is false." (the guide's SQS example key, aws:SourceArn, is not in
    an AssumeRole request made by a role's own credentials)."""
    stored = save_trust_policy(
        trust({"AWS": ACCOUNT}, {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:REGION:123456789012:TOPIC-ID"}}), []
    )
    assert not assume_role(stored, TARGET, Caller(role(f"arn:aws:iam::{ACCOUNT}:role/r", "AROAR000000000000001")))


def test_an_explicit_deny_wins():
    """Evaluation logic: "If the enforcement code finds even one explicit deny
    that applies, the code returns a final decision of Deny.\""""
    caller = Caller(role(f"arn:aws:iam::{ACCOUNT}:role/r", "AROAR000000000000001"))
    allow = trust({"AWS": ACCOUNT})["Statement"][0]
    deny = trust({"AWS": ACCOUNT}, {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/r"}}, "Deny")
    stored = save_trust_policy({"Version": "2012-10-17", "Statement": [allow, *deny["Statement"]]}, [])
    denied = assume_role(stored, TARGET, caller)
    assert not denied and "explicit Deny" in denied.why
    only_allow = save_trust_policy(trust({"AWS": ACCOUNT}), [])
    assert not assume_role(only_allow, TARGET, dataclasses.replace(caller, identity=Identity.DENIES))


def test_cross_account_needs_both_sides():
    """Cross-account evaluation: "AWS evaluates the request in the trusting
    account and the trusted account. [...] The request is allowed only if both
    evaluations return a decision of Allow.\""""
    bob = role("arn:aws:iam::111111111111:role/Bob", "AROABOB0000000000001")
    alice = "arn:aws:iam::222222222222:role/Alice"
    for principal in ({"AWS": bob.arn}, {"AWS": "111111111111"}):
        stored = save_trust_policy(trust(principal), [bob])
        assert assume_role(stored, alice, Caller(bob, Identity.ALLOWS))
        assert not assume_role(stored, alice, Caller(bob, Identity.SILENT))


def test_what_is_not_modelled_is_refused_rather_than_guessed():
    with pytest.raises(NotModelled):
        save_trust_policy(trust("*"), [])
    with pytest.raises(NotModelled):
        stored = save_trust_policy(trust({"AWS": ACCOUNT}, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), [])
        assume_role(stored, TARGET, Caller(role(f"arn:aws:iam::{ACCOUNT}:role/r", "AROAR000000000000001")))


# --- Our trust policy --------------------------------------------------------


@pytest.fixture(params=["same account", "target in another account"])
def setting(request):
    config = load("test")
    if request.param == "target in another account":
        elsewhere = standard_deploy_targets("test", "210987654321", "https://{stage}-{env}.acme.io/health")
        config = dataclasses.replace(config, deploy_targets=elsewhere)
    target = config.deploy_targets[-1]
    project = Role(deployers.project_role_arn(config, target), "AROAPROJECT000000001")
    return config, target, project


def test_our_trust_saves_before_the_pipeline_stack_exists_and_the_old_one_did_not(setting):
    config, target, _ = setting
    save_trust_policy(deployers.trust_policy(config, target), existing_roles=[])
    with pytest.raises(MalformedPolicyDocument, match="Invalid principal in policy"):
        save_trust_policy(trust_before_v0_20(deployers.project_role_arn(config, target)), existing_roles=[])


def test_the_deploy_project_role_may_assume_its_deployer_role(setting):
    config, target, project = setting
    stored = save_trust_policy(deployers.trust_policy(config, target), [project])
    assert assume_role(stored, target.role_arn, Caller(project, Identity.ALLOWS))
    # Its identity policy is half of it (AssumeTargetDeployRole, asserted on moto).
    assert not assume_role(stored, target.role_arn, Caller(project, Identity.SILENT))


def test_another_role_of_the_pipeline_account_is_refused(setting):
    config, target, _ = setting
    build = Role(
        f"arn:aws:iam::{config.account_id}:role/{config.names.role('build')}",
        "AROABUILD00000000001",
    )
    other_stage = Role(
        deployers.project_role_arn(config, config.deploy_targets[0]),
        "AROAOTHERSTAGE000001",
    )
    stored = save_trust_policy(deployers.trust_policy(config, target), [build, other_stage])
    for caller in (build, other_stage):
        refused = assume_role(stored, target.role_arn, Caller(caller, Identity.ALLOWS))
        assert not refused, caller.arn


def test_a_recreated_project_role_keeps_access_with_our_trust_and_lost_it_with_the_old(setting):
    config, target, first = setting
    recreated = dataclasses.replace(first, unique_id="AROARECREATED0000001")
    ours = save_trust_policy(deployers.trust_policy(config, target), [])
    assert assume_role(ours, target.role_arn, Caller(recreated))
    old = save_trust_policy(trust_before_v0_20(deployers.project_role_arn(config, target)), [first])
    assert assume_role(old, target.role_arn, Caller(first))
    assert not assume_role(old, target.role_arn, Caller(recreated))
    # What preflight then reads back from IAM: the old role's unique ID.
    assert shown(old, [recreated])["Statement"][0]["Principal"] == {"AWS": first.unique_id}


def test_a_role_of_the_same_name_in_another_account_is_refused(setting):
    config, target, project = setting
    impostor = Role(project.arn.replace(config.account_id, "999999999999"), "AROAIMPOSTOR00000001")
    stored = save_trust_policy(deployers.trust_policy(config, target), [project])
    assert not assume_role(stored, target.role_arn, Caller(impostor, Identity.ALLOWS))
