"""Answers in botocore's shapes for the calls preflight makes that moto does
not implement: Lambda's GetAccountSettings, Service Quotas' ListServiceQuotas
(moto knows only VPC's), and CodeConnections (moto has no API for it).

As tests/support/validated.py does for requests, every canned answer is
checked, when the test sets it up, against the operation's output shape in
botocore's service model, and every request against its input shape: a fake
AWS could not send, or a call AWS would refuse, fails the test."""

from __future__ import annotations

from botocore.exceptions import ClientError
from botocore.validate import ParamValidator


def _operation(client, method: str):
    return client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method])


def _valid(params: dict, shape, what: str) -> None:
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise AssertionError(f"{what}: not in botocore's shape: {report.generate_report()}")


def answer(client, method: str, *pages: dict, calls: list | None = None) -> None:
    """`method` answers `pages` in turn (the last one from then on)."""
    operation = _operation(client, method)
    for page in pages:
        _valid(page, operation.output_shape, f"{method} response")
    remaining = list(pages)

    def fake(**params):
        _valid(params, operation.input_shape, f"{method} request")
        if calls is not None:
            calls.append(params)
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    setattr(client, method, fake)


def refuse(client, method: str, code: str, message: str = "", status: int = 400) -> None:
    """`method` fails as AWS fails a call: a ClientError with `code`."""
    operation = _operation(client, method)

    def fake(**params):
        _valid(params, operation.input_shape, f"{method} request")
        error = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        raise ClientError(error, operation.name)

    setattr(client, method, fake)


def lambda_account(limit: int, unreserved: int) -> dict:
    """GetAccountSettings of an account with concurrency `limit`, `unreserved` of it unreserved."""
    return {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    }


def service_quota(name: str, code: str, value: float, service: str = "codebuild", region: str = "us-east-1") -> dict:
    """One entry of ListServiceQuotas' `Quotas`."""
    return {
        "ServiceCode": service,
        "ServiceName": "AWS CodeBuild" if service == "codebuild" else service,
        "QuotaArn": f"arn:aws:servicequotas:{region}:123456789012:{service}/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


def quotas(*entries: dict, next_token: str | None = None) -> dict:
    """One page of ListServiceQuotas."""
    return {"Quotas": list(entries), **({"NextToken": next_token} if next_token else {})}


def connection(name: str, status: str, region: str = "us-east-1", account: str = "123456789012") -> dict:
    """A CodeConnections Connection, as ListConnections and GetConnection return it."""
    return {
        "ConnectionName": name,
        "ConnectionArn": f"arn:aws:codeconnections:{region}:{account}:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "ProviderType": "GitHub",
        "OwnerAccountId": account,
        "ConnectionStatus": status,
    }
