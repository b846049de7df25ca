"""core-{env}: every property the deployment guide and issue #2 name, per environment."""

from __future__ import annotations

import pytest

from tests.support.synth import condition, statement_by_sid
from topology import naming

KEY_REF = "${aws_kms_key.key.arn}"
BUCKET_ID_REF = "${aws_s3_bucket.artifacts_bucket.id}"


@pytest.fixture
def core(stacks, env_config):
    return stacks[naming.stack_id("core", env_config.name)]


class TestBaseStack:
    def test_provider_region_account_and_default_tags(self, core, env_config):
        (provider,) = core.json["provider"]["aws"]
        assert provider["region"] == env_config.region
        assert provider["allowed_account_ids"] == [env_config.account_id]
        assert provider["default_tags"] == [
            {
                "tags": {
                    "project": naming.PROJECT,
                    "environment": env_config.name,
                    "stack": naming.stack_id("core", env_config.name),
                    "managed-by": "cdktf",
                }
            }
        ]

    def test_backend_is_per_environment_and_per_stack(self, core, env_config):
        assert core.backend == {
            "bucket": env_config.names.state_bucket,
            "key": naming.state_key(naming.stack_id("core", env_config.name)),
            "region": env_config.region,
            "encrypt": True,
            "dynamodb_table": env_config.names.state_lock_table,
            "use_lockfile": True,
        }

    def test_terraform_version_and_provider_are_pinned(self, core):
        assert core.json["terraform"]["required_version"] == ">= 1.10.0"
        assert core.json["terraform"]["required_providers"]["aws"]["version"] == "6.25.0"

    def test_every_stack_has_its_own_state_key(self, stacks):
        keys = [s.backend["key"] for s in stacks.values()]
        assert len(keys) == len(set(keys)) == len(stacks)
        assert all(s.backend["key"] == naming.state_key(stack_id) for stack_id, s in stacks.items())


class TestKmsKey:
    def test_rotation_and_alias(self, core, env_config):
        key = core.resource("aws_kms_key", "key")
        assert key["enable_key_rotation"] is True
        assert key["rotation_period_in_days"] == 365
        assert key["deletion_window_in_days"] == 30
        alias = core.resource("aws_kms_alias", "key_alias")
        assert alias["name"] == env_config.names.kms_alias
        assert alias["target_key_id"] == "${aws_kms_key.key.key_id}"

    def test_only_the_account_root_gets_kms_star(self, core, env_config):
        statements = core.policy_statements(core.resource("aws_kms_key", "key")["policy"])
        with_star = [s for s in statements if any(a in ("*", "kms:*") for a in s["actions"])]
        assert [s["sid"] for s in with_star] == ["EnableRootAccountAdministration"]
        assert with_star[0]["principals"] == [
            {"type": "AWS", "identifiers": [f"arn:aws:iam::{env_config.account_id}:root"]}
        ]

    def test_every_other_statement_is_scoped_by_a_condition(self, core):
        statements = core.policy_statements(core.resource("aws_kms_key", "key")["policy"])
        for statement in statements:
            if statement["sid"] != "EnableRootAccountAdministration":
                assert statement.get("condition"), f"{statement['sid']} has no condition"
                assert not any(a.endswith("*") for a in statement["actions"]), statement["sid"]

    def test_services_that_use_the_key(self, core, env_config):
        region, account, prefix = env_config.region, env_config.account_id, env_config.names.pipeline
        statements = core.policy_statements(core.resource("aws_kms_key", "key")["policy"])

        logs = statement_by_sid(statements, "AllowCloudWatchLogsForThisEnvironment")
        assert logs["principals"] == [{"type": "Service", "identifiers": [f"logs.{region}.amazonaws.com"]}]
        assert condition(logs, "ArnLike", "kms:EncryptionContext:aws:logs:arn") == [
            f"arn:aws:logs:{region}:{account}:log-group:{env_config.names.pipeline_log_group}",
            f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{prefix}-*",
            f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*",
        ]

        alarms = statement_by_sid(statements, "AllowAlarmNotificationsToEncryptedTopics")
        assert alarms["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
        assert condition(alarms, "StringEquals", "aws:SourceAccount") == [account]
        assert condition(alarms, "ArnLike", "aws:SourceArn") == [
            f"arn:aws:cloudwatch:{region}:{account}:alarm:{prefix}-*"
        ]

        events = statement_by_sid(statements, "AllowEventBridgeToEncryptedTopics")
        assert events["principals"][0]["identifiers"] == ["events.amazonaws.com"]
        assert condition(events, "ArnLike", "aws:SourceArn") == [f"arn:aws:events:{region}:{account}:rule/{prefix}-*"]

        notifications = statement_by_sid(statements, "AllowPipelineNotificationsToEncryptedTopics")
        assert notifications["principals"][0]["identifiers"] == ["codestar-notifications.amazonaws.com"]
        assert condition(notifications, "StringEquals", "kms:ViaService") == [f"sns.{region}.amazonaws.com"]

        roles = statement_by_sid(statements, "AllowProjectRolesThroughTheirServices")
        assert condition(roles, "StringEquals", "kms:ViaService") == [
            f"{s}.{region}.amazonaws.com"
            for s in ("codebuild", "codepipeline", "dynamodb", "lambda", "s3", "secretsmanager", "sns", "sqs")
        ]
        assert condition(roles, "ArnLike", "aws:PrincipalArn") == [f"arn:aws:iam::{account}:role/{prefix}-*"]
        assert condition(roles, "StringEquals", "kms:CallerAccount") == [account]

        grants = statement_by_sid(statements, "AllowDynamoDbGrantsForThisEnvironment")
        assert grants["actions"] == ["kms:CreateGrant"]
        assert condition(grants, "Bool", "kms:GrantIsForAWSResource") == ["true"]


class TestArtifactsBucket:
    def test_name(self, core, env_config):
        bucket = core.resource("aws_s3_bucket", "artifacts_bucket")
        assert bucket["bucket"] == env_config.names.artifacts_bucket
        assert bucket["force_destroy"] is False

    def test_sse_kms_with_the_project_key_and_a_bucket_key(self, core):
        encryption = core.resource("aws_s3_bucket_server_side_encryption_configuration", "artifacts_bucket_encryption")
        assert encryption["bucket"] == BUCKET_ID_REF
        assert encryption["rule"] == [
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY_REF},
                "bucket_key_enabled": True,
            }
        ]

    def test_versioning(self, core):
        versioning = core.resource("aws_s3_bucket_versioning", "artifacts_bucket_versioning")
        assert versioning["bucket"] == BUCKET_ID_REF
        assert versioning["versioning_configuration"] == {"status": "Enabled"}

    def test_public_access_is_blocked_all_four_ways(self, core):
        block = core.resource("aws_s3_bucket_public_access_block", "artifacts_bucket_public_access_block")
        assert block["bucket"] == BUCKET_ID_REF
        for setting in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
            assert block[setting] is True, setting

    def test_bucket_owner_enforced(self, core):
        ownership = core.resource("aws_s3_bucket_ownership_controls", "artifacts_bucket_ownership")
        assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}

    def test_policy_denies_non_tls(self, core):
        policy = core.resource("aws_s3_bucket_policy", "artifacts_bucket_policy")
        assert policy["bucket"] == BUCKET_ID_REF
        (deny,) = core.policy_statements(policy["policy"])
        assert deny["effect"] == "Deny"
        assert deny["principals"] == [{"type": "AWS", "identifiers": ["*"]}]
        assert deny["resources"] == ["${aws_s3_bucket.artifacts_bucket.arn}", "${aws_s3_bucket.artifacts_bucket.arn}/*"]
        assert condition(deny, "Bool", "aws:SecureTransport") == ["false"]

    def test_lifecycle(self, core):
        lifecycle = core.resource("aws_s3_bucket_lifecycle_configuration", "artifacts_bucket_lifecycle")
        (rule,) = lifecycle["rule"]
        assert rule["status"] == "Enabled"
        assert rule["filter"] == [{"prefix": ""}]
        assert rule["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"}]
        assert rule["expiration"] == [{"days": 90}]
        assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
        assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


class TestDeploymentsTable:
    def test_keys_index_and_ttl(self, core, env_config):
        table = core.resource("aws_dynamodb_table", "deployments_table")
        assert table["name"] == env_config.names.deployments_table
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["hash_key"] == "deploymentId"
        assert "range_key" not in table
        assert sorted(table["attribute"], key=lambda a: a["name"]) == [
            {"name": "deploymentId", "type": "S"},
            {"name": "environment", "type": "S"},
            {"name": "startTime", "type": "S"},
        ]
        assert table["global_secondary_index"] == [
            {
                "name": env_config.names.deployments_index,
                "hash_key": "environment",
                "range_key": "startTime",
                "projection_type": "ALL",
            }
        ]
        assert table["ttl"] == {"attribute_name": "expiresAt", "enabled": True}

    def test_the_synthesized_table_is_the_contract_table_the_function_tests_create(self, core, env_config):
        """Function and store tests build the table from the record contract
        (tests/support/tables.py) instead of a synth: this holds the two equal."""
        from tests.support.tables import contract_table_request

        table = core.resource("aws_dynamodb_table", "deployments_table")
        (index,) = table["global_secondary_index"]
        synthesized = {
            "TableName": table["name"],
            "BillingMode": table["billing_mode"],
            "AttributeDefinitions": sorted(
                ({"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]),
                key=lambda a: a["AttributeName"],
            ),
            "KeySchema": [{"AttributeName": table["hash_key"], "KeyType": "HASH"}]
            + ([{"AttributeName": table["range_key"], "KeyType": "RANGE"}] if "range_key" in table else []),
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index["name"],
                    "Projection": {"ProjectionType": index["projection_type"]},
                    "KeySchema": [
                        {"AttributeName": index["hash_key"], "KeyType": "HASH"},
                        {"AttributeName": index["range_key"], "KeyType": "RANGE"},
                    ],
                }
            ],
        }
        contract = contract_table_request(env_config.names.deployments_table, env_config.names.deployments_index)
        contract["AttributeDefinitions"] = sorted(contract["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        assert synthesized == contract

    def test_recovery_and_encryption(self, core):
        table = core.resource("aws_dynamodb_table", "deployments_table")
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": KEY_REF}

    def test_deletion_protection_only_in_production(self, core, env_config):
        table = core.resource("aws_dynamodb_table", "deployments_table")
        assert table["deletion_protection_enabled"] is (env_config.name == "production")


class TestLogGroups:
    @pytest.mark.parametrize(
        "construct, name",
        [("pipeline_log_group", "pipeline_log_group"), ("rollback_log_group", "rollback_log_group")],
    )
    def test_encrypted_with_retention(self, core, env_config, construct, name):
        group = core.resource("aws_cloudwatch_log_group", construct)
        assert group["name"] == getattr(env_config.names, name)
        assert group["retention_in_days"] == env_config.log_retention_days
        assert group["kms_key_id"] == KEY_REF


def test_outputs_are_named_for_what_they_are(core):
    # CDKTF adds `cross-stack-output-*` outputs of its own for other stacks' reads.
    named = {n: o["value"] for n, o in core.outputs.items() if not n.startswith("cross-stack-output-")}
    assert named == {
        "kms_key_arn": KEY_REF,
        "signing_key_arn": "${aws_kms_key.signing_key.arn}",
        "artifacts_bucket_name": "${aws_s3_bucket.artifacts_bucket.bucket}",
        "artifacts_bucket_arn": "${aws_s3_bucket.artifacts_bucket.arn}",
        "deployments_table_name": "${aws_dynamodb_table.deployments_table.name}",
        "deployments_table_arn": "${aws_dynamodb_table.deployments_table.arn}",
        "pipeline_log_group_name": "${aws_cloudwatch_log_group.pipeline_log_group.name}",
        "pipeline_log_group_arn": "${aws_cloudwatch_log_group.pipeline_log_group.arn}",
        "rollback_log_group_name": "${aws_cloudwatch_log_group.rollback_log_group.name}",
        "rollback_log_group_arn": "${aws_cloudwatch_log_group.rollback_log_group.arn}",
    }


class TestAccessLogs:
    def test_artifact_access_is_logged_to_the_access_log_bucket(self, core, env_config):
        logs = core.resource("aws_s3_bucket", "access_logs_bucket")
        assert logs["bucket"] == env_config.names.access_logs_bucket
        logging = core.resource("aws_s3_bucket_logging", "artifacts_bucket_logging")
        assert logging["bucket"] == BUCKET_ID_REF
        assert logging["target_bucket"] == "${aws_s3_bucket.access_logs_bucket.id}"
        assert logging["target_prefix"] == "artifacts/"

    def test_only_s3_logging_for_the_artifacts_bucket_may_write(self, core, env_config):
        policy = core.resource("aws_s3_bucket_policy", "access_logs_bucket_policy")
        statements = core.policy_statements(policy["policy"])
        allow = statement_by_sid(statements, "AllowServerAccessLogsOfTheArtifactsBucket")
        assert allow["principals"] == [{"type": "Service", "identifiers": ["logging.s3.amazonaws.com"]}]
        assert allow["actions"] == ["s3:PutObject"]
        assert allow["resources"] == ["${aws_s3_bucket.access_logs_bucket.arn}/artifacts/*"]
        assert condition(allow, "ArnLike", "aws:SourceArn") == [f"arn:aws:s3:::{env_config.names.artifacts_bucket}"]
        assert condition(allow, "StringEquals", "aws:SourceAccount") == [env_config.account_id]
        assert statement_by_sid(statements, "DenyInsecureTransport")["effect"] == "Deny"

    def test_access_logs_use_sse_s3_and_expire(self, core):
        encryption = core.resource(
            "aws_s3_bucket_server_side_encryption_configuration", "access_logs_bucket_encryption"
        )
        # S3 server access logging cannot deliver to an SSE-KMS bucket.
        assert encryption["rule"][0]["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
        (rule,) = core.resource("aws_s3_bucket_lifecycle_configuration", "access_logs_bucket_lifecycle")["rule"]
        assert rule["expiration"] == [{"days": 90}]
        assert "transition" not in rule


def test_checkov_skips_carry_reasons_in_the_json(core):
    skips = core.resource("aws_s3_bucket", "artifacts_bucket")["//"]["checkov"]
    assert skips == [
        "checkov:skip=CKV2_AWS_62: nothing consumes artifact-bucket events; CodePipeline tracks its own artifacts",
        "checkov:skip=CKV_AWS_144: cross-region replication is out of scope for a 90-day artifact bucket; "
        "a lost region rebuilds artifacts from source",
    ]
