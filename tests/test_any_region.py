"""Any commercial region: an environment in eu-west-1 synthesizes, passes
`terraform validate` with the real provider, and is the us-east-1 environment
with only the region changed (health gating included: the probe publishes
where the pipeline runs, so nothing is left behind in us-east-1)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from environments import load
from tools.tf_validate import validate_all
from topology import naming

# Tier: synthesizes an environment of its own.
pytestmark = pytest.mark.stacks

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def eu_stacks(tmp_path_factory, function_zips):
    from modules.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf-eu-west-1")
    # An extra synth, justified: another region is another configuration (one
    # environment, three stacks); the session synth has none outside us-east-1.
    build_app([replace(load("test"), region=REGION)], outdir=str(outdir)).synth()
    return outdir / "stacks"


@pytest.mark.parametrize("concern", naming.STACK_CONCERNS)
def test_the_stack_is_the_us_east_1_stack_with_only_the_region_changed(eu_stacks, synth_dir, concern):
    stack = naming.stack_id(concern, "test")
    eu_text = (eu_stacks / stack / "cdk.tf.json").read_text()
    us_text = (synth_dir / "stacks" / stack / "cdk.tf.json").read_text()
    assert "us-east-1" not in eu_text
    assert REGION in eu_text
    assert json.loads(eu_text.replace(REGION, "us-east-1")) == json.loads(us_text)


def test_the_health_alarms_and_their_probe_live_in_the_pipelines_region(eu_stacks):
    monitoring = json.loads((eu_stacks / "monitoring-test" / "cdk.tf.json").read_text())
    assert [p["region"] for p in monitoring["provider"]["aws"]] == [REGION]
    alarms = monitoring["resource"]["aws_cloudwatch_metric_alarm"]
    health = [a for a in alarms.values() if a["alarm_name"].endswith("-health")]
    assert len(health) == 3 and {a["namespace"] for a in health} == {"KiroPipeline"}
    assert "aws_route53_health_check" not in monitoring["resource"]


@pytest.mark.slow
@pytest.mark.terraform
@pytest.mark.acceptance
@pytest.mark.validate
def test_terraform_validate_passes_in_eu_west_1(eu_stacks, tmp_path):
    results, used = validate_all(eu_stacks, tmp_path / "validate")
    assert sorted(r.stack for r in results) == ["core-test", "monitoring-test", "pipeline-test"]
    assert [str(d) for r in results for d in r.diagnostics] == []
