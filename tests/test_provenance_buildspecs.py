"""Build once, deploy the same bytes (docs/security.md): the buildspecs'
provenance blocks, run in bash as CodeBuild would run them.

- The manifest digest (build.yml's post_build and deploy.yml's install hold
  the same `artifact_manifest` text): its expected values are worked out here
  from the definition (one line "sha256  path" per regular file, sorted
  bytewise, SHA-256 over the text), never by running the block to find them.
- Signing, recording and verifying: the real AWS CLI v1 (tests/support/aws_cli.py)
  against a moto server with an ECC_NIST_P256 SIGN_VERIFY key. moto signs and
  verifies ECDSA_SHA_256, but treats MessageType DIGEST as RAW (it hashes the
  32 bytes again, on Sign and on Verify alike: moto/kms/models.py says "The
  MessageType-parameter DIGEST is not yet implemented"), so a signature made
  here verifies here and not on AWS; what is tested is the refusals' logic.
  moto also answers a bad signature with SignatureValid false where AWS
  raises KMSInvalidSignatureException; the block refuses on either.
  GetPipelineExecution is canned (moto has no pipeline executions), after the
  CLI has validated the request against botocore's model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml

from functions.shared.contract import records
from modules.build_project import BAKE_CONDITION, provenance_contract
from topology import naming
from topology.projects import buildspec_file

STAGING = naming.DEPLOY_STAGES["staging"]
MARK_START, MARK_END = "# >>> artifact manifest", "# <<< artifact manifest"


def command(kind: str, phase: str, marker: str) -> str:
    spec = yaml.safe_load(buildspec_file(kind).read_text())
    (found,) = [c for c in spec["phases"][phase]["commands"] if marker in c]
    return found


def manifest_function(kind: str, phase: str) -> str:
    text = command(kind, phase, MARK_START)
    return text[text.index(MARK_START) : text.index(MARK_END) + len(MARK_END)]


def bash(script: str, cwd: Path, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True, timeout=timeout
    )


def digest_of(root: Path, *excluded: str, kind: str = "build", phase: str = "post_build") -> str:
    """The digest as the buildspec's own function computes it."""
    function = manifest_function(kind, phase)
    script = f"{function}\nartifact_manifest . {' '.join(excluded)} | sha256sum | cut -c1-64"
    done = bash(f"set -o pipefail\n{script}", root)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def expected_digest(files: dict[str, bytes]) -> str:
    """The definition, worked here: sorted bytewise, "sha256  path\\n" each."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items())]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


FILES = {
    "package.json": b'{"name": "app", "version": "1.0.0"}\n',
    "dist/app.js": b"console.log('hello');\n",
    "dist/app.js.map": b"{}",
    "dist/a-b.js": b"x",  # '-' (0x2D) sorts before '.' (0x2E) and '/' (0x2F): bytewise, not by locale
    "README.md": b"# app\n",
}


# --- A. the manifest digest ------------------------------------------------------------
def test_build_and_deploy_compute_the_manifest_with_the_same_text():
    assert manifest_function("build", "post_build") == manifest_function("deploy-production", "install")


def test_the_digest_is_the_definitions(tmp_path):
    root = tree(tmp_path / "a", FILES)
    assert digest_of(root) == expected_digest(FILES)
    # The same tree elsewhere, written in another order: the same digest.
    again = tree(tmp_path / "b", dict(reversed(list(FILES.items()))))
    assert digest_of(again) == digest_of(root)


@pytest.mark.parametrize(
    "change",
    ["a changed byte", "a renamed file", "an added empty file", "a removed file"],
)
def test_what_changes_the_digest(tmp_path, change):
    root = tree(tmp_path / "a", FILES)
    before = digest_of(root)
    if change == "a changed byte":
        (root / "dist/app.js").write_bytes(b"console.log('hellO');\n")
    elif change == "a renamed file":
        (root / "README.md").rename(root / "README.txt")
    elif change == "an added empty file":
        (root / "dist/empty").write_bytes(b"")
    else:
        (root / "dist/app.js.map").unlink()
    assert digest_of(root) != before


def test_modes_times_and_empty_directories_do_not_count(tmp_path):
    """Stated, not an oversight: a zip round trip need not keep modes (Python's
    zipfile does not restore them), so counting them would refuse good bytes."""
    root = tree(tmp_path / "a", FILES)
    before = digest_of(root)
    (root / "dist/app.js").chmod(0o755)
    os.utime(root / "README.md", (0, 0))
    (root / "empty-dir").mkdir()
    assert digest_of(root) == before


def test_the_artifacts_exclusions_are_left_out(tmp_path):
    root = tree(tmp_path / "a", {**FILES, "node_modules/x/index.js": b"x", ".git/HEAD": b"ref"})
    assert digest_of(root, "node_modules", ".git") == expected_digest(FILES)
    # And the build leaves out exactly what its artifacts section does.
    spec = yaml.safe_load(buildspec_file("build").read_text())
    excluded = {p.removeprefix("./").removesuffix("/**/*") for p in spec["artifacts"]["exclude-paths"]}
    assert "artifact_manifest . node_modules .git >" in command("build", "post_build", MARK_START)
    assert excluded == {"node_modules", ".git"}


@pytest.mark.parametrize(
    "odd, reason",
    [
        ("symlink", "is not a regular file"),
        ("newline", "a path with a control character"),
        ("latin-1", "a path that is not UTF-8"),
    ],
)
def test_odd_paths_are_refused(tmp_path, odd, reason):
    root = tree(tmp_path / "a", FILES)
    if odd == "symlink":
        (root / "link").symlink_to("README.md")
    elif odd == "newline":
        (root / "two\nlines").write_bytes(b"")
    else:
        os.close(os.open(os.path.join(os.fsencode(root), b"caf\xe9"), os.O_CREAT | os.O_WRONLY))
    done = bash(f"{manifest_function('build', 'post_build')}\nartifact_manifest .", root)
    assert done.returncode == 1
    assert reason in done.stderr


def test_the_build_and_the_deploy_agree_across_a_zip_round_trip(tmp_path):
    """The build computes on its source directory (node_modules and .git
    left out); the deploy on what it received: the same files, zipped and
    unzipped (Python's zipfile standing in for CodeBuild's packaging)."""
    built = tree(tmp_path / "built", {**FILES, "node_modules/x/index.js": b"x", ".git/HEAD": b"ref"})
    (built / "dist/app.js").chmod(0o755)
    archive = tmp_path / "artifact.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in FILES:
            zipped.write(built / path, path)
    received = tmp_path / "received"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(received)
    build_digest = digest_of(built, "node_modules", ".git")
    deploy_digest = digest_of(received, kind="deploy-production", phase="install")
    assert build_digest == deploy_digest == expected_digest(FILES)


# --- B and C: signed, recorded, verified (AWS CLI v1 against moto) ---------------------
TABLE, BUCKET, ENV = "deployments", "artifacts", "production"
EXECUTION = "11111111-2222-3333-4444-555555555555"


class World:
    """A moto server with the table, the signing key, the bucket and the
    deployments topic (read through an SQS queue), and bash with `aws` on PATH."""

    def __init__(self, url: str, root: Path):
        from tests.support import aws_cli
        from tests.support.tables import create_contract_table

        self.url, self.root = url, root
        clients = {
            s: boto3.client(
                s,
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            for s in ("dynamodb", "kms", "s3", "sns", "sqs")
        }
        self.dynamodb, self.kms, self.s3 = clients["dynamodb"], clients["kms"], clients["s3"]
        self.table = f"{TABLE}-{root.name}"
        create_contract_table(self.dynamodb, self.table)
        self.key = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        self.bucket = f"{BUCKET}-{root.name}".lower().replace("_", "-")[:60]
        self.s3.create_bucket(Bucket=self.bucket)
        self.topic = clients["sns"].create_topic(Name=f"deployments-{root.name}")["TopicArn"]
        self.sqs = clients["sqs"]
        self.queue = self.sqs.create_queue(QueueName=f"pages-{root.name}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        clients["sns"].subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        self.canned = root / "canned.json"
        self.canned.write_text("{}")
        self.env = {
            **aws_cli.environment(url, root, bin_dir, self.canned, root / "calls"),
            "DEPLOYMENTS_TABLE": self.table,
            "DEPLOYMENTS_INDEX": naming.DEPLOYMENTS_INDEX,
            "SIGNING_KEY_ARN": self.key,
            "ARTIFACTS_BUCKET": self.bucket,
            "PAGE_TOPIC_ARN": self.topic,
            "PIPELINE_NAME": "kiro-pipeline-production",
            "PROVENANCE_CONTRACT": provenance_contract(),
            "ENVIRONMENT": ENV,
            "RECORD_ID_ATTRIBUTE": records.KEY,
            "npm_config_cache": str(root / "npm-cache"),
        }

    def build(self, work: Path, execution: str = EXECUTION) -> subprocess.CompletedProcess:
        env = {
            **self.env,
            "PIPELINE_EXECUTION_ID": execution,
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_BUILD_ID": f"kiro-pipeline-production-build:{execution[:8]}",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
        }
        return bash(command("build", "post_build", "== provenance"), work, env)

    def deploy(
        self,
        received: Path,
        target: str,
        *,
        execution: str = EXECUTION,
        rollback_to: str | None = None,
        stage_says_rollback: bool = False,
    ) -> subprocess.CompletedProcess:
        """The deploy block, with GetPipelineExecution's answer for `execution`
        and GetPipelineState's for the stage (canned: moto has neither)."""
        answer = {"pipelineExecutionId": execution, "executionType": "ROLLBACK" if rollback_to else "STANDARD"}
        if rollback_to:
            answer["rollbackMetadata"] = {"rollbackTargetPipelineExecutionId": rollback_to}
        rolling_back = bool(rollback_to) or stage_says_rollback
        stage = naming.DEPLOY_STAGES[target]
        latest = {"pipelineExecutionId": execution, "status": "InProgress"}
        latest["type"] = "ROLLBACK" if rolling_back else "STANDARD"
        state = {
            "pipelineName": f"kiro-pipeline-{ENV}",
            "stageStates": [{"stageName": stage, "latestExecution": latest}],
        }
        self.canned.write_text(
            json.dumps(
                {
                    "codepipeline.GetPipelineExecution": {"pipelineExecution": answer},
                    "codepipeline.GetPipelineState": state,
                }
            )
        )
        env = {
            **self.env,
            "PIPELINE_EXECUTION_ID": execution,
            "DEPLOY_STAGE": stage,
            "TARGET_ENVIRONMENT": target,
            "REQUIRE_STAGING": "true" if target == "production" else "false",
        }
        return bash(command(f"deploy-{target}", "install", "== provenance"), received, env)

    def record(self, key: str) -> dict:
        return self.dynamodb.get_item(TableName=self.table, Key={records.KEY: {"S": key}}).get("Item", {})

    def pages(self) -> list[str]:
        found = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return found
            found += [json.loads(m["Body"])["Message"] for m in got]
            for m in got:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def passed_staging(self, execution: str = EXECUTION, stages: tuple[str, ...] = ("TestEnv", STAGING)) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                records.KEY: {"S": execution},
                records.INDEX_PARTITION: {"S": ENV},
                records.INDEX_SORT: {"S": "2026-12-07T10:00:00Z"},
                records.SUCCEEDED_STAGES: {"SS": list(stages)},
            },
        )


@pytest.fixture
def world(moto_url, tmp_path):
    return World(moto_url, tmp_path)


def source_tree(root: Path) -> Path:
    """What the build leaves in its source directory: the application (with
    a lockfile, for `npm sbom`), its reports, node_modules and .git."""
    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {"": {"name": "app", "version": "1.0.0"}},
    }
    return tree(
        root,
        {
            **FILES,
            "package-lock.json": json.dumps(lock).encode(),
            "reports/junit/junit.xml": b"<testsuites/>",
            "node_modules/.package-lock.json": b"{}",
            ".git/HEAD": b"ref: refs/heads/main\n",
        },
    )


def received(built: Path, into: Path) -> Path:
    """The artifact as a deploy project receives it: zipped, then unzipped."""
    archive = into.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(built.rglob("*")):
            relative = path.relative_to(built)
            if path.is_file() and relative.parts[0] not in ("node_modules", ".git"):
                zipped.write(path, str(relative))
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(into)
    return into


@pytest.fixture
def built(world, tmp_path):
    work = source_tree(tmp_path / "src")
    done = world.build(work)
    assert done.returncode == 0, done.stdout + done.stderr
    return work, done


def test_the_build_signs_and_records_its_digest_once(world, built):
    work, done = built
    digest = digest_of(work, "node_modules", ".git")
    item = world.record(f"{records.BUILD_PREFIX}{EXECUTION}")
    assert item[records.ARTIFACT_DIGEST] == {"S": digest}
    assert item[records.PIPELINE_EXECUTION_ID] == {"S": EXECUTION}
    assert item[records.SIGNING_KEY] == {"S": world.key}
    assert item[records.COMMIT_ID] == {"S": "0123456789abcdef0123456789abcdef01234567"}
    assert item[records.BUILD_ID] == {"S": f"kiro-pipeline-production-build:{EXECUTION[:8]}"}
    # The signature verifies over the digest with the key (as moto verifies).
    verified = world.kms.verify(
        KeyId=world.key,
        Message=bytes.fromhex(digest),
        MessageType="DIGEST",
        Signature=base64.b64decode(item[records.ARTIFACT_SIGNATURE]["S"]),
        SigningAlgorithm="ECDSA_SHA_256",
    )
    assert verified["SignatureValid"] is True
    # The SBOM is in the bucket under the digest, and its hash is on the record.
    location = item[records.SBOM_LOCATION]["S"]
    assert location == f"s3://{world.bucket}/provenance/{digest}/{EXECUTION}/sbom.cdx.json"
    sbom = world.s3.get_object(Bucket=world.bucket, Key=location.split("/", 3)[3])["Body"].read()
    assert hashlib.sha256(sbom).hexdigest() == item[records.SBOM_DIGEST]["S"]
    assert json.loads(sbom)["bomFormat"] == "CycloneDX"
    assert f"provenance: artifact digest {digest} (7 files)" in done.stdout
    # A retried build of the same bytes finds its record and passes; other bytes never overwrite it.
    again = world.build(work)
    assert again.returncode == 0 and "already recorded digest" in again.stdout, again.stdout + again.stderr
    (work / "dist/app.js").write_bytes(b"other bytes")
    other = world.build(work)
    assert other.returncode == 1
    assert f"FAILED: execution {EXECUTION} already recorded digest {digest}" in other.stdout
    assert world.record(f"{records.BUILD_PREFIX}{EXECUTION}") == item


def test_a_failed_build_signs_nothing(world, tmp_path):
    work = source_tree(tmp_path / "src")
    env = {**world.env, "PIPELINE_EXECUTION_ID": EXECUTION, "CODEBUILD_BUILD_SUCCEEDING": "0"}
    done = bash(command("build", "post_build", "== provenance"), work, env)
    assert done.returncode == 0
    assert "nothing is signed or recorded" in done.stdout
    assert world.record(f"{records.BUILD_PREFIX}{EXECUTION}") == {}


def test_staging_deploys_the_bytes_it_was_given(world, built, tmp_path):
    work, _ = built
    done = world.deploy(received(work, tmp_path / "staging"), "staging")
    assert done.returncode == 0, done.stdout + done.stderr
    digest = digest_of(work, "node_modules", ".git")
    assert f"provenance: digest {digest} is the one execution {EXECUTION} built, and its signature verifies" in (
        done.stdout
    )
    assert world.pages() == []


def test_a_byte_changed_between_staging_and_production_is_refused(world, built, tmp_path):
    work, _ = built
    world.passed_staging()
    production = received(work, tmp_path / "production")
    (production / "dist/app.js").write_bytes(b"console.log('pwned');\n")
    tampered = digest_of(production, kind="deploy-production", phase="install")
    done = world.deploy(production, "production")
    assert done.returncode == 1
    built_digest = digest_of(work, "node_modules", ".git")
    line = (
        f"REFUSED: deploy to production: digest {tampered}: execution {EXECUTION} built digest {built_digest}: "
        "the artifact received is not the one built"
    )
    assert line in done.stdout
    (page,) = world.pages()
    assert f"refused to deploy digest {tampered}" in page
    print(done.stdout)  # docs/delivery-controls.md quotes this run


def test_a_rewritten_ledger_row_is_refused(world, built, tmp_path):
    """The digest on the record changed to match tampered files, the signature kept."""
    work, _ = built
    world.passed_staging()
    production = received(work, tmp_path / "production")
    (production / "dist/app.js").write_bytes(b"console.log('pwned');\n")
    tampered = digest_of(production, kind="deploy-production", phase="install")
    world.dynamodb.update_item(
        TableName=world.table,
        Key={records.KEY: {"S": f"{records.BUILD_PREFIX}{EXECUTION}"}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": records.ARTIFACT_DIGEST},
        ExpressionAttributeValues={":d": {"S": tampered}},
    )
    done = world.deploy(production, "production")
    assert done.returncode == 1
    assert (
        f"REFUSED: deploy to production: digest {tampered}: the recorded signature of execution {EXECUTION} "
        f"does not verify with {world.key}"
    ) in done.stdout
    assert len(world.pages()) == 1


def test_bytes_with_no_build_record_are_refused(world, tmp_path):
    root = tree(tmp_path / "unbuilt", FILES)
    done = world.deploy(root, "test")
    assert done.returncode == 1
    assert f"execution {EXECUTION} has no build record ({records.BUILD_PREFIX}{EXECUTION})" in done.stdout


def test_production_deploys_what_passed_staging(world, built, tmp_path):
    work, _ = built
    world.passed_staging()
    done = world.deploy(received(work, tmp_path / "production"), "production")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"provenance: execution {EXECUTION} passed {STAGING} with no override of its bake" in done.stdout
    print(done.stdout)  # docs/delivery-controls.md quotes this run


def test_production_refuses_bytes_that_never_passed_staging(world, built, tmp_path):
    work, _ = built
    world.passed_staging(stages=("TestEnv",))
    done = world.deploy(received(work, tmp_path / "production"), "production")
    assert done.returncode == 1
    assert f"execution {EXECUTION} has no recorded success of {STAGING}: these bytes have not passed staging" in (
        done.stdout
    )


def test_production_refuses_bytes_whose_staging_bake_was_overridden(world, built, tmp_path):
    """`ops override --condition on-success --stage StagingEnv` leaves an audit
    record (ops/commands/override.py): the bake did not vouch for the bytes."""
    work, _ = built
    world.passed_staging()
    override = f"{records.OVERRIDE_PREFIX}{STAGING}#2026-12-07T10:05:00Z#{EXECUTION}"
    world.dynamodb.put_item(
        TableName=world.table,
        Item={
            records.KEY: {"S": override},
            records.INDEX_PARTITION: {"S": ENV},
            records.INDEX_SORT: {"S": "2026-12-07T10:05:00Z"},
            records.STAGE: {"S": STAGING},
            records.CONDITION_TYPE: {"S": BAKE_CONDITION},
            records.PIPELINE_EXECUTION_ID: {"S": EXECUTION},
        },
    )
    done = world.deploy(received(work, tmp_path / "production"), "production")
    assert done.returncode == 1
    assert f"{STAGING}'s bake was overridden for execution {EXECUTION} ({override})" in done.stdout
    print(done.stdout)  # docs/delivery-controls.md quotes this run


def test_a_rollback_to_a_release_with_no_digest_pages_and_proceeds(world, tmp_path):
    old = "99999999-8888-7777-6666-555555555555"
    rollback = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    done = world.deploy(tree(tmp_path / "old", FILES), "production", execution=rollback, rollback_to=old)
    assert done.returncode == 0, done.stdout + done.stderr
    digest = expected_digest(FILES)
    assert f"provenance: a rollback to execution {old}: its build record decides" in done.stdout
    line = (
        f"PAGE: kiro-pipeline-{ENV} deploy to production, execution {rollback}: rollback to execution {old}, "
        f"which has no build record (built before provenance was recorded): deploying digest {digest} unverified"
    )
    assert line in done.stdout
    (page,) = world.pages()
    assert page == line.removeprefix("PAGE: ")
    print(done.stdout)  # docs/delivery-controls.md quotes this run


def test_a_rollback_whose_variables_are_its_targets_still_pages_and_proceeds(world, tmp_path):
    """ "CodePipeline will use the variables and artifacts from the execution to
    which it is rolling back": if #{codepipeline.PipelineExecutionId} is the
    target's, GetPipelineExecution reads STANDARD. The stage's execution type
    (GetPipelineState) still says ROLLBACK: the target with no build record
    pages and proceeds, never refused during an incident."""
    old = "99999999-8888-7777-6666-555555555555"
    done = world.deploy(tree(tmp_path / "old", FILES), "production", execution=old, stage_says_rollback=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"rollback to execution {old}, which has no build record" in done.stdout
    assert len(world.pages()) == 1


def test_a_rollback_verifies_against_its_targets_digest(world, built, tmp_path):
    """A rollback to a release that has a record is held to it (and not asked about staging again)."""
    work, _ = built
    rollback = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    production = received(work, tmp_path / "production")
    assert world.deploy(production, "production", execution=rollback, rollback_to=EXECUTION).returncode == 0
    (production / "README.md").write_bytes(b"changed")
    done = world.deploy(production, "production", execution=rollback, rollback_to=EXECUTION)
    assert done.returncode == 1
    assert "the artifact received is not the one built" in done.stdout


# --- the stack gives each project what its block reads, and only the build signs ---------
def _actions(stack, document: str) -> set[str]:
    return {a for s in stack.data("aws_iam_policy_document")[document]["statement"] for a in s["actions"]}


def test_only_the_build_role_may_sign_and_the_deploy_roles_verify(stacks, env_config):
    core = stacks[naming.stack_id("core", env_config.name)]
    pipeline = stacks[naming.stack_id("pipeline", env_config.name)]
    key = core.resource("aws_kms_key", "signing_key")
    assert (key["customer_master_key_spec"], key["key_usage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    deny = next(
        s for s in core.data("aws_iam_policy_document")["signing_key_policy"]["statement"] if s["effect"] == "Deny"
    )
    build_role = f"arn:aws:iam::{env_config.account_id}:role/{env_config.names.role('build')}"
    assert deny["actions"] == ["kms:Sign"]
    assert deny["condition"] == [{"test": "ArnNotEquals", "variable": "aws:PrincipalArn", "values": [build_role]}]
    assert pipeline.resource("aws_iam_role", "build_role")["name"] == env_config.names.role("build")
    signers = {d for d in pipeline.data("aws_iam_policy_document") if "kms:Sign" in _actions(pipeline, d)}
    assert signers == {"build_role_policy_document"}
    for target in ("test", "staging", "production"):
        granted = _actions(pipeline, f"deploy_{target}_role_policy_document")
        assert "kms:Verify" in granted and "kms:Sign" not in granted
        assert ("dynamodb:Query" in granted) is (target == "production")


@pytest.mark.parametrize("kind", ["build", "deploy-test", "deploy-staging", "deploy-production"])
def test_each_project_is_given_the_contracts_names(stacks, kind):
    project = stacks["pipeline-test"].resource("aws_codebuild_project", kind.replace("-", "_"))
    given = {v["name"]: v["value"] for v in project["environment"]["environment_variable"]}
    assert json.loads(given["PROVENANCE_CONTRACT"]) == json.loads(provenance_contract())
    assert "signing_key" in given["SIGNING_KEY_ARN"]
    if kind != "build":
        assert given["REQUIRE_STAGING"] == ("true" if kind == "deploy-production" else "false")


def test_the_build_and_test_roles_update_only_their_executions_result(stacks, env_config):
    """Code run by the build or the tests holds those roles: they may update a
    record keyed as an execution ID, and only its result (the build: and its
    digest), never a build#, override# or rollback# record nor succeededStages
    (production's staging check reads them)."""
    pipeline = stacks[naming.stack_id("pipeline", env_config.name)]
    documents = pipeline.data("aws_iam_policy_document")
    expected = {
        "build": ["deploymentId", records.UNIT_TESTS, records.ARTIFACT_DIGEST],
        "integration_test": ["deploymentId", records.INTEGRATION_TESTS],
        "e2e_test": ["deploymentId", records.E2E_TESTS],
    }
    for project, attributes in expected.items():
        (statement,) = [
            s for s in documents[f"{project}_role_policy_document"]["statement"] if s["sid"] == "RecordTestResult"
        ]
        conditions = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
        assert statement["actions"] == ["dynamodb:UpdateItem"]
        assert conditions[("ForAllValues:StringLike", "dynamodb:LeadingKeys")] == [
            "????????-????-????-????-????????????"
        ]
        assert conditions[("ForAllValues:StringEquals", "dynamodb:Attributes")] == attributes
        assert conditions[("Null", "dynamodb:Attributes")] == ["false"]
