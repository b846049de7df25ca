"""The rehearsal's moto server (tools/moto_server.py) as a process on
127.0.0.1, stopped by PID; the environment that points AWS clients at it;
and the runner of `python` commands (`ops`, the probe round) against it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tools.rehearse.results import RehearsalFailed
from tools.terraform_cli import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """A moto server process on 127.0.0.1, stopped by PID on exit. With
    `account`, every request is served in that AWS account instead of moto's
    default 123456789012. moto's documentation, "Multi-Account support"
    (https://docs.getmoto.org/en/latest/docs/multi_account.html): "It is
    possible to configure the default account ID that will be used for all
    incoming requests, by setting the environment variable MOTO_ACCOUNT_ID."
    It is read per request (moto/core/responses.py), so the server process
    gets it in its environment."""

    def __init__(self, log: Path | None = None, account: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = log  # the server's request log, to diagnose a hang or a lost answer
        self.account = account
        self._output = None

    def __enter__(self) -> MotoServer:
        self._output = open(self.log, "w") if self.log else None  # noqa: SIM115 - closed in stop()
        environ = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        if self.account:
            environ["MOTO_ACCOUNT_ID"] = self.account
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches the rehearsal,
            # which stops the server itself (stop()), after what still uses it.
            start_new_session=True,
            cwd=REPO,  # `-m tools.moto_server`
            env=environ,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()  # noqa: S310 - our own http://127.0.0.1
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RehearsalFailed(f"moto server exited with {self.process.returncode}") from None
                time.sleep(0.2)
        self.stop()
        raise RehearsalFailed("moto server did not answer within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._output:
            self._output.close()

    def __exit__(self, *exc) -> None:
        self.stop()


def aws_environment(url: str, region: str) -> dict[str, str]:
    """Fake credentials and the server's endpoint: nothing can reach AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python ARGS` in the repository, with `env` and none of the caller's AWS_ variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300
    )
