"""The corrections of infra/local/moto_dynamodb.py (atomic requests, fast transactions) keep DynamoDB's
semantics: conditions decided atomically, transactions all or nothing."""

import random
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models, responses

from infra.local import moto_dynamodb

TABLE = "connections"


@pytest.fixture
def installed(tables):
    """A client of the tests' moto, which tests/support/aws.py started with the corrections installed."""
    assert getattr(responses.DynamoHandler.call_action, "serialized", False), "moto_dynamodb is not installed"
    moto_dynamodb.install()  # a second install changes nothing
    yield boto3.client("dynamodb", endpoint_url=tables, region_name="us-east-1")


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
    reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert {i["pk"]["S"] for i in installed.scan(TableName=TABLE)["Items"]} == {"TAKEN"}


def test_conditional_writes_sent_at_once_are_decided_one_at_a_time(installed, monkeypatch):
    # Given a slow machine, where moto's reads of an item take a while (up to 20 ms), and two counters (a
    # caller's and an address's, as the rate limits keep them), raised round after round
    monkeypatch.setattr(models.DynamoDBBackend, "get_item", slowly(models.DynamoDBBackend.get_item))
    for round_ in range(3):
        for pk in ("USER", "ADDRESS"):
            item = {"pk": {"S": pk}, "sk": {"S": "X"}, "n": {"N": str(round_)}}
            installed.put_item(TableName=TABLE, Item=item)

        # When twenty writers that read the same count raise both at the same moment
        at = installed.meta.endpoint_url
        writers = [lambda w=w, r=round_, at=at: raise_both(at, seen=r, writer=w) for w in range(20)]
        outcomes = at_the_same_moment(writers)

        # Then exactly one wins, and both counters hold its write alone: in DynamoDB a condition and its
        # write are one atomic step, and a transaction is all or nothing for everybody
        winners = [w for w, outcome in enumerate(outcomes) if outcome == "written"]
        assert len(winners) == 1, (round_, outcomes)
        assert outcomes.count("TransactionCanceledException") == 19, (round_, outcomes)
        items = installed.scan(TableName=TABLE)["Items"]
        counts = {i["pk"]["S"]: (i["n"]["N"], i.get("by", {}).get("N")) for i in items}
        assert counts == {pk: (str(round_ + 1), str(winners[0])) for pk in ("USER", "ADDRESS")}, round_


def slowly(get_item):
    def slow_get_item(*args, **kwargs):
        time.sleep(random.uniform(0, 0.02))
        return get_item(*args, **kwargs)

    return slow_get_item


def raise_both(endpoint: str, seen: int, writer: int) -> str:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    updates = [
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"pk": {"S": pk}, "sk": {"S": "X"}},
                "UpdateExpression": "SET n = :next, #by = :writer",
                "ConditionExpression": "n = :seen",
                "ExpressionAttributeNames": {"#by": "by"},
                "ExpressionAttributeValues": {
                    ":seen": {"N": str(seen)},
                    ":next": {"N": str(seen + 1)},
                    ":writer": {"N": str(writer)},
                },
            }
        }
        for pk in ("USER", "ADDRESS")
    ]
    try:
        client.transact_write_items(TransactItems=updates)
    except ClientError as error:
        return error.response["Error"]["Code"]
    return "written"


def at_the_same_moment(actions: list) -> list:
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        outcomes[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
