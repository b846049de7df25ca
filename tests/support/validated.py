"""Answer one operation of a real (moto-backed) boto3 client with a canned
response, after checking the request against botocore's service model: for
operations moto does not implement, where a whole Stubber would be too much."""

from __future__ import annotations

from botocore.validate import ParamValidator


def answer(client, method: str, response: dict, calls: list | None = None) -> None:
    model = client.meta.service_model
    operation = model.operation_model(client.meta.method_to_api_mapping[method])

    def fake(**params):
        report = ParamValidator().validate(params, operation.input_shape)
        if report.has_errors():
            raise AssertionError(f"{method}: invalid parameters for AWS: {report.generate_report()}")
        if calls is not None:
            calls.append(params)
        return response

    setattr(client, method, fake)
