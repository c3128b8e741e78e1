"""The local stack's speed-up of moto's transactions keeps DynamoDB's all-or-nothing semantics."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models

from infra.local import moto_transactions

TABLE = "connections"


@pytest.fixture
def installed(tables):
    saved = models.copy, models.DynamoDBBackend.transact_write_items
    moto_transactions.install()
    yield boto3.client("dynamodb", endpoint_url=tables, region_name="us-east-1")
    models.copy, models.DynamoDBBackend.transact_write_items = saved


def put(pk: str, condition: str | None = None) -> dict:
    op = {"TableName": TABLE, "Item": {"pk": {"S": pk}, "sk": {"S": "X"}}}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def test_a_transaction_whose_conditions_hold_is_applied(installed):
    installed.transact_write_items(TransactItems=[put("A"), put("B", "attribute_not_exists(pk)")])
    assert {i["pk"]["S"] for i in installed.scan(TableName=TABLE)["Items"]} == {"A", "B"}


def test_a_failed_condition_leaves_nothing_written(installed):
    # Given an item that makes the transaction's last condition fail
    installed.put_item(TableName=TABLE, Item={"pk": {"S": "TAKEN"}, "sk": {"S": "X"}})
    # When a transaction writes two items before that condition
    with pytest.raises(ClientError) as refused:
        installed.transact_write_items(
            TransactItems=[put("FIRST"), put("SECOND"), put("TAKEN", "attribute_not_exists(pk)")]
        )
    # Then DynamoDB's answer, and none of its writes
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert {i["pk"]["S"] for i in installed.scan(TableName=TABLE)["Items"]} == {"TAKEN"}
