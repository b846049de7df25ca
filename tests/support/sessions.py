"""A boto3 session for CLI tests: one client per service, moto behind most of
them, botocore Stubbers on the services moto does not implement."""

from __future__ import annotations

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
