"""The synthesized S3 backend, proven with real Terraform core against moto.

The moto server listens on 127.0.0.1 only and is bootstrapped by
`ops.bootstrap`. Terraform receives the exact backend block that the app
synthesizes for `test`; the only additions are endpoint and credential
settings that point it at moto (`MOTO_ONLY`), and the test checks they
override nothing the app wrote.
"""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.request

import boto3
import pytest

from environments import load
from ops import cli
from tests.support.terraform import start, terraform, write_config
from topology import naming

pytestmark = pytest.mark.terraform

ENV = "test"
LOCK_ERROR = "Error acquiring the state lock"
NO_INPUT = ("-input=false", "-no-color")


@pytest.fixture
def aws(moto_url, monkeypatch, tmp_path):
    """A freshly bootstrapped `test` state backend on the moto server."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
        "TF_IN_AUTOMATION": "1",
        # An empty CLI config: no ~/.terraformrc warnings, no plugin cache.
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
    }.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "terraformrc").write_text("")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    assert cli.main(["bootstrap", ENV]) == 0
    # moto cannot evaluate aws:SecureTransport: it applies the bucket's
    # conditional Deny to every object request, TLS or not. The policy itself
    # is checked in test_bootstrap.py; here it would only block Terraform.
    boto3.client("s3").delete_bucket_policy(Bucket=load(ENV).state_bucket)
    return moto_url


def moto_only(url: str) -> dict:
    return {
        "endpoints": {"s3": url, "dynamodb": url, "sts": url},
        "use_path_style": True,
        "access_key": "testing",
        "secret_key": "testing",
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
    }


def backend_for(stack, url: str) -> dict:
    """The stack's synthesized S3 backend, pointed at moto."""
    synthesized = stack.backend
    extra = moto_only(url)
    assert not set(extra) & set(synthesized), "test settings must not replace synthesized ones"
    return {**copy.deepcopy(synthesized), **extra}


def config_with(backend: dict, **blocks) -> dict:
    return {"terraform": {"backend": {"s3": backend}}, **blocks}


def state_object(stack) -> dict:
    body = boto3.client("s3").get_object(Bucket=stack.backend["bucket"], Key=stack.backend["key"])["Body"]
    return json.loads(body.read())


def lock_items(stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.backend["dynamodb_table"])["Items"]
    return [i for i in items if i["LockID"]["S"] == f"{stack.backend['bucket']}/{stack.backend['key']}"]


def state_versions(stack) -> list[str]:
    listing = boto3.client("s3").list_object_versions(Bucket=stack.backend["bucket"], Prefix=stack.backend["key"])
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == stack.backend["key"]]


def test_synthesized_backend_targets_the_bootstrapped_bucket_and_table(stacks):
    core = stacks[naming.stack_id("core", ENV)]
    config = load(ENV)
    assert core.backend["bucket"] == config.state_bucket
    assert core.backend["dynamodb_table"] == config.state_lock_table


def test_init_and_apply_write_state_to_the_stack_key(aws, stacks, tmp_path):
    core = stacks[naming.stack_id("core", ENV)]
    workdir = write_config(
        tmp_path / "core",
        config_with(
            backend_for(core, aws),
            resource={"terraform_data": {"marker": {"input": "kiro"}}},
            output={"marker": {"value": "${terraform_data.marker.output}"}},
        ),
    )
    init = terraform(workdir, "init", *NO_INPUT)
    assert init.code == 0, init.stderr
    assert 'Successfully configured the backend "s3"' in init.stdout
    apply = terraform(workdir, "apply", "-auto-approve", *NO_INPUT)
    assert apply.code == 0, apply.stderr

    state = state_object(core)
    assert core.backend["key"] == "core-test/terraform.tfstate"
    assert [(r["type"], r["name"]) for r in state["resources"]] == [("terraform_data", "marker")]
    assert state["outputs"]["marker"]["value"] == "kiro"
    # DynamoDB locking keeps a digest of the state beside the lock.
    digests = boto3.client("dynamodb").scan(TableName=core.backend["dynamodb_table"])["Items"]
    assert [i["LockID"]["S"] for i in digests] == [f"{core.backend['bucket']}/{core.backend['key']}-md5"]
    assert lock_items(core) == []


def test_a_lock_is_held_during_apply_and_a_concurrent_apply_is_refused(aws, stacks, tmp_path):
    core = stacks[naming.stack_id("core", ENV)]
    release = tmp_path / "release"
    # The resource's provisioner waits for `release`, so the first apply holds
    # the lock exactly as long as the test needs (at most 120 s).
    wait_for_release = f"for i in $(seq 1200); do [ -f {release} ] && exit 0; sleep 0.1; done; exit 1"
    config = config_with(
        backend_for(core, aws),
        resource={
            "terraform_data": {"slow": {"input": "v1", "provisioner": [{"local-exec": {"command": wait_for_release}}]}}
        },
    )
    first, second = write_config(tmp_path / "first", config), write_config(tmp_path / "second", config)
    for workdir in (first, second):
        init = terraform(workdir, "init", *NO_INPUT)
        assert init.code == 0, init.stderr

    holder = start(first, "apply", "-auto-approve", *NO_INPUT)
    try:
        deadline = time.monotonic() + 60
        while not lock_items(core):
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline, "the first apply never took the lock"
            time.sleep(0.2)

        (lock,) = lock_items(core)
        info = json.loads(lock["Info"]["S"])
        assert info["Operation"] == "OperationTypeApply"
        assert info["Path"] == f"{core.backend['bucket']}/{core.backend['key']}"
        lock_file = boto3.client("s3").head_object(Bucket=core.backend["bucket"], Key=core.backend["key"] + ".tflock")
        assert lock_file["ContentLength"] > 0, "use_lockfile: the S3 lock file is held as well"

        versions_before = state_versions(core)
        refused = terraform(second, "apply", "-auto-approve", "-lock-timeout=0s", *NO_INPUT)
        assert refused.code != 0
        assert LOCK_ERROR in refused.stderr
        assert info["ID"] in refused.stderr, "the refusal names the lock that blocks it"
        assert state_versions(core) == versions_before, "the refused apply wrote nothing"
    finally:
        release.touch()
        stdout, stderr = holder.communicate(timeout=180)
    assert holder.returncode == 0, stderr
    assert "Apply complete! Resources: 1 added" in stdout

    # Released, and the state is whole: the other working directory now sees it.
    assert lock_items(core) == []
    state = state_object(core)
    assert [(r["type"], r["name"]) for r in state["resources"]] == [("terraform_data", "slow")]
    plan = terraform(second, "plan", "-detailed-exitcode", *NO_INPUT)
    assert plan.code == 0, plan.stdout + plan.stderr  # 0: no changes


def test_every_cross_stack_reference_of_the_pipeline_reads_core_state(aws, stacks, tmp_path):
    """Each `terraform_remote_state` read that CDKTF generated for pipeline-test
    returns what core-test's state holds."""
    core = stacks[naming.stack_id("core", ENV)]
    pipeline = stacks[naming.stack_id("pipeline", ENV)]

    remote_states = pipeline.data("terraform_remote_state")
    assert list(remote_states) == [f"cross-stack-reference-input-{core.path.parent.name}"]
    (remote,) = remote_states.values()
    assert remote["backend"] == "s3"
    # The same bucket, key and region as core's backend; a read takes no lock,
    # so the lock settings are left out (BaseStack.to_terraform).
    lock_settings = ("use_lockfile", "dynamodb_table")
    assert remote["config"] == {k: v for k, v in core.backend.items() if k not in lock_settings}

    # Every reference to core's state, wherever it appears in the pipeline stack.
    pattern = re.compile(r"data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]+")
    references = sorted({m for _, v in pipeline.walk() if isinstance(v, str) for m in pattern.findall(v)})
    used_outputs = {ref.rsplit(".", 1)[1] for ref in references}
    assert used_outputs <= set(core.outputs), "pipeline reads an output core does not write"
    assert len(references) >= 4  # bucket name and ARN, key ARN, table name and ARN...

    # Producer: core's own backend and cross-stack outputs, with known values.
    produced = {name: f"value-of-{name}" for name in core.outputs if name.startswith("cross-stack-output-")}
    producer_dir = write_config(
        tmp_path / "producer",
        config_with(backend_for(core, aws), output={n: {"value": v} for n, v in produced.items()}),
    )
    for command in (("init",), ("apply", "-auto-approve")):
        result = terraform(producer_dir, *command, *NO_INPUT)
        assert result.code == 0, result.stderr

    # Consumer: pipeline's own backend and its remote-state block verbatim
    # (plus moto endpoints), with one output per reference.
    data = copy.deepcopy(remote_states)
    for block in data.values():
        block["config"].update(moto_only(aws))
    consumer_dir = write_config(
        tmp_path / "consumer",
        config_with(
            backend_for(pipeline, aws),
            data={"terraform_remote_state": data},
            output={f"ref{i}": {"value": "${" + ref + "}"} for i, ref in enumerate(references)},
        ),
    )
    for command in (("init",), ("apply", "-auto-approve")):
        result = terraform(consumer_dir, *command, *NO_INPUT)
        assert result.code == 0, result.stderr
    seen = json.loads(terraform(consumer_dir, "output", "-json").stdout)
    for i, ref in enumerate(references):
        assert seen[f"ref{i}"]["value"] == produced[ref.rsplit(".", 1)[1]], ref
