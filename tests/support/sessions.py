"""A boto3 session for CLI tests: one client per service, moto behind most of
them, botocore Stubbers on the services moto does not implement."""

from __future__ import annotations

import os

import boto3
from botocore.stub import Stubber


class StubbingSession:
    def __init__(self, stubbed_services=(), region: str = "us-east-1"):
        self._session = boto3.Session(region_name=region)
        self._stubbed = set(stubbed_services)
        self.clients: dict = {}
        self.stubs: dict[str, Stubber] = {}

    def client(self, service: str, region_name: str | None = None):
        if service not in self.clients:
            client = self._session.client(service, region_name=region_name or self._session.region_name)
            self.clients[service] = client
            if service in self._stubbed:
                stub = Stubber(client)
                stub.activate()
                self.stubs[service] = stub
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubs[service]


def moto_environment(url: str, region: str = "us-east-1") -> dict[str, str]:
    """The environment of a process (`python -m ops`, bash) that must reach
    only the moto server at `url`: the caller's AWS_* variables and profile
    files are left out, fake credentials and the endpoint put in."""
    from tools.rehearse import aws_environment

    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **clean,
        **aws_environment(url, region),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
