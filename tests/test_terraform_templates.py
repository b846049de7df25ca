"""Nothing embedded in a stack is read by Terraform as a template.

Buildspecs, dashboard bodies, event patterns and config text are full of `${`
(shell) and could hold `%{`; unescaped, Terraform reads them as references
and directives, and `terraform validate` fails (issue: 81 errors per pipeline
stack). modules/literal.py escapes them; these tests walk every string of
every stack, and prove the escape round-trips through real Terraform.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from environments import load
from environments.config import ApplicationCommands
from modules.literal import literal, literal_json
from tests.support.synth import SynthesizedStack
from tests.support.templates import stray_templates, template_sequences, unescape
from tests.support.terraform import terraform, write_config
from topology import naming
from topology.projects import buildspec_file

TRICKY = [
    'base="https://x/v${TRIVY_VERSION}"; echo "${base}/${tarball}"',
    "%{ if true }directive%{ endif }",
    "already $${escaped} and %%{escaped}",
    "$$${three} %%%{three} $ { } % { } 100%{",
    "#{codepipeline.PipelineExecutionId} and #{SourceVariables.CommitId}",
    '{"quoted": "\\"json\\"", "back\\\\slash": 1}',
    "",
]


def test_no_stack_holds_an_unescaped_template(stacks):
    findings = [f"{stack_id}: {f}" for stack_id, stack in stacks.items() for f in stray_templates(stack.json, "$")]
    assert not findings, "unescaped template sequences:\n" + "\n".join(findings[:20])


def test_the_walk_names_stack_resource_and_attribute_of_a_planted_sequence(stacks):
    stack = stacks[naming.stack_id("pipeline", "test")]
    planted = json.loads(json.dumps(stack.json))
    planted["resource"]["aws_codebuild_project"]["build"]["description"] = "uses ${HOME} and %{ if x }"
    findings = [str(f) for f in stray_templates(planted, "$")]
    assert findings == [
        "$.resource.aws_codebuild_project.build.description: '${HOME}'",
        "$.resource.aws_codebuild_project.build.description: '%{ if x }'",
    ]


def test_intended_references_pass_and_lookalikes_do_not():
    assert list(template_sequences("${aws_kms_key.key.arn}/x ${data.aws_iam_policy_document.p.json}")) == []
    assert (
        list(template_sequences("${data.terraform_remote_state.cross-stack-reference-input-core-test.outputs.x}")) == []
    )
    assert list(template_sequences("${terraform.workspace}")) == []
    assert list(template_sequences("${aws_kms_key}")) == ["${aws_kms_key}"]
    assert list(template_sequences("${var.x}")) == ["${var.x}"]


@pytest.mark.terraform
def test_literal_round_trips_through_real_terraform(tmp_path):
    """Terraform itself reads each escaped text back as the original."""
    texts = TRICKY + [buildspec_file(kind).read_text() for kind in naming.CODEBUILD_PROJECTS]
    outputs = {f"t{i}": {"value": literal(text)} for i, text in enumerate(texts)}
    outputs["json"] = {"value": literal_json({"b": ["${x}"], "a": "%{y}"})}
    workdir = write_config(tmp_path / "roundtrip", {"output": outputs})
    (tmp_path / "terraformrc").write_text("")
    applied = terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    assert applied.code == 0, applied.stderr
    shown = terraform(workdir, "output", "-json")
    values = {name: entry["value"] for name, entry in json.loads(shown.stdout).items()}
    assert [values[f"t{i}"] for i in range(len(texts))] == texts
    assert json.loads(values["json"]) == {"b": ["${x}"], "a": "%{y}"}


def test_literal_refuses_a_reference():
    from cdktf import Token

    with pytest.raises(ValueError, match="token"):
        literal(Token.as_string({"Ref": "x"}) + "suffix")


@pytest.mark.parametrize("kind", naming.CODEBUILD_PROJECTS)
def test_buildspecs_are_embedded_escaped_and_read_back_verbatim(stacks, kind):
    project = next(
        p
        for p in stacks[naming.stack_id("pipeline", "test")].resources("aws_codebuild_project").values()
        if p["name"] == load("test").names.codebuild_project(kind)
    )
    embedded = project["source"]["buildspec"]
    assert "$${" in embedded and unescape(embedded) == buildspec_file(kind).read_text()


@pytest.fixture(scope="module")
def shell_heavy_pipeline(tmp_path_factory, function_zips):
    """test, with commands that use the shell's ${...} and a literal %{."""
    from modules.app import build_app

    config = dataclasses.replace(
        load("test"),
        commands=ApplicationCommands(
            install='npm ci --cache "${HOME}/.npm"',
            deploy='npx cdk deploy --context stage="${TARGET_ENVIRONMENT}" # 100%{done}',
        ),
    )
    outdir = tmp_path_factory.mktemp("shell-heavy")
    # An extra synth, justified: commands full of shell syntax are a
    # configuration of their own (one environment, once per module).
    build_app([config], outdir=str(outdir)).synth()
    return config, SynthesizedStack(outdir / "stacks/pipeline-test/cdk.tf.json")


def test_config_text_reaches_codebuild_unchanged(shell_heavy_pipeline):
    config, stack = shell_heavy_pipeline
    assert list(stray_templates(stack.json, "$")) == []
    for project in stack.resources("aws_codebuild_project").values():
        variables = {v["name"]: unescape(v["value"]) for v in project["environment"]["environment_variable"]}
        if project["name"] == config.names.codebuild_project("gate"):
            assert "INSTALL_COMMAND" not in variables  # the gate runs nothing of the application
            continue
        assert variables["INSTALL_COMMAND"] == config.commands.install
        if "DEPLOY_COMMAND" in variables:
            assert variables["DEPLOY_COMMAND"] == config.commands.deploy
