"""The deployments table on moto, created from the record contract
(functions/shared/records.py). tests/test_core_stack.py holds the table the
core stack synthesizes equal to it, so function and store tests need no synth."""

from __future__ import annotations

import boto3

from functions.shared import records
from topology import naming


def create_deployments_table(env: str = "test") -> str:
    """`env`'s deployments table on moto, built from the record contract, as
    the core stack builds it (tests/test_core_stack.py holds the synthesized
    table equal to `contract_table_request`): no synth needed."""
    from environments import load

    names = load(env).names
    return create_contract_table(boto3.client("dynamodb"), names.deployments_table, names.deployments_index)


def contract_table_request(name: str, index: str = naming.DEPLOYMENTS_INDEX) -> dict:
    """CreateTable's request for the deployments table, from the record contract."""
    keys = (records.KEY, records.INDEX_PARTITION, records.INDEX_SORT)
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in keys],
        "KeySchema": [{"AttributeName": records.KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": records.INDEX_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": records.INDEX_SORT, "KeyType": "RANGE"},
                ],
            }
        ],
    }


def create_contract_table(client, name: str, index: str = naming.DEPLOYMENTS_INDEX) -> str:
    """The deployments table, from the record contract rather than a synth."""
    client.create_table(**contract_table_request(name, index))
    return name


def seed_ledger(names, items, environment: str = "test") -> None:
    """The environment's deployments table (from the contract), holding
    `items` as the writers store them (Store.claim); each record belongs to
    `environment` unless it says otherwise."""
    from functions.shared.store import Store

    client = boto3.client("dynamodb")
    create_contract_table(client, names.deployments_table, names.deployments_index)
    store = Store(client, names.deployments_table, names.deployments_index)
    for item in items:
        store.claim(item[records.KEY], {records.INDEX_PARTITION: environment, **item})


def all_items(table: str) -> list[dict]:
    items, request = [], {"TableName": table}
    while True:
        page = boto3.resource("dynamodb").Table(table).scan(**{k: v for k, v in request.items() if k != "TableName"})
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
