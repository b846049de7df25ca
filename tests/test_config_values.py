"""Configuration values that were accepted and then failed (issue 22, "Why"
10): each is refused with its field named, by the rule its consumer uses, and
what is accepted is what the consumer reads. Reserved concurrency is opt-in.

Configurations are built here from the fixture environments; none of
environments/*.py is read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from environments import ConfigError, load
from environments.config import (
    ChangeWindow,
    GitHubSource,
    email_problem,
    github_owner_problem,
    github_repo_problem,
    partition_of,
)
from functions.health_probe import targets
from functions.shared import window
from tests.conftest import FIXTURE_ENVIRONMENTS, REPO
from topology import functions

BOUNDARY = "arn:aws:iam::123456789012:policy/"


def with_url(url: str):
    """The `test` environment with its first deploy target's health URL set to `url`."""
    base = load("test")
    first = dataclasses.replace(base.deploy_targets[0], health_check_url=url)
    return dataclasses.replace(base, deploy_targets=(first, *base.deploy_targets[1:]))


def config_accepts(url: str) -> bool:
    try:
        with_url(url)
    except ConfigError:
        return False
    return True


def probe_accepts(url: str) -> bool:
    try:
        targets.read(json.dumps({"test": url}))
    except ValueError:
        return False
    return True


# Each value of "Why" 10's configuration bullets: (change, field, a word of the reason).
REFUSED = [
    # Health URLs the probe refused at cold start while the config accepted them.
    ({"url": "https://user:secret@app.example.com/health"}, "deploy_targets[0].health_check_url", "password"),
    ({"url": "https://my_app.example.com/health"}, "deploy_targets[0].health_check_url", "underscore"),
    ({"url": "https://bücher.example.com/health"}, "deploy_targets[0].health_check_url", "IDNA"),
    ({"url": "https://app.example.com?deep=1"}, "deploy_targets[0].health_check_url", "path before its query"),
    ({"url": "https://[2001:db8::1]/health"}, "deploy_targets[0].health_check_url", "IPv6"),
    ({"url": "https://app.example.com/health#top"}, "deploy_targets[0].health_check_url", "fragment"),
    ({"url": "https://app.example.com/${var.x}"}, "deploy_targets[0].health_check_url", "braces"),
    # Change-window crons: hour 25, month 13, words, tabs, newlines; and the
    # strict subset (seconds '*', one '?', ascending ranges, capital names).
    ({"cron": "* * 25 ? * MON-THU *"}, "change_window.cron", "hours: 25 is outside 0-23"),
    ({"cron": "* * 9-16 1 13 ? *"}, "change_window.cron", "month: 13 is outside 1-12"),
    ({"cron": "* * nine ? * MON-THU *"}, "change_window.cron", "hours: 'nine' is not a value"),
    ({"cron": "* * 9-16 ? * WEEKDAYS *"}, "change_window.cron", "day-of-week"),
    ({"cron": "* * 9-16\t? * MON-THU *"}, "change_window.cron", "single spaces"),
    ({"cron": "* * 9-16 ? * MON-THU *\n"}, "change_window.cron", "no tabs or newlines"),
    ({"cron": "0 * 9-16 ? * MON-THU *"}, "change_window.cron", "seconds"),
    ({"cron": "* * 9-16 ? * ? *"}, "change_window.cron", "exactly one must be '?'"),
    ({"cron": "* * 22-2 ? * MON-THU *"}, "change_window.cron", "runs backwards"),
    ({"cron": "* * 9-16 ? * mon-thu *"}, "change_window.cron", "capitals"),
    ({"cron": "* * 9-16 ? * 6L *"}, "change_window.cron", "not supported"),
    # Time zones.
    ({"time_zone": "Europe/Berlinn"}, "change_window.time_zone", "IANA name"),
    ({"time_zone": "UTC+14:59"}, "change_window.time_zone", "UTC+14:00"),
    ({"time_zone": "UTC-12:30"}, "change_window.time_zone", "UTC-12:00"),
    ({"time_zone": "UTC+5:30"}, "change_window.time_zone", "IANA name"),
    ({"time_zone": "EST"}, "change_window.time_zone", "ambiguous"),
    # A permissions boundary IAM would read as a policy variable.
    (
        {"iam_permissions_boundary_arn": BOUNDARY + "${aws:username}/boundary"},
        "iam_permissions_boundary_arn",
        "policy variable",
    ),
    # ISO-partition regions, once taken for the commercial partition.
    ({"region": "us-iso-east-1"}, "region", "aws-iso partition"),
    ({"region": "us-isob-east-1"}, "region", "aws-iso-b partition"),
    ({"region": "eu-isoe-west-1"}, "region", "aws-iso-e partition"),
    ({"region": "us-isof-south-1"}, "region", "aws-iso-f partition"),
    ({"region": "us-isoz-east-1"}, "region", "not in any partition"),
    # GitHub names GitHub refuses, and an address with a trailing newline.
    ({"repo": ".."}, "github.repo", "not '.' or '..'"),
    ({"repo": "."}, "github.repo", "not '.' or '..'"),
    ({"owner": "my.org"}, "github.owner", "no dots"),
    ({"owner": "my-org\n"}, "github.owner", "newlines"),
    ({"notification_email": "devops@example.com\n"}, "notification_email", "email address"),
]


def configured(change: dict):
    """The `test` fixture environment with one value changed."""
    (key, value), base = next(iter(change.items())), load("test")
    if key == "url":
        return with_url(value)
    if key in ("cron", "time_zone"):
        return dataclasses.replace(base, change_window=ChangeWindow(enabled=True, **change))
    if key in ("owner", "repo"):
        return dataclasses.replace(base, github=dataclasses.replace(base.github, **change))
    return dataclasses.replace(base, **change)


@pytest.mark.parametrize(("change", "field", "reason"), REFUSED, ids=[repr(c) for c, _, _ in REFUSED])
def test_each_value_is_refused_with_its_field_named(change, field, reason):
    with pytest.raises(ConfigError) as caught:
        configured(change)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{field}: "), problem
    assert reason in problem, problem


ACCEPTED = [
    {"url": "https://app.example.com"},
    {"url": "https://app.example.com:8443/health?deep=1&x=%2F"},
    {"url": "https://10.0.0.1/health"},
    {"url": "https://xn--bcher-kva.example.com/health"},
    {"cron": "* * 9-16 ? * MON-THU *"},
    {"cron": "* 0/15 9-16 ? * 2-6"},
    {"cron": "* 0 12 1 JAN,JUL ? 2027"},
    {"time_zone": "UTC"},
    {"time_zone": "UTC-12:00"},
    {"time_zone": "UTC+14:00"},
    {"time_zone": "UTC+05:30"},
    {"time_zone": "America/Argentina/Buenos_Aires"},
    {"iam_permissions_boundary_arn": BOUNDARY + "team/kiro-boundary"},
    {"region": "eu-central-2"},
    {"repo": "my.repo_name-2"},
    {"owner": "my-org-2"},
]


@pytest.mark.parametrize("change", ACCEPTED, ids=repr)
def test_what_the_consumers_read_is_accepted(change):
    configured(change)


URLS = [
    *(c["url"] for c, _, _ in REFUSED if "url" in c),
    *(c["url"] for c in ACCEPTED if "url" in c),
    "http://app.example.com/health",
    "https://app.example.com/he alth",
    "https://app.example.com:0/",
    "https://app.example.com:65536/",
    "https://app.example.com:443/",
    "https://app.example.com./health",
    "https://localhost/health",
    "https://-app.example.com/",
    "https://app.example.com/%zz",
    "https://app.example.com/a\nb",
    "HTTPS://app.example.com/",
]


@pytest.mark.parametrize("url", URLS, ids=repr)
def test_the_config_accepts_a_health_url_exactly_when_the_probe_does(url):
    assert config_accepts(url) is probe_accepts(url)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab_-.:@[]/?#%1 ü\t{}$", max_size=24).map(lambda tail: "https://" + tail)
    | st.from_regex(r"https://[a-z0-9.-]{1,20}(:[0-9]{1,6})?(/[a-z0-9/?=&%._-]{0,20})?", fullmatch=True)
)
def test_the_config_and_the_probe_agree_on_any_url(url):
    assert config_accepts(url) is probe_accepts(url)


@pytest.mark.parametrize("url", [c["url"] for c in ACCEPTED if "url" in c])
def test_an_accepted_url_is_one_urllib_requests_as_written(url):
    """What the probe does with it (health_probe/aws.py): urllib finds the
    host the rule checked, and sends a request target that starts with '/'."""
    request = urllib.request.Request(url)
    host = urllib.parse.urlsplit(url).hostname
    assert request.host.split(":")[0] == host
    assert (request.selector or "/").startswith("/")


CRONS = [
    *(c["cron"] for c, _, _ in REFUSED if "cron" in c),
    *(c["cron"] for c in ACCEPTED if "cron" in c),
    "* * 9-16 ? JAN-MAR MON *",
    "* */5 * 1-15 * ? *",
    "* * * ? * * 1969",
]


@pytest.mark.parametrize("cron", CRONS, ids=repr)
def test_every_cron_the_config_accepts_the_execution_age_function_reads(cron):
    """The config's rule is the window reader's strict reading: what it
    accepts, the execution-age function (shared/window.py) can read."""
    try:
        configured({"cron": cron})
    except ConfigError:
        return
    window.parse_cron(cron)


@pytest.mark.parametrize("zone", ["UTC", "UTC+05:30", "UTC-12:00", "Europe/Berlin", "UTC+14:59", "Europe/Berlinn"])
def test_the_config_and_the_window_reader_agree_on_time_zones(zone):
    try:
        configured({"time_zone": zone})
        config_ok = True
    except ConfigError:
        config_ok = False
    try:
        window.parse_time_zone(zone)
        reader_ok = True
    except ValueError:
        reader_ok = False
    assert config_ok is reader_ok


def test_partitions_follow_the_sdks_endpoint_data():
    """botocore's partitions.json (the SDKs' endpoint data) lists every region
    of every partition; each maps to its own partition here."""
    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    regions = {
        region: partition["id"]
        for partition in data["partitions"]
        for region in partition["regions"]
        if not region.endswith("-global")
    }
    assert {"us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1"} <= set(regions)
    assert {region: partition_of(region) for region in regions} == regions


def test_the_github_and_email_rules_ops_reuses():
    """environments.config exports the rules of github.owner, github.repo and
    notification_email for `ops setup-parameters` and `ops subscribe`."""
    assert github_owner_problem("my-org") is None
    assert github_repo_problem("kiro.codebuild_worker-2") is None
    assert email_problem("devops@example.com") is None
    for refused in ("my.org", "my-org\n", "-org", "a--b", "x" * 40, ""):
        assert github_owner_problem(refused), refused
    for refused in ("..", ".", "a b", "repo\n", "x" * 101, ""):
        assert github_repo_problem(refused), refused
    for refused in ("devops@example.com\n", "devops", "a@b"):
        assert email_problem(refused), refused
    assert dataclasses.replace(load("test"), github=GitHubSource("my-org", "my.repo")).github.repo == "my.repo"


class TestReservedConcurrency:
    def test_off_by_default_and_the_tables_total_when_opted_in(self):
        config = load("test")
        assert config.reserve_function_concurrency is False
        assert functions.reserved_total(config) == 0
        opted_in = dataclasses.replace(config, reserve_function_concurrency=True)
        # 13 per environment, as issue 22 counted them; the freeze gate's 1 more
        # where the environment respects freezes (it has the function only then).
        assert functions.reserved_total(opted_in) == 13
        frozen = dataclasses.replace(opted_in, respect_freezes=True)
        assert functions.reserved_total(frozen) == sum(functions.RESERVED_CONCURRENCY.values()) == 14
        assert functions.reserved_concurrency(opted_in, "rollback") == 1
        assert functions.reserved_concurrency(config, "rollback") is None

    def test_a_function_without_a_row_is_refused_by_name(self):
        with pytest.raises(KeyError, match="no function 'nightly' in topology/functions.py"):
            functions.reserved_concurrency(load("test"), "nightly")

    def test_no_synthesized_function_reserves_concurrency_unless_opted_in(self, stacks):
        monitoring = [stack for name, stack in stacks.items() if name.startswith("monitoring-")]
        lambdas = [f for stack in monitoring for f in stack.resources("aws_lambda_function").values()]
        # Every function of the table, in each environment that has it (the freeze gate: where freezes count).
        expected = sum(
            functions.wanted(stack_config, row)
            for stack_config in (load(name) for name in ("test", "staging", "production"))
            for row in functions.FUNCTIONS
        )
        assert len(monitoring) == 3 and len(lambdas) == expected
        assert [f["function_name"] for f in lambdas if "reserved_concurrent_executions" in f] == []
        # checkov's CKV_AWS_115 wants a reservation: each function says why it has none.
        assert all(any(s.startswith("checkov:skip=CKV_AWS_115: ") for s in f["//"]["checkov"]) for f in lambdas)

    def test_opted_in_each_function_reserves_its_rows_value(self, opted_in):
        lambdas = opted_in["monitoring-test"].resources("aws_lambda_function").values()
        reserved = {
            f["function_name"].removeprefix("kiro-pipeline-test-"): f.get("reserved_concurrent_executions")
            for f in lambdas
        }
        # monitoring-test does not respect freezes: no freeze gate there.
        assert reserved == {p: n for p, n in functions.RESERVED_CONCURRENCY.items() if p != "freeze-gate"}
        assert not [s for f in lambdas for s in f["//"]["checkov"] if "CKV_AWS_115" in s]

    def test_the_permissions_boundary_reaches_terraform_as_written(self, opted_in):
        """An IAM path may hold `%{`, a Terraform directive: the boundary
        goes through modules/literal.py, so Terraform reads it back unchanged."""
        roles = [r for stack in opted_in.values() for r in stack.resources("aws_iam_role").values()]
        assert roles and {r["permissions_boundary"] for r in roles} == {BOUNDARY_WITH_DIRECTIVE.replace("%{", "%%{")}


BOUNDARY_WITH_DIRECTIVE = BOUNDARY + "team%{x}/kiro-boundary"


@pytest.fixture(scope="module")
def opted_in(tmp_path_factory, function_zips):
    """The `test` environment opted in to reserved concurrency, with a
    permissions boundary whose path holds `%{`, synthesized alone."""
    from modules.app import build_app
    from tests.support.synth import SynthesizedStack

    config = dataclasses.replace(
        load("test"), reserve_function_concurrency=True, iam_permissions_boundary_arn=BOUNDARY_WITH_DIRECTIVE
    )
    outdir = tmp_path_factory.mktemp("opted-in.out")
    build_app([config], outdir=str(outdir)).synth()
    return {p.parent.name: SynthesizedStack(p) for p in sorted((outdir / "stacks").glob("*/cdk.tf.json"))}


@pytest.mark.integration
class TestAsAUserRunsIt:
    """`python -m environments test` on an environment file holding the bad
    value: exit 2 and one line naming the file, the field and the reason."""

    CASES = [
        ('region="us-east-1"', 'region="us-isof-south-1"', "region: 'us-isof-south-1' is in the aws-iso-f partition"),
        ('repo="kiro-codebuild-worker"', 'repo=".."', "github.repo: '..' is not a GitHub repository name"),
        (
            '"https://{stage}-{env}.kiro.example.com/health"',
            '"https://{stage}-{env}.kiro.example.com?deep=1"',
            "health_check_url: 'https://test-test.kiro.example.com?deep=1' is not a URL the health probe",
        ),
        (
            "polling_interval_minutes=5,",
            "polling_interval_minutes=5, change_window=ChangeWindow(cron='* * 25 ? * MON *'),",
            "change_window.cron: '* * 25 ? * MON *' is refused: hours: 25 is outside 0-23",
        ),
        (
            "polling_interval_minutes=5,",
            "polling_interval_minutes=5, change_window=ChangeWindow(time_zone='UTC+14:59'),",
            "change_window.time_zone: 'UTC+14:59' is not an offset from UTC-12:00 to UTC+14:00",
        ),
        (
            "polling_interval_minutes=5,",
            f"polling_interval_minutes=5, iam_permissions_boundary_arn='{BOUNDARY}${{aws:username}}/b',",
            "iam_permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/${aws:username}/b' holds '${'",
        ),
    ]

    @pytest.mark.parametrize(("old", "new", "message"), CASES, ids=[c[2].split(":")[0] for c in CASES])
    def test_the_validator_exits_2_naming_the_field(self, tmp_path, old, new, message):
        source = (FIXTURE_ENVIRONMENTS / "test.py").read_text()
        assert old in source
        source = source.replace("from environments.config import", "from environments.config import ChangeWindow,")
        (tmp_path / "test.py").write_text(source.replace(old, new))
        run = subprocess.run(
            [sys.executable, "-m", "environments", "test"],
            cwd=REPO,
            env={**os.environ, "KIRO_ENVIRONMENTS_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, run.stdout + run.stderr
        assert message in run.stderr, run.stderr
        assert "test.py:" in run.stderr and "Traceback" not in run.stderr
