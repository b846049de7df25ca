"""`preflight ENV`: what must hold before `make deploy` or `make diff` touches
AWS, and what a first deploy on a new account meets. One ✓/✗/! line per
check, each ✗ or ! with its fix; any ✗ stops the deploy.

Every check stands alone: a call that fails makes its own line ✗ ("could not
read: <call>: <reason>") and the other checks still run.

Synthesis never runs this: the README's first command works on a fresh
machine with the guide's placeholder values. A real deploy must not.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

import tools.terraform_cli as terraform_cli
from environments import EnvironmentConfig
from environments.config import DeployTarget
from ops.aws import AWS_ERRORS, code, explain
from topology import naming
from topology.functions import RESERVED_CONCURRENCY, reserved_total

MINIMUM_TERRAFORM = (1, 10)
# The deployment guide's sample values: a deploy with any of them is a mistake.
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_OWNER = "your-org"
PLACEHOLDER_DOMAIN = "example.com"

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "403"}

# Lambda: "You can reserve concurrency for as many functions as you like, as
# long as you leave at least 100 simultaneous executions unreserved for
# functions that aren't configured with a per-function limit."
# (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html)
# An account whose whole limit is below 100 cannot leave 100: assumed, as the
# issue decides, that AWS then keeps the whole limit unreserved (min(100, limit)).
UNRESERVED_FLOOR = 100
# "New AWS accounts have reduced concurrency and memory quotas. AWS raises
# these quotas automatically based on your usage." Default: "Concurrent
# executions | 1,000" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LAMBDA_DEFAULT_LIMIT = 1000
# Service Quotas' code of Lambda's "Concurrent executions" quota. Assumed: the
# Lambda guide does not print it; it is the code Service Quotas lists for it.
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"

# CodeBuild: "Quotas for the maximum number of concurrent running builds vary,
# depending on the compute type. [...] For a new account, the quota can be as
# low as 5. To request a higher concurrent build quota, or if you get a
# "Cannot have more than X active builds for the account" error, use the link
# above to make the request." (https://docs.aws.amazon.com/codebuild/latest/userguide/limits.html)
# and "The maximum number of builds in a queue is five times the concurrent
# build limit." (https://docs.aws.amazon.com/codebuild/latest/userguide/builds-working.html):
# a quota of 0 queues nothing, so every build is refused. The quota is named
# per platform and compute type; the projects are LINUX_CONTAINER
# (modules/build_project.py). Assumed: these are the names Service Quotas uses.
BUILD_QUOTA_NAMES = {
    "BUILD_GENERAL1_SMALL": "Concurrently running builds for Linux/Small environment",
    "BUILD_GENERAL1_MEDIUM": "Concurrently running builds for Linux/Medium environment",
    "BUILD_GENERAL1_LARGE": "Concurrently running builds for Linux/Large environment",
    "BUILD_GENERAL1_XLARGE": "Concurrently running builds for Linux/XLarge environment",
    "BUILD_GENERAL1_2XLARGE": "Concurrently running builds for Linux/2XLarge environment",
}

# The CDK's default bootstrap qualifier, which the seed's Stage 2 (`cdk
# deploy`) uses unless it sets its own: the CDK guide's DefaultStackSynthesizer
# defaults are "deployRoleArn: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/
# cdk-${Qualifier}-deploy-role-${AWS::AccountId}-${AWS::Region}'" and
# "bootstrapStackVersionSsmParameter: '/cdk-bootstrap/${Qualifier}/version'",
# with the qualifier "hnb659fds" (https://docs.aws.amazon.com/cdk/v2/guide/customize-synth.html).
CDK_QUALIFIER = "hnb659fds"
CDK_BOOTSTRAP_PARAMETER = f"/cdk-bootstrap/{CDK_QUALIFIER}/version"
CDK_BOOTSTRAP_ROLE_KINDS = ("deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role")


@dataclass(frozen=True)
class Check:
    label: str
    status: str  # "ok", "fail" or "warn"
    detail: str = ""

    def line(self) -> str:
        mark = {"ok": "✓", "fail": "✗", "warn": "!"}[self.status]
        return f"{mark} {self.label}" + (f": {self.detail}" if self.detail else "")


_code = code  # the AWS error code, "" for anything else (ops/aws.py)


def _reason(error: Exception, call: str) -> str:
    """Why `call` failed, in a few words; for a refusal, the permission it needs."""
    if isinstance(error, ClientError):
        code, message = _code(error), " ".join(error.response.get("Error", {}).get("Message", "").split())
        if code in ACCESS_DENIED:
            return f"access denied: the credentials need {call}"
        if code.isdigit():
            code = f"HTTP {code}"
        if message.startswith("<"):
            message = ""  # an HTML error page (a proxy, an emulator): the status says enough
        return f"{code}: {message[:200]}" if message else code or "failed"
    return str(explain(error, f"calling {call}"))


def unreadable(label: str, call: str, error: Exception) -> Check:
    return Check(label, "fail", f"could not read: {call}: {_reason(error, call)}")


def terraform_version(which: Callable[[str], str | None] = shutil.which, run=subprocess.run) -> Check:
    label = f"Terraform >= {'.'.join(map(str, MINIMUM_TERRAFORM))} on PATH"
    binary = which("terraform")
    if not binary:
        return Check(
            label, "fail", "no terraform on PATH: install it (https://developer.hashicorp.com/terraform/install)"
        )
    try:
        found = json.loads(run([binary, "version", "-json"], capture_output=True, text=True, timeout=30).stdout)
        version = tuple(int(p) for p in found["terraform_version"].split(".")[:2])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return Check(label, "fail", f"{binary} did not report a version: reinstall Terraform")
    if version < MINIMUM_TERRAFORM:
        return Check(label, "fail", f"{binary} is {found['terraform_version']}: S3 lock files need 1.10 or newer")
    return Check(label, "ok", f"{binary} {found['terraform_version']}")


# --- the pinned provider ------------------------------------------------------


@functools.cache
def pinned_provider_version() -> str:
    """The hashicorp/aws version the stacks pin: the one the prebuilt bindings
    were generated from (their package manifest's `cdktf.provider.version`),
    which synthesis writes as `required_providers.aws.version`
    (tests/test_core_stack.py). Read without importing the bindings (jsii)."""
    spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("the provider bindings (cdktf-cdktf-provider-aws) are not installed: run make install")
    bundles = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    if len(bundles) != 1:
        raise LookupError(f"expected one jsii bundle in the provider bindings, found {len(bundles)}")
    with tarfile.open(bundles[0]) as archive:
        manifest = archive.extractfile("package/package.json")
        if manifest is None:
            raise LookupError(f"{bundles[0].name} has no package/package.json")
        return json.load(manifest)["cdktf"]["provider"]["version"]


@dataclass(frozen=True)
class InstallMethod:
    """One installation method of a Terraform CLI configuration."""

    kind: str  # "filesystem_mirror", "network_mirror" or "direct"
    location: str = ""  # a mirror's path or URL
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def applies_to(self, provider: str) -> bool:
        # "If you set both include and exclude for a particular installation
        # method, the exclusion patterns take priority." ... "`*/*` is a
        # shorthand for `registry.terraform.io/*/*`"
        # (https://developer.hashicorp.com/terraform/cli/config/config-file#explicit-installation-method-configuration)
        def matches(pattern: str) -> bool:
            parts = pattern.lower().split("/")
            if len(parts) == 2:
                parts.insert(0, "registry.terraform.io")
            wanted = provider.lower().split("/")
            return len(parts) == 3 and all(fnmatch.fnmatchcase(w, p) for w, p in zip(wanted, parts, strict=True))

        if any(matches(p) for p in self.exclude):
            return False
        return not self.include or any(matches(p) for p in self.include)


def _without_comments(text: str) -> str:
    """HCL text without `#`, `//` and `/* */` comments (strings kept whole)."""
    out, i, quoted = [], 0, False
    while i < len(text):
        c = text[i]
        if quoted:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            out.append(c)
        elif c == "#" or text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _blocks(text: str) -> list[tuple[str, str]]:
    """The top-level `name { body }` blocks of HCL `text`, in order."""
    found, i = [], 0
    for match in re.finditer(r"([A-Za-z_][\w-]*)\s*\{", text):
        if match.start() < i:
            continue
        depth, j, quoted = 1, match.end(), False
        while j < len(text) and depth:
            c = text[j]
            if quoted:
                if c == "\\":
                    j += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            j += 1
        found.append((match.group(1), text[match.end() : j - 1]))
        i = j
    return found


def _attribute(body: str, name: str) -> str | tuple[str, ...] | None:
    match = re.search(rf"(?<![\w-]){name}\s*=\s*(\"(?:[^\"\\]|\\.)*\"|\[[^\]]*\])", body)
    if not match:
        return None
    value = match.group(1)
    if value.startswith("["):
        return tuple(json.loads(s) for s in re.findall(r"\"(?:[^\"\\]|\\.)*\"", value))
    return json.loads(value)


def installation_methods(text: str) -> list[InstallMethod] | None:
    """The methods of a CLI configuration's `provider_installation` block, or
    None when it has none (Terraform then uses its implied configuration)."""
    blocks = [body for name, body in _blocks(_without_comments(text)) if name == "provider_installation"]
    if not blocks:
        return None
    methods = []
    for kind, body in _blocks(blocks[0]):
        if kind not in ("filesystem_mirror", "network_mirror", "direct"):
            continue  # dev_overrides: a developer's build, not an installation method
        location = _attribute(body, "path" if kind == "filesystem_mirror" else "url") or ""
        include, exclude = _attribute(body, "include") or (), _attribute(body, "exclude") or ()
        methods.append(InstallMethod(kind, str(location), tuple(include), tuple(exclude)))
    return methods


def implied_mirrors(environ: Mapping[str, str]) -> list[Path]:
    """Terraform's implied local mirror directories on Linux: "`$HOME/.terraform.d/plugins`
    and `terraform/plugins` located within a valid XDG Base Directory data
    directory [...] Without any XDG environment variables set, Terraform will
    use `~/.local/share/terraform/plugins`, `/usr/local/share/terraform/plugins`,
    and `/usr/share/terraform/plugins`."
    (https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories)
    Not counted: a `terraform.d/plugins` in the directory cdktf runs Terraform in."""
    home = Path(environ.get("HOME") or Path.home())
    data_home = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    data_dirs = (environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    return [
        home / ".terraform.d" / "plugins",
        *(Path(d) / "terraform" / "plugins" for d in [data_home, *data_dirs] if d),
    ]


def _cli_config(environ: Mapping[str, str]) -> tuple[Path, str | None]:
    # "The location of the Terraform CLI configuration file can also be
    # specified using the TF_CLI_CONFIG_FILE environment variable."
    # (https://developer.hashicorp.com/terraform/cli/config/config-file#locations)
    path = Path(environ.get("TF_CLI_CONFIG_FILE") or Path(environ.get("HOME") or Path.home()) / ".terraformrc")
    try:
        return path, path.read_text(errors="replace")
    except OSError:
        return path, None  # assumed: Terraform goes on without a file it cannot read


def _versions(path: str | Path) -> list[str]:
    return terraform_cli.mirror_versions(Path(os.path.expandvars(str(path))))


def provider_installation(
    pinned: str | None = None,
    environ: Mapping[str, str] = os.environ,
    probe: Callable[[], bool] | None = None,
) -> Check:
    """Whether `terraform init` (run by cdktf for each stack) can install the
    pinned hashicorp/aws, decided from the Terraform CLI configuration and the
    mirrors on disk, without downloading it.

    The pin is exact: "= (or no operator): Allows only one exact version
    number." (https://developer.hashicorp.com/terraform/language/expressions/version-constraints)
    A plugin cache does not make it installable offline: "the terraform init
    command will still use the configured or implied installation methods to
    obtain metadata about which plugins are available"
    (https://developer.hashicorp.com/terraform/cli/config/config-file#provider-plugin-cache).
    """
    try:
        pinned = pinned or pinned_provider_version()
    except (LookupError, OSError, KeyError, ValueError, tarfile.TarError) as error:
        return Check("The pinned hashicorp/aws provider can be installed", "fail", f"pin not found: {error}")
    label = f"hashicorp/aws {pinned} (the stacks' pin) can be installed"
    probe = probe or terraform_cli.registry_reachable
    provider = terraform_cli.PROVIDER
    path, methods, how = _configured_methods(environ, provider)
    applying = [m for m in methods if m.applies_to(provider)]
    mirrored = {m.location: _versions(m.location) for m in applying if m.kind == "filesystem_mirror"}
    for location, versions in mirrored.items():
        if pinned in versions:
            return Check(label, "ok", f"the filesystem mirror {location} holds it ({how})")
    direct = any(m.kind == "direct" for m in applying)
    if direct and probe():
        return Check(label, "ok", f"terraform init downloads it from registry.terraform.io ({how})")
    networks = [m.location for m in applying if m.kind == "network_mirror"]
    if networks:
        return Check(label, "warn", f"not checked: it comes from the network mirror {', '.join(networks)} ({how})")
    if direct:
        problem = f"{how} installs it directly from registry.terraform.io, which does not answer"
    else:
        problem = f"{how} offers no method that can provide it"
    approximation = _at_hand_instead(pinned, mirrored, environ)
    fix = (
        f"allow direct installation from registry.terraform.io (online, terraform init downloads {pinned}), "
        f"or put {pinned} in a filesystem mirror (`terraform providers mirror DIR` where the registry answers) "
        f"and name it in the provider_installation of {path}"
    )
    return Check(label, "fail", f"{problem}; {approximation}: {fix}")


def _configured_methods(environ: Mapping[str, str], provider: str):
    """The CLI configuration's path, its installation methods, and how to say which."""
    path, text = _cli_config(environ)
    methods = installation_methods(text) if text is not None else None
    if methods is not None:
        return path, methods, f"the provider_installation of {path}"
    missing = " (no such file)" if text is None else ""
    # "Terraform will scan all of the filesystem mirror directories to see
    # which providers are placed there and automatically exclude all of
    # those providers from the implied direct block." (implied mirrors, as above)
    mirrors = [InstallMethod("filesystem_mirror", str(d)) for d in implied_mirrors(environ) if _versions(d)]
    methods = [*mirrors, InstallMethod("direct", exclude=(provider,) if mirrors else ())]
    return path, methods, f"no provider_installation in {path}{missing}: Terraform's implied configuration"


def _at_hand_instead(pinned: str, mirrored: dict, environ: Mapping[str, str]) -> str:
    """What is at hand instead, configured or not (the tools' own mirrors too),
    and what that approximation means."""
    mirrored = dict(mirrored)
    elsewhere = [environ.get(terraform_cli.MIRROR_VARIABLE, ""), *terraform_cli.KNOWN_MIRRORS]
    used = {os.path.expanduser(location) for location in mirrored}
    for location in filter(None, elsewhere):
        if os.path.expanduser(location) not in used and _versions(location):
            mirrored[f"{location} (which terraform init does not use)"] = _versions(location)
    at_hand = {location: versions for location, versions in mirrored.items() if versions}
    if not at_hand:
        return "no mirror on this machine holds any hashicorp/aws for its platform"
    held = "; ".join(f"{location} holds {', '.join(versions)}" for location, versions in at_hand.items())
    return (
        f"{held}, not the exact {pinned} the stacks pin: terraform init will fail here; "
        f"`make tf-validate` and the rehearsal approximate with another version (docs/development.md), "
        "a deploy cannot"
    )


def placeholders(config: EnvironmentConfig) -> Check:
    label = "No placeholder values in the configuration"
    found = []
    if config.account_id == PLACEHOLDER_ACCOUNT:
        found.append(f"account_id {PLACEHOLDER_ACCOUNT}")
    if config.github.owner == PLACEHOLDER_OWNER:
        found.append(f"github.owner {PLACEHOLDER_OWNER!r}")
    if config.notification_email.lower().endswith("@" + PLACEHOLDER_DOMAIN):
        found.append(f"notification_email {config.notification_email}")
    for target in config.deploy_targets:
        if PLACEHOLDER_ACCOUNT in target.role_arn:
            found.append(f"deploy role of {target.environment} in account {PLACEHOLDER_ACCOUNT}")
        if PLACEHOLDER_DOMAIN in target.health_check_url:
            found.append(f"health URL of {target.environment} ({target.health_check_url})")
    if found:
        return Check(label, "fail", "; ".join(found) + f": set real values in environments/{config.name}.py")
    return Check(label, "ok")


def _account(arn: str) -> str:
    return arn.split(":")[4]


@dataclass
class TargetAccess:
    """Credentials for a target account, named with --target-profile."""

    profile: str
    session: object


@dataclass
class Preflight:
    config: EnvironmentConfig
    session: object
    # Target account -> the credentials named for it with --target-profile.
    targets: dict[str, TargetAccess] = field(default_factory=dict)

    def __post_init__(self):
        self.names = self.config.names

    def client(self, service: str, session=None):
        return (session or self.session).client(service, region_name=self.config.region)

    def run(self) -> list[Check]:
        checks = [terraform_version(), provider_installation(), placeholders(self.config)]
        account = self.credentials(checks)
        if account == self.config.account_id:
            checks += [
                self.state_backend(),
                self.lambda_concurrency(),
                self.build_quota(),
                self.connection(),
                *self.deployer_roles(account),
            ]
        checks += self.target_bootstraps(account)
        return checks

    def credentials(self, checks: list[Check]) -> str | None:
        label = f"AWS credentials for account {self.config.account_id}"
        try:
            identity = self.client("sts").get_caller_identity()
        except AWS_ERRORS as error:
            checks.append(Check(label, "fail", str(explain(error, "checking the credentials"))))
            return None
        if identity["Account"] != self.config.account_id:
            checks.append(
                Check(
                    label,
                    "fail",
                    f"the credentials are for account {identity['Account']}: "
                    "switch profile (AWS_PROFILE) or fix account_id",
                )
            )
        else:
            checks.append(Check(label, "ok", identity["Arn"]))
        return identity["Account"]

    def state_backend(self) -> Check:
        label = f"State backend s3://{self.config.state_bucket} is bootstrapped"
        fix = f"run make bootstrap ENV={self.config.name}"
        try:
            self.client("s3").head_bucket(Bucket=self.config.state_bucket)
            if self.config.state_backend.dynamodb_locking:
                self.client("dynamodb").describe_table(TableName=self.config.state_lock_table)
        except ClientError as error:
            return Check(label, "fail", f"{_code(error) or 'missing'}: {fix}")
        except AWS_ERRORS as error:
            return Check(label, "fail", str(explain(error, "reading the state backend")))
        return Check(label, "ok")

    def lambda_concurrency(self) -> Check:
        """Refuse reservations that would leave less than min(100, limit)
        unreserved; warn below the default limit of 1,000."""
        label = "Lambda concurrency leaves enough unreserved"
        region = self.config.region
        request = (
            "aws service-quotas request-service-quota-increase --service-code lambda "
            f"--quota-code {LAMBDA_CONCURRENCY_QUOTA} --desired-value {LAMBDA_DEFAULT_LIMIT} --region {region}"
        )
        reserving = reserved_total(self.config)
        try:
            limits = self.client("lambda").get_account_settings()["AccountLimit"]
        except AWS_ERRORS as error:
            return unreadable(label, "lambda:GetAccountSettings", error)
        limit, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
        # What this environment's functions reserve now is already out of the
        # unreserved pool; the deploy sets it to the configured value instead
        # of adding to it, so it is counted back.
        try:
            own = self._own_reservations() if reserving else 0
        except AWS_ERRORS as error:
            return unreadable(label, "lambda:GetFunctionConcurrency", error)
        left, floor = unreserved + own - reserving, min(UNRESERVED_FLOOR, limit)
        if left < floor:
            return Check(
                label,
                "fail",
                f"{self.config.name}'s functions reserve {reserving}, which would leave {left} of the account's "
                f"{limit} unreserved in {region}; Lambda keeps at least {floor} unreserved, so creating them fails "
                "(InvalidParameterValueException): set reserve_function_concurrency=False in "
                f"environments/{self.config.name}.py (the default), or raise the limit: {request}",
            )
        summary = f"limit {limit}, {left} unreserved after this deploy ({reserving} reserved by {self.config.name})"
        if limit < LAMBDA_DEFAULT_LIMIT:
            return Check(
                label,
                "warn",
                f"{summary}; below the default {LAMBDA_DEFAULT_LIMIT:,} (a new account's quota): "
                f"functions throttle early; request: {request}",
            )
        return Check(label, "ok", summary)

    def _own_reservations(self) -> int:
        """What this environment's functions reserve now (0 for one not created yet)."""
        client, total = self.client("lambda"), 0
        for purpose in RESERVED_CONCURRENCY:
            try:
                found = client.get_function_concurrency(FunctionName=self.names.lambda_function(purpose))
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":
                    raise
                continue
            total += found.get("ReservedConcurrentExecutions", 0)
        return total

    def build_quota(self) -> Check:
        compute = self.config.build.compute_type
        name = BUILD_QUOTA_NAMES.get(compute, f"Concurrently running builds for {compute}")
        label = f"CodeBuild quota '{name}'"
        call = "servicequotas:ListServiceQuotas"
        projects = len(naming.CODEBUILD_PROJECTS)
        try:
            quota = self._quota("codebuild", name)
        except AWS_ERRORS as error:
            return Check(
                label,
                "warn",
                f"not checked: could not read {call} ({_reason(error, call)}); grant {call}, or look it up in the "
                "Service Quotas console: at 0, every build fails with 'Cannot have more than 0 builds in queue "
                "for the account'",
            )
        if quota is None:
            return Check(
                label, "warn", f"not checked: Service Quotas lists no applied value for it in {self.config.region}"
            )
        value = quota.get("Value", 0)
        if value < 1:
            # A warning, not a refusal: `make deploy` builds nothing itself, and
            # the increase may take days; the infrastructure can be deployed
            # meanwhile, and every pipeline build fails until it is raised.
            return Check(
                label,
                "warn",
                f"{value:g} in {self.config.region}: CodeBuild refuses every build ('Cannot have more than 0 builds "
                "in queue for the account') until it is raised: aws service-quotas request-service-quota-increase "
                f"--service-code codebuild --quota-code {quota['QuotaCode']} --desired-value {projects} "
                f"--region {self.config.region}",
            )
        return Check(label, "ok", f"{value:g} in {self.config.region}")

    def _quota(self, service: str, name: str) -> dict | None:
        client, token = self.client("service-quotas"), None
        while True:
            page = client.list_service_quotas(ServiceCode=service, **({"NextToken": token} if token else {}))
            for quota in page.get("Quotas", []):
                if quota.get("QuotaName", "").lower() == name.lower():
                    return quota
            token = page.get("NextToken")
            if not token:
                return None

    def connection(self) -> Check:
        """The GitHub connection's status.

        "After it is created, the connection is in a pending state. You
        complete the process by using the console Set up pending connection
        option." (https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections-workflow.html)
        "Pipeline creation: When a pipeline is created, a pipeline execution
        starts automatically." (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html)
        That first execution fails in its Source stage, which the recorder
        classifies BUILD_FAILED (functions/shared/stages.py): not a deployment,
        not a change failure.
        """
        label = f"GitHub connection {self.names.github_connection}"
        first_run = (
            f"the execution CodePipeline starts when it creates the pipeline fails in its {naming.SOURCE_STAGE} "
            "stage until someone completes the handshake in the console (docs/operations.md, Completing the "
            "GitHub connection); it is recorded as BUILD_FAILED, not counted as a deployment"
        )
        client = self.client("codeconnections")
        try:
            arn = self._connection_arn(client)
        except AWS_ERRORS as error:
            return unreadable(label, "codeconnections:ListConnections", error)
        if arn is None:
            return Check(
                label, "warn", f"not created yet: pipeline-{self.config.name} creates it PENDING, and {first_run}"
            )
        try:
            status = client.get_connection(ConnectionArn=arn)["Connection"].get("ConnectionStatus")
        except AWS_ERRORS as error:
            return unreadable(label, "codeconnections:GetConnection", error)
        if status == "AVAILABLE":
            return Check(label, "ok", "AVAILABLE")
        if status == "ERROR":
            # "A connection that has an error state is retried automatically.
            # It cannot be used until it is available." (workflow page above)
            return Check(label, "warn", "ERROR: AWS retries it; the pipeline cannot start until it is AVAILABLE")
        return Check(label, "warn", f"{status}: {first_run}")

    def _connection_arn(self, client) -> str | None:
        token = None
        while True:
            page = client.list_connections(ProviderTypeFilter="GitHub", **({"NextToken": token} if token else {}))
            for found in page.get("Connections", []):
                if found.get("ConnectionName") == self.names.github_connection:
                    return found["ConnectionArn"]
            token = page.get("NextToken")
            if not token:
                return None

    def _session_for(self, account: str, credentials_account: str | None):
        if account in self.targets:
            return self.targets[account].session
        return self.session if account == credentials_account else None

    def _not_checked(self, account: str) -> str:
        return (
            f"not checked: run `python -m ops preflight {self.config.name} --target-profile {account}=PROFILE` "
            f"(or `cdk bootstrap aws://{account}/{self.config.region}`) in account {account}"
        )

    def deployer_roles(self, account: str) -> list[Check]:
        """The roles the deploy projects assume: each exists and trusts its
        deploy project (ops/deployers.py says what that trust is)."""
        from ops import deployers

        checks = []
        for target in self.config.deploy_targets:
            role_account, role_name = _account(target.role_arn), target.role_arn.split("/")[-1]
            label = f"Deployer role {role_name} of {target.environment}"
            session = self._session_for(role_account, account)
            if session is None:
                checks.append(Check(label, "warn", f"in account {role_account}: {self._not_checked(role_account)}"))
                continue
            try:
                role = self.client("iam", session).get_role(RoleName=role_name)["Role"]
            except ClientError as error:
                if _code(error) != "NoSuchEntity":
                    checks.append(unreadable(label, "iam:GetRole", error))
                    continue
                # The infrastructure deploys without it; the pipeline's deploy
                # stage would fail on AssumeRole. Not a stop, but said loudly.
                checks.append(
                    Check(
                        label,
                        "warn",
                        f"missing: the {target.environment} deploy stage will fail on AssumeRole until it exists: "
                        f"python -m ops deployer-roles {self.config.name}",
                    )
                )
                continue
            except AWS_ERRORS as error:
                checks.append(unreadable(label, "iam:GetRole", error))
                continue
            problems = deployers.trust_problems(self.config, target, role)
            if problems:
                checks.append(
                    Check(
                        label,
                        "warn",
                        f"{'; '.join(problems)} (until then the {target.environment} deploy stage fails on AssumeRole)",
                    )
                )
            else:
                checks.append(Check(label, "ok", "exists and trusts its deploy project"))
        return checks

    def target_bootstraps(self, credentials_account: str | None) -> list[Check]:
        """What each target account needs for the application's own deploy:
        the seed's Stage 2 runs `cdk deploy`, so the account must be CDK
        bootstrapped in the region the deploy projects run in (assumed: the
        pipeline's), with the bootstrap roles the deployer roles may assume.
        "each environment must be bootstrapped separately"
        (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping.html)."""
        by_account: dict[str, list[DeployTarget]] = {}
        for target in self.config.deploy_targets:
            by_account.setdefault(_account(target.role_arn), []).append(target)
        return [self._bootstrap(a, t, credentials_account) for a, t in by_account.items()]

    def _bootstrap(self, account: str, targets: list[DeployTarget], credentials_account: str | None) -> Check:
        region = self.config.region
        stages = ", ".join(t.environment for t in targets)
        label = f"CDK bootstrap of account {account} in {region} (deploys {stages})"
        session = self._session_for(account, credentials_account)
        if session is None:
            return Check(label, "warn", self._not_checked(account))
        if account in self.targets:
            profile = self.targets[account].profile
            try:
                found = self.client("sts", session).get_caller_identity()["Account"]
            except AWS_ERRORS as error:
                return unreadable(label, f"sts:GetCallerIdentity with profile {profile}", error)
            if found != account:
                return Check(
                    label, "fail", f"profile {profile} is for account {found}, not {account}: fix --target-profile"
                )
        fix = f"run `cdk bootstrap aws://{account}/{region}` with that account's credentials"
        try:
            version = self.client("ssm", session).get_parameter(Name=CDK_BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
        except ClientError as error:
            if _code(error) != "ParameterNotFound":
                return unreadable(label, "ssm:GetParameter", error)
            return Check(
                label,
                "warn",
                f"not bootstrapped (no {CDK_BOOTSTRAP_PARAMETER}): the {stages} deploy stage(s) will fail; {fix}",
            )
        except AWS_ERRORS as error:
            return unreadable(label, "ssm:GetParameter", error)
        missing = []
        for kind in CDK_BOOTSTRAP_ROLE_KINDS:
            role = f"cdk-{CDK_QUALIFIER}-{kind}-{account}-{region}"
            if not any(fnmatch.fnmatchcase(role, pattern) for pattern in self.config.deployer_assumes):
                continue  # not a role the deployer roles may assume: not needed here
            try:
                self.client("iam", session).get_role(RoleName=role)
            except ClientError as error:
                if _code(error) != "NoSuchEntity":
                    return unreadable(label, "iam:GetRole", error)
                missing.append(role)
            except AWS_ERRORS as error:
                return unreadable(label, "iam:GetRole", error)
        if missing:
            return Check(
                label,
                "warn",
                f"bootstrap version {version}, but {', '.join(missing)} missing: the {stages} deploy stage(s) "
                f"will fail; {fix}",
            )
        return Check(label, "ok", f"bootstrap version {version}")
