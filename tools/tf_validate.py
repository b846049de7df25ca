"""`make tf-validate`: `terraform init -backend=false` and `terraform validate`
of every synthesized stack, with the real hashicorp/aws provider.

    python -m tools.tf_validate [STACKS_DIR]    (default cdktf.out/stacks)

Each stack is validated in a scratch copy (`.make/tf-validate/<stack>`), so
cdktf.out/ is never touched. When the provider that can be had is not the
version the bindings pin (on a machine without the registry, a mirror's
5.100.0 against 6.25.0), the copy accepts that version instead, and the run
says so: docs/development.md says what that approximation can miss.

Exit 0 only when every stack validates with no error and no warning.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.terraform_cli import (
    REPO,
    ProviderUnavailable,
    Terraform,
    TerraformUnavailable,
    configure,
    find_provider_source,
    find_terraform,
    pinned_provider_version,
    relax_provider_pin,
)

SCRATCH = REPO / ".make" / "tf-validate"
STACK_FILE = "cdk.tf.json"


@dataclass(frozen=True)
class Diagnostic:
    stack: str
    severity: str
    summary: str
    detail: str
    where: str

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        detail = f": {self.detail.splitlines()[0]}" if self.detail else ""
        return f"{self.stack}: {self.severity}: {self.summary}{where}{detail}"


@dataclass(frozen=True)
class StackResult:
    stack: str
    provider_version: str
    pinned_version: str
    diagnostics: tuple[Diagnostic, ...]

    @property
    def clean(self) -> bool:
        return not self.diagnostics


def _diagnostics(stack: str, stdout: str, stderr: str) -> list[Diagnostic]:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return [Diagnostic(stack, "error", "terraform validate printed no JSON", (stderr or stdout).strip(), "")]
    found = []
    for d in report.get("diagnostics", []):
        rng = d.get("range") or {}
        where = f"{rng.get('filename', '')}:{rng.get('start', {}).get('line', '')}" if rng else ""
        found.append(Diagnostic(stack, d.get("severity", "error"), d.get("summary", ""), d.get("detail", ""), where))
    if not report.get("valid", False) and not found:
        found.append(Diagnostic(stack, "error", "configuration is not valid", stderr.strip(), ""))
    return found


def validate_stack(terraform: Terraform, source, stack_dir: Path, scratch: Path) -> StackResult:
    stack = stack_dir.name
    config = json.loads((stack_dir / STACK_FILE).read_text())
    pinned = pinned_provider_version(config)
    version = source.version_for(pinned)
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(stack_dir, scratch)
    if version != pinned:
        (scratch / STACK_FILE).write_text(json.dumps(relax_provider_pin(config, version), indent=2))
    init = terraform.run(scratch, "init", "-backend=false", "-input=false", "-no-color")
    if init.code != 0:
        return StackResult(
            stack, version, pinned, (Diagnostic(stack, "error", "terraform init failed", init.stderr.strip(), ""),)
        )
    result = terraform.run(scratch, "validate", "-json", "-no-color")
    return StackResult(stack, version, pinned, tuple(_diagnostics(stack, result.stdout, result.stderr)))


def validate_all(stacks_dir: Path, scratch_root: Path = SCRATCH) -> tuple[list[StackResult], str]:
    """Validate every stack under `stacks_dir`; returns the results and a
    one-line description of the Terraform and provider used."""
    stack_dirs = sorted(p.parent for p in stacks_dir.glob(f"*/{STACK_FILE}"))
    if not stack_dirs:
        raise FileNotFoundError(f"no synthesized stacks under {stacks_dir}: run `make synth` first")
    terraform = find_terraform()
    source = find_provider_source()
    configure(terraform, source, scratch_root)
    results = [validate_stack(terraform, source, d, scratch_root / d.name) for d in stack_dirs]
    return results, f"{terraform.description}; hashicorp/aws from {source.description}"


def main(argv: list[str]) -> int:
    stacks_dir = Path(argv[0]) if argv else REPO / "cdktf.out" / "stacks"
    try:
        results, used = validate_all(stacks_dir)
    except (ProviderUnavailable, TerraformUnavailable, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"terraform validate: {used}")
    for result in results:
        pin = "" if result.provider_version == result.pinned_version else f" (bindings pin {result.pinned_version})"
        status = "ok" if result.clean else f"{len(result.diagnostics)} problem(s)"
        print(f"  {result.stack:24} hashicorp/aws {result.provider_version}{pin}: {status}")
        for diagnostic in result.diagnostics:
            print(f"    {diagnostic}")
    failed = [r.stack for r in results if not r.clean]
    if failed:
        print(f"FAILED: {len(failed)} of {len(results)} stacks have errors or warnings: {', '.join(failed)}")
        return 1
    print(f"{len(results)} of {len(results)} stacks valid, no warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
