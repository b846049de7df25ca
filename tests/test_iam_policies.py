"""Least privilege, checked over every IAM policy document in every stack.

Fails on an Allow with a wildcard action, on a `*` resource that is not in
the allow-list below, on iam:PassRole without specific roles and an
iam:PassedToService condition, and on any policy that bypasses the policy
documents (an inline JSON string the walker could not read).
"""

from __future__ import annotations

import re

import pytest

from tests.support.synth import SynthesizedStack

# (stack concern, policy document, statement sid) -> why `*` is the resource.
STAR_RESOURCE_ALLOWED = {
    # In a key policy, "*" means "this key"; AWS requires it there.
    ("core", "key_policy", "EnableRootAccountAdministration"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowCloudWatchLogsForThisEnvironment"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowAlarmNotificationsToEncryptedTopics"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowEventBridgeToEncryptedTopics"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowPipelineNotificationsToEncryptedTopics"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowProjectRolesThroughTheirServices"): "key policy: * is the key itself",
    ("core", "key_policy", "AllowDynamoDbGrantsForThisEnvironment"): "key policy: * is the key itself",
    ("core", "signing_key_policy", "EnableRootAccountAdministration"): "key policy: * is the key itself",
    # cloudwatch:PutMetricData has no resource type; a namespace condition limits it.
    ("pipeline", "build_role_policy_document", "PublishCoverageMetric"): "PutMetricData has no resource type",
    (
        "monitoring",
        "execution_age_role_policy_document",
        "PublishPipelineMetrics",
    ): "PutMetricData has no resource type",
    (
        "monitoring",
        "deployment_recorder_role_policy_document",
        "PublishPipelineMetrics",
    ): "PutMetricData has no resource type",
    ("monitoring", "health_probe_role_policy_document", "PublishPipelineMetrics"): "PutMetricData has no resource type",
    ("monitoring", "dora_metrics_role_policy_document", "PublishPipelineMetrics"): "PutMetricData has no resource type",
    # xray:PutTraceSegments and xray:PutTelemetryRecords have no resource type.
    ("monitoring", "rollback_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    ("monitoring", "dora_metrics_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    ("monitoring", "incident_recorder_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    (
        "monitoring",
        "deployment_recorder_role_policy_document",
        "SendTraces",
    ): "X-Ray trace actions have no resource type",
    ("monitoring", "execution_age_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    ("monitoring", "slack_notifier_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    ("monitoring", "health_probe_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
    ("monitoring", "freeze_gate_role_policy_document", "SendTraces"): "X-Ray trace actions have no resource type",
}
# Only the account root may hold a service-wide action, and only on the key.
STAR_ACTION_ALLOWED = {
    ("core", "key_policy", "EnableRootAccountAdministration"),
    ("core", "signing_key_policy", "EnableRootAccountAdministration"),
}

POLICY_ATTRIBUTES = ("policy", "assume_role_policy", "policy_document")
DOCUMENT_REFERENCE = re.compile(r"^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$")


def statements(stacks: dict[str, SynthesizedStack]):
    for stack_id, stack in stacks.items():
        concern = stack_id.split("-")[0]
        for document, body in stack.data("aws_iam_policy_document").items():
            for statement in body["statement"]:
                yield concern, document, statement


def test_the_walker_sees_every_stacks_policies(stacks):
    concerns = {concern for concern, _, _ in statements(stacks)}
    assert concerns == {"core", "pipeline", "monitoring"}
    assert sum(1 for _ in statements(stacks)) > 50


def test_every_policy_is_a_readable_policy_document(stacks):
    """A policy written as a raw JSON string would escape the checks below."""
    for stack_id, stack in stacks.items():
        for resource_type, resources in stack.json.get("resource", {}).items():
            for name, resource in resources.items():
                for attribute in POLICY_ATTRIBUTES:
                    if attribute in resource:
                        assert DOCUMENT_REFERENCE.match(resource[attribute]), (
                            f"{stack_id}: {resource_type}.{name}.{attribute} is not an aws_iam_policy_document"
                        )
                assert "inline_policy" not in resource and "managed_policy_arns" not in resource, name


def test_no_wildcard_actions_in_grants(stacks):
    offenders = []
    for concern, document, statement in statements(stacks):
        if statement["effect"] != "Allow":
            continue
        if (concern, document, statement.get("sid")) in STAR_ACTION_ALLOWED:
            continue
        offenders += [(concern, document, statement.get("sid"), a) for a in statement["actions"] if "*" in a]
    assert offenders == []


def test_star_resources_only_where_aws_requires_them(stacks):
    offenders, used = [], set()
    for concern, document, statement in statements(stacks):
        if statement["effect"] != "Allow" or "*" not in statement.get("resources", []):
            continue
        key = (concern, document, statement.get("sid"))
        if key in STAR_RESOURCE_ALLOWED:
            used.add(key)
        else:
            offenders.append(key)
    assert offenders == []
    assert used == set(STAR_RESOURCE_ALLOWED), "an allow-list entry no longer matches anything: remove it"


def test_grants_name_their_resources(stacks):
    for concern, document, statement in statements(stacks):
        if statement["effect"] == "Allow" and statement["actions"] != ["sts:AssumeRole"]:
            assert statement.get("resources"), (concern, document, statement.get("sid"))
        for resource in statement.get("resources", []):
            if resource != "*" and "*" in resource:
                # A wildcard only below something this project names: a
                # Terraform reference or a kiro-pipeline-{env} name.
                named = resource.startswith("${") or "kiro-pipeline-" in resource.split("*")[0]
                assert named, (concern, document, resource)


def test_pass_role_is_specific_and_conditioned(stacks):
    for concern, document, statement in statements(stacks):
        if statement["effect"] == "Allow" and "iam:PassRole" in statement["actions"]:
            assert "*" not in statement["resources"], (concern, document)
            assert any(c["variable"] == "iam:PassedToService" for c in statement.get("condition", [])), (
                concern,
                document,
            )


def test_denies_are_denies(stacks):
    """The Denies are the non-TLS guard (it may use s3:* because it denies)
    and the signing key's: no one but the build role signs (modules/core.py)."""
    denies = [(c, d, s["sid"]) for c, d, s in statements(stacks) if s["effect"] == "Deny"]
    assert denies and all(
        sid == "DenyInsecureTransport" or (d, sid) == ("signing_key_policy", "OnlyTheBuildRoleSigns")
        for _, d, sid in denies
    )


@pytest.mark.parametrize(
    "bad, test",
    [
        (
            {"effect": "Allow", "actions": ["s3:*"], "resources": ["arn:aws:s3:::b"], "sid": "X"},
            test_no_wildcard_actions_in_grants,
        ),
        (
            {"effect": "Allow", "actions": ["s3:GetObject"], "resources": ["*"], "sid": "X"},
            test_star_resources_only_where_aws_requires_them,
        ),
        (
            {"effect": "Allow", "actions": ["iam:PassRole"], "resources": ["arn:aws:iam::1:role/r"], "sid": "X"},
            test_pass_role_is_specific_and_conditioned,
        ),
    ],
)
def test_the_checks_catch_a_bad_statement(stacks, bad, test, tmp_path):
    """Each check fails when a bad statement is planted in a copy of a stack."""
    import copy
    import json

    stack_id = next(s for s in stacks if s.startswith("pipeline-"))
    planted = copy.deepcopy(stacks[stack_id].json)
    planted["data"]["aws_iam_policy_document"]["planted"] = {"statement": [bad]}
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(planted))
    with pytest.raises(AssertionError):
        test({**stacks, stack_id: SynthesizedStack(path)})
