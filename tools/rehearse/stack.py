"""One stack's Terraform runs in its scratch copy: init, the full plan, the
apply of what the emulator can create (tools/emulator.py says what), and
the second plan, which must show nothing but known emulator artifacts."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tools import emulator
from tools.rehearse.results import RehearsalFailed, StackReport, changes
from tools.stack_graph import apply_targets, dependents
from tools.terraform_cli import Terraform, pinned_provider_version, relax_provider_pin

STACK_FILE = "cdk.tf.json"
NO_INPUT = ("-input=false", "-no-color")


def rehearse_stack(
    terraform: Terraform, source, stack_dir: Path, scratch: Path, url: str, log, replan: bool = True
) -> StackReport:
    """Init, plan, apply and (with `replan`) plan again: one stack."""
    started = time.monotonic()
    report = StackReport(stack_dir.name)
    config = json.loads((stack_dir / STACK_FILE).read_text())
    pinned = pinned_provider_version(config)
    version = source.version_for(pinned)
    if version != pinned:
        config = relax_provider_pin(config, version)
    patched, report.not_emulated = emulator.patch(config, url)
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(stack_dir, scratch)
    (scratch / STACK_FILE).write_text(json.dumps(patched, indent=2, sort_keys=True))

    def run(*args: str, ok=(0,)):
        begun = time.monotonic()
        result, recovered = emulator.run_terraform(terraform, scratch, *args)
        report.artifacts.extend(recovered)
        report.phases[args[0]] = report.phases.get(args[0], 0.0) + time.monotonic() - begun
        if result.code not in ok:
            raise RehearsalFailed(
                f"{report.stack}: terraform {args[0]} failed:\n{result.stderr.strip() or result.stdout[-3000:]}"
            )
        return result

    run("init", *NO_INPUT)
    # The full plan, including what the emulator cannot create.
    full = run("plan", "-out=full.tfplan", *NO_INPUT)
    report.plan_json = json.loads(run("show", "-json", "full.tfplan").stdout)
    report.plan_text = full.stdout
    report.planned = len(changes(report.plan_json))
    # Only what the emulator can create, when something is not emulated.
    excluded = _exclusions(report, patched)
    targets = [f"-target={t}" for t in apply_targets(patched, excluded)] if excluded else []
    fast = _fast_path(report, patched, excluded)
    first_targets = [f"-target={t}" for t in apply_targets(patched, {**excluded, **fast})]
    applied = run("apply", "-auto-approve", *NO_INPUT, *(first_targets if fast else targets))
    (scratch / "apply.log").write_text(applied.stdout)
    if fast:
        _import_fast_created(fast, scratch, url, patched, run)
    report.applied = _managed_instances(json.loads(run("state", "pull").stdout))
    log(
        f"  {report.stack}: applied {report.applied} of {report.planned} resources"
        + (f"; not emulated: {len(report.not_emulated)}" if report.not_emulated else "")
        + (f"; updates the emulator cannot apply: {len(report.not_updated)}" if report.not_updated else "")
    )

    if replan:
        _replan(report, run, targets)
    report.seconds = time.monotonic() - started
    log(f"    {report.seconds:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.phases.items()))
    return report


def _exclusions(report: StackReport, patched: dict) -> dict[str, str]:
    """What the apply leaves out: what is not emulated, the updates the
    emulator cannot apply, and what depends on those (listed in the report
    when it has changes of its own)."""
    unappliable = emulator.unappliable_updates(report.plan_json)
    held = dependents(patched, unappliable, "whose update the emulator cannot apply")
    changing = {c["address"] for c in changes(report.plan_json)}
    report.not_updated = {**unappliable, **{a: why for a, why in held.items() if a in changing}}
    return {**report.not_emulated, **unappliable, **held}


def _replan(report: StackReport, run, targets: list[str]) -> None:
    """The second plan: anything but a known emulator artifact is a perpetual diff."""
    second = run("plan", "-detailed-exitcode", "-out=second.tfplan", *NO_INPUT, *targets, ok=(0, 2))
    if second.code != 2:
        return
    plan = json.loads(run("show", "-json", "second.tfplan").stdout)
    for change in changes(plan):
        if change["address"] in report.not_emulated:
            continue
        artifact = emulator.known_artifact(change)
        if artifact:
            report.artifacts.append(f"{change['address']}: {artifact}")
        else:
            report.second_plan.append(f"{change['address']}: {change['change']['actions']} {_diff(change)}")


def _fast_path(report: StackReport, patched: dict, excluded: dict[str, str]) -> dict:
    """The slow creates (emulator.SLOW_TO_CREATE) this plan makes, that
    nothing else depends on: made through the API and imported instead."""
    creates = {c["address"] for c in changes(report.plan_json) if c["change"]["actions"] == ["create"]}
    fast = {a: v for a, v in emulator.fast_created(patched).items() if a in creates and a not in excluded}
    held = dependents(patched, dict.fromkeys(fast, ""), "")
    return {} if held else fast


def _import_fast_created(fast: dict, scratch: Path, url: str, patched: dict, run) -> None:
    """Create the fast-path resources on the server, and take them into the
    state with one apply of `import` blocks (removed again afterwards)."""
    state = json.loads(run("state", "pull").stdout)
    buckets = {
        r["name"]: r["instances"][0]["attributes"]["bucket"]
        for r in state.get("resources", [])
        if r.get("mode") == "managed" and r["type"] == "aws_s3_bucket"
    }
    region = patched["provider"]["aws"][0]["region"]
    path = scratch / STACK_FILE
    original = path.read_text()
    with_imports = json.loads(original)
    with_imports["import"] = emulator.fast_create(fast, buckets, url, region)
    path.write_text(json.dumps(with_imports, indent=2, sort_keys=True))
    try:
        run("apply", "-auto-approve", *NO_INPUT, *(f"-target={a}" for a in sorted(fast)))
    finally:
        path.write_text(original)


def _managed_instances(state: dict) -> int:
    """Managed resource instances in a raw state (`terraform state pull`,
    which starts no provider, unlike `terraform show -json`)."""
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")


def _diff(change: dict) -> str:
    before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return ", ".join(f"{k}: {json.dumps(before.get(k))[:60]} -> {json.dumps(after.get(k))[:60]}" for k in keys)
