"""Inline checkov skips: on the resource itself, each with its reason.

They land in the resource's `//` comment in the synthesized JSON (Terraform
ignores it), so a reviewer sees them beside what they excuse. checkov 3.3.30
ignores inline suppressions in its terraform_json runner; `tools/scan.py`
applies them, and fails on a skip without a reason or one that no longer
matches a finding.
"""

from __future__ import annotations

from collections.abc import Mapping

from cdktf import TerraformDataSource, TerraformResource, TerraformStack

# One reason per idea, where several resources share it.
LOG_RETENTION = (
    "retention is log_retention_days (90 days by default, as the deployment guide sets it); "
    "raise it in environments/ where compliance asks for a year"
)


def skip_checks(resource: TerraformResource | TerraformDataSource, reasons: Mapping[str, str]) -> None:
    """Skip checkov checks on `resource`: {check_id: reason}. Call once per resource."""
    for check_id, reason in reasons.items():
        if len(reason.strip()) < 20:
            raise ValueError(f"checkov skip {check_id} needs a reason a reviewer would accept, got {reason!r}")
    block = "data" if isinstance(resource, TerraformDataSource) else "resource"
    # A stack-level override: CDKTF rewrites a data source's own `//` after
    # element overrides, which would drop the skip.
    TerraformStack.of(resource).add_override(
        f"{block}.{resource.terraform_resource_type}.{resource.friendly_unique_id}.//.checkov",
        [f"checkov:skip={c}: {r}" for c, r in sorted(reasons.items())],
    )
