"""Real plans of the changes a reviewer must notice, made against a deployed
rehearsal (`rehearse(then=plan_scenarios.run)`): real Terraform, the real
provider, the state in the rehearsal's S3 backend on the moto server.

* A change in code: the pipeline stack's scratch copy is edited as a pull
  request would change the synthesized JSON (tests/support/pipeline_edits.py),
  planned, and put back.
* Drift: the pipeline and a log group are changed on the server behind
  Terraform's back, then `terraform plan -refresh-only` runs, as the nightly
  drift workflow does.

Every plan runs with `-lock=false`, as the pull-request plan does.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from tests.support import pipeline_edits as edits
from tools.rehearse import STACK_FILE, RehearsalFailed, Site
from topology import naming

PLAN = ("-input=false", "-no-color", "-lock=false")
DRIFTED_RETENTION_DAYS = 1


@dataclass
class Scenarios:
    stack: str
    plans: dict[str, dict] = field(default_factory=dict)  # scenario -> `terraform show -json`
    texts: dict[str, str] = field(default_factory=dict)  # scenario -> its `terraform plan` output
    drifted_log_group: str = ""
    versions: dict[str, str] = field(default_factory=dict)  # what made the plans: terraform, provider


def _plan(site: Site, scratch: Path, name: str, *extra: str) -> tuple[dict, str]:
    planned = site.terraform.run(scratch, "plan", *PLAN, f"-out={name}.tfplan", *extra)
    if planned.code != 0:
        raise RehearsalFailed(f"plan {name} failed:\n{planned.stderr.strip() or planned.stdout[-3000:]}")
    shown = site.terraform.run(scratch, "show", "-json", f"{name}.tfplan")
    # The plan's own output is the text a reviewer reads (what `terraform show
    # -no-color` would print again, at the cost of another provider start).
    return json.loads(shown.stdout), planned.stdout


def _edited(site: Site, scratch: Path, name: str, edit: Callable[[dict], None]) -> tuple[dict, str]:
    """Plan the stack with one edit, then put the stack back as it was."""
    path = scratch / STACK_FILE
    original = path.read_text()
    config = json.loads(original)
    edit(config["resource"])
    path.write_text(json.dumps(config, indent=2, sort_keys=True))
    try:
        return _plan(site, scratch, name)
    finally:
        path.write_text(original)


CODE_CHANGES: dict[str, Callable[[dict], None]] = {
    "approval removed": lambda r: edits.remove_approval(r["aws_codepipeline"]["pipeline"]),
    "rollback disabled": lambda r: edits.disable_rollback(
        r["aws_codepipeline"]["pipeline"], naming.DEPLOY_STAGES["staging"]
    ),
    "window changed": lambda r: edits.change_window(r["aws_codepipeline"]["pipeline"]),
    "role changed": lambda r: edits.change_deploy_role(r["aws_codebuild_project"]["deploy_production"]),
}


def _drift(site: Site, config: dict) -> str:
    """Change the pipeline and a log group on the server, outside Terraform:
    someone removes production's approval in the console, and shortens a
    log group's retention. Returns the log group's name."""
    session = boto3.Session(
        aws_access_key_id=site.env_vars["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=site.env_vars["AWS_SECRET_ACCESS_KEY"],
        region_name=site.env_vars["AWS_REGION"],
    )
    pipelines = session.client("codepipeline", endpoint_url=site.url)
    name = config["resource"]["aws_codepipeline"]["pipeline"]["name"]
    pipeline = pipelines.get_pipeline(name=name)["pipeline"]
    pipeline["stages"] = [s for s in pipeline["stages"] if s["name"] != naming.APPROVAL_STAGE]
    pipelines.update_pipeline(pipeline=pipeline)
    log_group = sorted(g["name"] for g in config["resource"]["aws_cloudwatch_log_group"].values())[0]
    logs = session.client("logs", endpoint_url=site.url)
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=DRIFTED_RETENTION_DAYS)
    return log_group


def run(site: Site, env: str = "production") -> Scenarios:
    stack = naming.stack_id("pipeline", env)
    scratch = site.scratch_root / stack
    found = Scenarios(stack)
    lock = (scratch / ".terraform.lock.hcl").read_text()
    provider = re.search(r'provider "registry\.terraform\.io/hashicorp/aws" \{\s+version\s+=\s+"([^"]+)"', lock)
    found.versions = {
        "terraform": site.terraform.description.rsplit("/", 1)[-1],
        "provider": f"hashicorp/aws {provider.group(1) if provider else 'unknown'}",
    }
    # The same code against the same state, planned twice: what the apply
    # workflow's re-plan sees when nothing changed since the review.
    for name in ("unchanged", "unchanged again"):
        found.plans[name], found.texts[name] = _plan(site, scratch, name.replace(" ", "-"))
    for name, edit in CODE_CHANGES.items():
        found.plans[name], found.texts[name] = _edited(site, scratch, name.replace(" ", "-"), edit)
    # What a refresh-only plan reports before anyone changes anything: moto's
    # own differences (read back otherwise than created), not drift.
    found.plans["refresh before drift"], found.texts["refresh before drift"] = _plan(
        site, scratch, "refresh-before", "-refresh-only"
    )
    config = json.loads((scratch / STACK_FILE).read_text())
    found.drifted_log_group = _drift(site, copy.deepcopy(config))
    found.plans["drift"], found.texts["drift"] = _plan(site, scratch, "drift", "-refresh-only")
    # After the drift, the unchanged code no longer plans what was reviewed.
    found.plans["unchanged after drift"], found.texts["unchanged after drift"] = _plan(site, scratch, "after-drift")
    return found
