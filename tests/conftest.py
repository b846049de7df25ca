"""Shared fixtures. The app is synthesized once per session: importing the AWS
provider bindings and starting jsii is the slowest thing the suite does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from environments import DIRECTORY_VARIABLE  # noqa: E402 - pure Python, no jsii

# A line of progress at least every 30 s while a long fixture runs.
pytest_plugins = ["tests.support.progress"]

REPO = Path(__file__).resolve().parent.parent
# Every test, and every process a test starts, reads the environments of
# tests/fixtures/environments/, never the team's environments/*.py: a team
# that commits its own account changes no test outcome (environments.module).
FIXTURE_ENVIRONMENTS = REPO / "tests" / "fixtures" / "environments"
os.environ[DIRECTORY_VARIABLE] = str(FIXTURE_ENVIRONMENTS)
# jsii runs on the Node that `npm ci` installed (package.json), as every make
# target does, also when pytest is started by hand.
if (REPO / "node_modules" / ".bin" / "node").exists():
    os.environ["PATH"] = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

# Tests import stack modules directly too: load provider submodules lazily
# from the start, as the app does (modules/provider_import.py).
from modules import provider_import  # noqa: E402 - after the jsii setting above

provider_import.enable()

from environments import ENVIRONMENT_NAMES, load_all  # noqa: E402 - after enable()
from tests.support.synth import SynthesizedStack  # noqa: E402 - after enable()

# Fixtures that put a test in a tier (conftest marks each test; see pytest.ini).
# function_zips: every synth needs the zips, so a fixture that synthesizes asks for them.
SYNTH_FIXTURES = {"synth_dir", "function_zips"}
EMULATION_FIXTURES = {"aws_credentials", "no_aws_credentials", "moto_url"}
SLOW_MARKERS = {"slow", "terraform"}


def pytest_collection_modifyitems(config, items):
    """Derive each test's tier from what it uses, so no list of tests is kept
    by hand: a test that needs the session synth is `stacks`, one with moto's
    credentials is `integration`, the rest `unit`; `fast` is every unit test
    that is not slow (`make test-fast`). A module that starts an emulator or
    a synth of its own declares its tier with `pytestmark`."""
    for item in items:
        used = set(item.fixturenames)
        declared = [m for m in ("constructs", "stacks", "integration", "unit") if item.get_closest_marker(m)]
        if declared:  # a module that starts its own emulator or synth says so
            tier = declared[0]
        elif used & SYNTH_FIXTURES:
            tier = "stacks"
        elif used & EMULATION_FIXTURES:
            tier = "integration"
        else:
            tier = "unit"
        if not declared:
            item.add_marker(tier)
        if tier == "unit" and not any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker("fast")
    # The two longest files first: under `--dist loadfile` each of the two
    # workers starts with one of them, and the shorter files fill in around
    # them (pytest-xdist hands a worker more only when it is nearly done).
    items.sort(key=lambda item: _FIRST.index(item.path.name) if item.path.name in _FIRST else len(_FIRST))


_FIRST = ("test_upgrade_rehearsal.py", "test_rehearsal.py")


@pytest.fixture(scope="module")
def moto_url():
    """A moto server in this process for one test module: its URL (for
    clients and tools that talk HTTP to an endpoint, such as Terraform).

    The server keeps its accounts in this process's moto state, which other
    modules' servers share: it is reset when the server starts and before it
    stops, so no module sees another's resources (an IAM backend made
    without AWS's managed policies, say)."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    from tools.rehearse import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"

    def reset() -> None:
        # moto's own reset endpoint ("/moto-api/reset"), a POST.
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).read()

    reset()
    yield url
    reset()
    server.stop()


@pytest.fixture(scope="session")
def function_zips() -> Path:
    """dist/, built the way `make functions` builds it."""
    from functions import package

    dist = REPO / "dist"
    for function in package.FUNCTIONS:
        package.build(function, dist)
    return dist


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory, function_zips) -> Path:
    """The full app (every stack of every environment), synthesized once."""
    from modules.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(load_all(), outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="session")
def scenario_pipelines(tmp_path_factory, function_zips) -> dict[str, dict]:
    """The delivery scenarios' pipelines (tests/support/delivery_world.py),
    synthesized once from configurations written there."""
    from tests.support.delivery_world import synthesize_pipelines

    return synthesize_pipelines(tmp_path_factory.mktemp("scenarios.out"))


@pytest.fixture(scope="session")
def stacks(synth_dir) -> dict[str, SynthesizedStack]:
    found = {}
    for path in sorted((synth_dir / "stacks").glob("*/cdk.tf.json")):
        found[path.parent.name] = SynthesizedStack(path)
    return found


# The acceptance tier's one rehearsal: production (approval, change window,
# deletion protection: a superset of the other environments).
REHEARSED = "production"


@pytest.fixture(scope="session")
def production_rehearsal(synth_dir, tmp_path_factory):
    """Production deployed from scratch to a moto server with real Terraform
    and the real provider, re-planned, validated, then planned once per kind
    of change a reviewer must see (tests/support/plan_scenarios.py; its drift
    scenario comes last, so no result depends on test order).

    Built once per process. Only tests/test_rehearsal.py asks for it, so
    under pytest-xdist's `--dist loadfile` one worker builds it, once
    (tests/test_architecture.py holds that)."""
    from tests.support import plan_scenarios
    from tools.rehearse import rehearse, summary

    log: list[str] = []
    rehearsal = rehearse(
        REHEARSED,
        synth_dir / "stacks",
        tmp_path_factory.mktemp("rehearsal"),
        log=log.append,
        then=lambda site: plan_scenarios.run(site, REHEARSED),
    )
    print("\n".join(log) + "\n" + summary(rehearsal))
    return rehearsal


@pytest.fixture
def ops_on_moto(aws_credentials, monkeypatch):
    """`python -m ops` against moto: every client from one session (moto behind all of them)."""
    from moto import mock_aws

    from ops import common
    from tests.support.sessions import StubbingSession

    with mock_aws():
        session = StubbingSession()
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        yield session


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials for moto, and nothing that could reach real AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """No credentials anywhere boto3 looks, to test the one-line error."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(params=ENVIRONMENT_NAMES)
def env_config(request):
    return {c.name: c for c in load_all()}[request.param]
