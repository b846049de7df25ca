"""The deployments table on moto, created from the synthesized core stack, so
its keys and index are exactly what Terraform creates."""

from __future__ import annotations

import boto3

from functions.shared import records
from topology import naming


def create_deployments_table(stacks, env: str = "test") -> str:
    table = stacks[naming.stack_id("core", env)].resource("aws_dynamodb_table", "deployments_table")
    (index,) = table["global_secondary_index"]
    boto3.client("dynamodb").create_table(
        TableName=table["name"],
        BillingMode=table["billing_mode"],
        AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]],
        KeySchema=[{"AttributeName": table["hash_key"], "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": index["hash_key"], "KeyType": "HASH"},
                    {"AttributeName": index["range_key"], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": index["projection_type"]},
            }
        ],
    )
    return table["name"]


def create_contract_table(client, name: str, index: str = naming.DEPLOYMENTS_INDEX) -> str:
    """The same table, from the record contract rather than a synth: for
    integration tests that must not wait for the session synth. (The core
    stack's table is built from the same constants.)"""
    keys = (records.KEY, records.INDEX_PARTITION, records.INDEX_SORT)
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in keys],
        KeySchema=[{"AttributeName": records.KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": records.INDEX_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": records.INDEX_SORT, "KeyType": "RANGE"},
                ],
            }
        ],
    )
    return name


def all_items(table: str) -> list[dict]:
    items, request = [], {"TableName": table}
    while True:
        page = boto3.resource("dynamodb").Table(table).scan(**{k: v for k, v in request.items() if k != "TableName"})
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
