"""`aws` for the README-command tests: the real AWS CLI (v1), in a process of
its own (importing awscli re-points `botocore` at its vendored copy, which
must not happen inside pytest), run by the Python of `.venv-awscli/`, where
`make install` puts it (requirements-awscli.txt): whatever Python starts
this file, it hands over to that one. The CLI is never in `.venv/`, where it
would shadow the user's AWS CLI v2 once `.venv` is active.

Every request goes to the moto server named by AWS_ENDPOINT_URL, except the
operations moto does not implement: for those, a `before-call` hook answers
with the canned response from the JSON file KIRO_CLI_CANNED, keyed
`service.Operation`. The hook runs after the CLI has parsed the command line
and built the request, and botocore has validated it against the service
model, so a wrong flag or parameter still fails. Each call is appended to
KIRO_CLI_CALLS as a JSON line (operation, and the request body when it is
text), so the test can see what was asked.

`aws logs tail` exists only in AWS CLI v2, which is not on PyPI. Its options
are checked here against the v2 reference's synopsis
(https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html), and it runs
as the FilterLogEvents call it makes, through the same v1 driver; with
`--follow` the process then waits, as the real one does, until it is stopped.
v2's `--cli-binary-format raw-in-base64-out` is dropped: it asks v2 for what
v1 does anyway (a blob parameter read from a file is sent as it is).

    python tests/support/aws_cli.py codepipeline get-pipeline-state --name X
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

AWSCLI_VENV = Path(__file__).resolve().parents[2] / ".venv-awscli"


def environment(url: str, root: Path, bin_dir: Path, canned: Path, calls: Path) -> dict[str, str]:
    """The environment a test runs bash in so that `aws` (this wrapper, put
    on PATH in `bin_dir`) talks to the moto server at `url` with test
    credentials, never the user's: their AWS_* variables and files are left
    out; `canned` and `calls` are the KIRO_CLI_* files above."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (bin_dir / "aws").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    (bin_dir / "aws").chmod(0o755)
    return {
        **clean,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(root),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(root / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "KIRO_CLI_CANNED": str(canned),
        "KIRO_CLI_CALLS": str(calls),
    }


class _Answer:
    status_code = 200
    headers: dict = {}
    content = b""
    text = ""


def _since_ms(value: str, now: float) -> int:
    relative = re.fullmatch(r"([0-9]+)([smhdw])", value)
    if not relative:
        raise SystemExit(f"logs tail: --since {value!r}: this stand-in takes relative times (5m, 1h)")
    seconds = int(relative.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[relative.group(2)]
    return int((now - seconds) * 1000)


def _logs_tail(argv: list[str]) -> tuple[list[str], bool]:
    """The FilterLogEvents call that v2's `logs tail ARGV` makes, and whether it follows."""
    parser = argparse.ArgumentParser(prog="aws logs tail", exit_on_error=False)
    parser.add_argument("group_name")
    parser.add_argument("--since", default="10m")
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--format", choices=("detailed", "short", "json"))
    parser.add_argument("--filter-pattern")
    parser.add_argument("--log-stream-names", nargs="+")
    parser.add_argument("--log-stream-name-prefix")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"aws: error: Unknown options: {', '.join(unknown)}", file=sys.stderr)
        raise SystemExit(252)
    call = [
        "logs",
        "filter-log-events",
        "--log-group-name",
        args.group_name,
        "--start-time",
        str(_since_ms(args.since, time.time())),
    ]
    if args.filter_pattern:
        call += ["--filter-pattern", args.filter_pattern]
    if args.log_stream_names:
        call += ["--log-stream-names", *args.log_stream_names]
    if args.log_stream_name_prefix:
        call += ["--log-stream-name-prefix", args.log_stream_name_prefix]
    return call, args.follow


def _in_awscli_venv(argv: list[str]) -> None:
    """Run this file again with .venv-awscli's Python, unless it already does."""
    python = AWSCLI_VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == AWSCLI_VENV.resolve():
        return
    if not python.exists():
        print(f"aws: the tests' AWS CLI is not installed ({AWSCLI_VENV}): run `make install`", file=sys.stderr)
        raise SystemExit(2)
    os.execv(python, [str(python), __file__, *argv])


def main(argv: list[str]) -> int:
    _in_awscli_venv(argv)
    from awscli.clidriver import create_clidriver

    with open(os.environ["KIRO_CLI_CANNED"]) as canned_file:
        canned = json.load(canned_file)
    calls = os.environ["KIRO_CLI_CALLS"]
    driver = create_clidriver()

    def answer(model, params, **_):
        operation = f"{model.service_model.service_name}.{model.name}"
        body = params.get("body")
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        with open(calls, "a") as log:
            log.write(json.dumps({"operation": operation, "body": body if isinstance(body, str) else None}) + "\n")
        if operation in canned:
            return _Answer(), canned[operation]
        return None

    driver.session.register("before-call", answer)
    follow = False
    if "--cli-binary-format" in argv:
        at = argv.index("--cli-binary-format")
        if argv[at + 1 : at + 2] != ["raw-in-base64-out"]:
            print("aws: error: --cli-binary-format takes raw-in-base64-out or base64", file=sys.stderr)
            return 252
        argv = argv[:at] + argv[at + 2 :]
    if argv[:2] == ["logs", "tail"]:
        argv, follow = _logs_tail(argv[2:])
    code = driver.main(argv)
    while follow and code == 0:
        time.sleep(1)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
