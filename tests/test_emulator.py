"""The emulator rules of the rehearsal, on synthesized stacks: what is not
emulated, and which second-plan differences are excused."""

from __future__ import annotations

from tools import emulator, stack_graph
from tools.terraform_cli import Result
from topology import naming


def test_what_is_not_emulated_includes_its_dependents(stacks):
    config = stacks[naming.stack_id("pipeline", "test")].json
    patched, excluded = emulator.patch(config, "http://127.0.0.1:1")
    assert (
        excluded["aws_codeconnections_connection.github_connection"]
        == emulator.NOT_EMULATED["aws_codeconnections_connection"]
    )
    # The pipeline is deployed (tools/moto_server.py): only the connection it names is stood in for.
    assert "aws_codepipeline.pipeline" not in excluded
    assert all(not a.startswith("aws_iam_role") for a in excluded)
    # The connection's ARN is stood in for; nothing refers to the resource any more.
    assert "${aws_codeconnections_connection." not in repr(patched)
    assert set(stack_graph.apply_targets(patched, excluded)).isdisjoint(excluded)


def test_a_dependent_of_a_not_emulated_resource_is_excluded_with_its_reason():
    config = {
        "resource": {
            "aws_codebuild_report_group": {"reports": {"name": "r"}},
            "aws_iam_role_policy": {"p": {"policy": "${data.aws_iam_policy_document.d.json}"}},
            "aws_s3_bucket": {"b": {"bucket": "b"}},
        },
        "data": {
            "aws_iam_policy_document": {
                "d": {"statement": [{"resources": ["${aws_codebuild_report_group.reports.arn}"]}]}
            }
        },
    }
    assert emulator.not_emulated(config) == {
        "aws_codebuild_report_group.reports": emulator.NOT_EMULATED["aws_codebuild_report_group"],
        "aws_iam_role_policy.p": "depends on aws_codebuild_report_group.reports, which is not emulated",
    }


def test_endpoints_go_to_the_copy_only(stacks):
    config = stacks[naming.stack_id("monitoring", "test")].json
    patched, _ = emulator.patch(config, "http://127.0.0.1:1")
    assert "endpoints" not in config["terraform"]["backend"]["s3"]
    assert patched["terraform"]["backend"]["s3"]["endpoints"]["s3"] == "http://127.0.0.1:1"
    assert all(
        r["config"]["endpoints"]["dynamodb"] == "http://127.0.0.1:1"
        for r in patched["data"]["terraform_remote_state"].values()
    )
    assert set(patched["provider"]["aws"][0]["endpoints"][0]) == set(emulator.PROVIDER_ENDPOINTS)


def test_only_listed_attributes_are_excused():
    def change(kind, before, after, actions=("update",)):
        return {"type": kind, "change": {"actions": list(actions), "before": before, "after": after}}

    assert emulator.known_artifact(
        change("aws_kms_key", {"rotation_period_in_days": 0}, {"rotation_period_in_days": 365})
    )
    # One listed attribute plus one that is not: a defect, not an artifact.
    assert (
        emulator.known_artifact(
            change(
                "aws_kms_key",
                {"rotation_period_in_days": 0, "policy": "a"},
                {"rotation_period_in_days": 365, "policy": "b"},
            )
        )
        is None
    )
    assert (
        emulator.known_artifact(
            change("aws_s3_bucket", {"rotation_period_in_days": 0}, {"rotation_period_in_days": 365})
        )
        is None
    )
    assert emulator.known_artifact(change("aws_kms_key", {}, {}, actions=("delete", "create"))) is None


# Terraform's own error texts for the two answers the emulator lost (emulator.run_terraform).
LOCK_ID = "96612110-3296-36ce-a909-69729b5c8170"
LOCK_FOUND_BY_RETRY = (
    "Error: Error acquiring the state lock\n\nError message: operation error DynamoDB: PutItem, https response "
    "error\nStatusCode: 400, RequestID:\nKvKTX5r7,\nConditionalCheckFailedException: The conditional request "
    f"failed\nLock Info:\n  ID:        {LOCK_ID}\n  Path:      b/pipeline-test\n"
)
FUNCTION_FOUND_BY_RETRY = (
    "Error: creating Lambda Function (kiro-pipeline-production-incident-recorder): operation error Lambda: "
    "CreateFunction, https response error StatusCode: 409, RequestID: GNlS, ResourceConflictException: "
    "Function already exist: kiro-pipeline-production-incident-recorder\n\n"
    "  with aws_lambda_function.incident_recorder,\n"
    "  on cdk.tf.json line 2204, in resource.aws_lambda_function.incident_recorder:\n"
)
# As a fresh-clone acceptance run printed it (the upgrade gate, 2026-12-07).
PROJECT_FOUND_BY_RETRY = (
    "Error: creating CodeBuild Project (kiro-pipeline-production-build): operation error CodeBuild: "
    "CreateProject, https response error StatusCode: 400, RequestID: 8TskHbAa4HU3, "
    "ResourceAlreadyExistsException: Project already exists: "
    "arn:aws:codebuild:us-east-1:123456789012:project/kiro-pipeline-production-build\n\n"
    "  with aws_codebuild_project.build,\n"
    "  on cdk.tf.json line 1628, in resource.aws_codebuild_project.build:\n"
    "1628:       },\n"
)


def _result(code: int, stderr: str = "") -> Result:
    return Result(code=code, stdout="", stderr=stderr)


def test_a_lock_left_by_a_lost_answer_is_recognised():
    """The rehearsal's one retry: Terraform's own lock, found by the SDK's
    retried PutItem after the emulator lost the first answer (seen in CI)."""
    assert emulator.own_stale_lock(_result(1, LOCK_FOUND_BY_RETRY)) == LOCK_ID
    assert emulator.own_stale_lock(_result(0, LOCK_FOUND_BY_RETRY)) is None
    assert emulator.own_stale_lock(_result(1, "Error: Invalid reference")) is None


def test_what_a_call_whose_answer_was_lost_made_is_recognised():
    """Terraform's own error texts when a retried create finds what the first
    call made (CreateFunction in a loaded rehearsal, CreateProject in a
    fresh-clone run): imported by its import ID, not failed."""
    assert emulator.created_twice(_result(1, FUNCTION_FOUND_BY_RETRY)) == (
        "aws_lambda_function.incident_recorder",
        "kiro-pipeline-production-incident-recorder",
        "CreateFunction",
    )
    assert emulator.created_twice(_result(1, PROJECT_FOUND_BY_RETRY)) == (
        "aws_codebuild_project.build",
        "kiro-pipeline-production-build",
        "CreateProject",
    )
    assert emulator.created_twice(_result(1, "Error: AccessDenied")) is None
    assert emulator.created_twice(_result(0, FUNCTION_FOUND_BY_RETRY)) is None
    assert emulator.created_twice(_result(0, PROJECT_FOUND_BY_RETRY)) is None


def test_each_lost_answer_is_recovered_once_and_reported(tmp_path):
    """The lock is released and the apply run again; the function it then
    finds is imported and the apply run again; both are reported."""

    class Terraform:
        def __init__(self, *results: Result):
            self.results, self.calls = list(results), []

        def run(self, cwd, *args: str) -> Result:
            assert cwd == tmp_path, cwd
            self.calls.append(args)
            return self.results.pop(0)

    done = _result(0)
    terraform = Terraform(_result(1, LOCK_FOUND_BY_RETRY), done, _result(1, FUNCTION_FOUND_BY_RETRY), done, done)
    result, recovered = emulator.run_terraform(terraform, tmp_path, "apply", "-auto-approve")
    assert result is done
    assert terraform.calls == [
        ("apply", "-auto-approve"),
        ("force-unlock", "-force", LOCK_ID),
        ("apply", "-auto-approve"),
        (
            "import",
            "-input=false",
            "-no-color",
            "aws_lambda_function.incident_recorder",
            "kiro-pipeline-production-incident-recorder",
        ),
        ("apply", "-auto-approve"),
    ]
    assert recovered == [
        "released a lock the emulator's lost answer left behind (apply)",
        "imported aws_lambda_function.incident_recorder, made by a CreateFunction whose answer the emulator lost",
    ]
    # The project a lost CreateProject answer left is imported by its name.
    terraform = Terraform(_result(1, PROJECT_FOUND_BY_RETRY), done, done)
    assert emulator.run_terraform(terraform, tmp_path, "apply") == (
        done,
        ["imported aws_codebuild_project.build, made by a CreateProject whose answer the emulator lost"],
    )
    assert terraform.calls[1] == (
        "import",
        "-input=false",
        "-no-color",
        "aws_codebuild_project.build",
        "kiro-pipeline-production-build",
    )
    # Two answers lost in one apply: both recovered, one after the other.
    terraform = Terraform(_result(1, FUNCTION_FOUND_BY_RETRY), done, _result(1, PROJECT_FOUND_BY_RETRY), done, done)
    result, recovered = emulator.run_terraform(terraform, tmp_path, "apply")
    assert result is done and [line.split(",")[0] for line in recovered] == [
        "imported aws_lambda_function.incident_recorder",
        "imported aws_codebuild_project.build",
    ]
    # An import that fails ends the recovery: the apply's own error stands.
    lost = _result(1, PROJECT_FOUND_BY_RETRY)
    terraform = Terraform(lost, _result(1, "Error: Cannot import non-existent remote object"))
    result, recovered = emulator.run_terraform(terraform, tmp_path, "apply")
    assert result is lost and recovered[0].startswith("could not import aws_codebuild_project.build")
    assert len(terraform.calls) == 2
    # A plan that fails for its own reason is not retried.
    failed = _result(1, "Error: Invalid reference")
    terraform = Terraform(failed)
    assert emulator.run_terraform(terraform, tmp_path, "plan") == (failed, [])
    assert terraform.calls == [("plan",)]


def test_codepipeline_timestamps_are_epoch_seconds_of_moto_s_naive_utc():
    """The moto server's CodePipeline patch (tools/moto_server.py): moto's
    utcnow() is naive UTC, read as UTC whatever the machine's time zone."""
    from datetime import UTC, datetime

    assert emulator._epoch_seconds(datetime(1970, 1, 1, 0, 0, 1)) == 1.0
    assert emulator._epoch_seconds(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)) == 60.0


def test_what_depends_on_an_unappliable_update_is_left_out_of_the_apply():
    """`-target` applies a target's dependencies too: targeting the pipeline
    would apply the CodeBuild update moto answers with 500 (seen as a hung
    upgrade rehearsal), so the pipeline is left out with the project."""
    config = {
        "resource": {
            "aws_codebuild_project": {"build": {"name": "b"}},
            "aws_codepipeline": {
                "pipeline": {"stage": [{"action": [{"configuration": {"P": "${aws_codebuild_project.build.name}"}}]}]}
            },
            "aws_s3_bucket": {"b": {"bucket": "b"}},
        }
    }
    unappliable = {"aws_codebuild_project.build": emulator.NOT_UPDATABLE["aws_codebuild_project"]}
    held = stack_graph.dependents(config, unappliable, "whose update the emulator cannot apply")
    assert held == {
        "aws_codepipeline.pipeline": "depends on aws_codebuild_project.build, whose update the emulator cannot apply"
    }
    assert stack_graph.apply_targets(config, {**unappliable, **held}) == ["aws_s3_bucket.b"]


def test_the_core_stacks_lifecycle_configurations_take_the_fast_path_as_the_s3_api_reads_them(stacks):
    """The rehearsal makes them through the API and imports them instead of
    waiting 55 s (emulator.SLOW_TO_CREATE); the request is the S3 API's
    shape, checked against botocore's model."""
    import botocore.session

    config = stacks[naming.stack_id("core", "production")].json
    fast = emulator.fast_created(config)
    assert set(fast) == {
        "aws_s3_bucket_lifecycle_configuration.access_logs_bucket_lifecycle",
        "aws_s3_bucket_lifecycle_configuration.artifacts_bucket_lifecycle",
    }
    bucket, request = fast["aws_s3_bucket_lifecycle_configuration.artifacts_bucket_lifecycle"]
    assert bucket == "artifacts_bucket"
    (rule,) = request["LifecycleConfiguration"]["Rules"]
    assert rule == {
        "ID": "artifact-retention",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "Expiration": {"Days": 90},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
    }
    model = botocore.session.get_session().get_service_model("s3").operation_model("PutBucketLifecycleConfiguration")
    from botocore.validate import ParamValidator

    report = ParamValidator().validate({"Bucket": "b", **request}, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def test_a_lifecycle_configuration_the_converter_does_not_know_is_applied_the_slow_way():
    rule = {"id": "r", "status": "Enabled", "filter": [{"prefix": ""}], "expiration": [{"days": 1}]}
    config = {
        "resource": {
            "aws_s3_bucket_lifecycle_configuration": {
                "known": {"bucket": "${aws_s3_bucket.b.id}", "rule": [rule]},
                "tagged": {"bucket": "${aws_s3_bucket.b.id}", "rule": [{**rule, "filter": [{"tag": [{}]}]}]},
                "dated": {"bucket": "${aws_s3_bucket.b.id}", "rule": [{**rule, "expiration": [{"date": "x"}]}]},
                "owner": {"bucket": "${aws_s3_bucket.b.id}", "rule": [rule], "expected_bucket_owner": "1"},
                "literal": {"bucket": "a-bucket", "rule": [rule]},
            }
        }
    }
    assert list(emulator.fast_created(config)) == ["aws_s3_bucket_lifecycle_configuration.known"]


def test_a_pipeline_held_back_on_an_upgrade_explains_only_its_own_validate_line():
    """On an upgrade, moto has no CodeBuild UpdateProject: a changed project,
    and the pipeline that names it, are left at the previous version, so
    `ops validate` sees the old stages. That ✗ is explained only when the
    pipeline was held back; any other ✗ is not."""
    from tools.rehearse import Rehearsal, StackReport

    output = (
        "✗ Pipeline kiro-pipeline-production exists with its stages: stages are Source, Build; expected ...\n"
        "✗ SNS topic kiro-pipeline-production-approvals: not found\n"
    )
    held = StackReport("pipeline-production", not_updated={"aws_codepipeline.pipeline": "depends on a project"})
    assert Rehearsal("production", [held], validate_output=output).validate_failures == [
        "✗ SNS topic kiro-pipeline-production-approvals: not found"
    ]
    fresh = StackReport("pipeline-production")
    assert len(Rehearsal("production", [fresh], validate_output=output).validate_failures) == 2
