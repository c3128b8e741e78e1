"""Helpers for the email tests: the table's stream delivered to the NotifyFunction as its event source
mapping delivers it (Lambda's record shape, the template's FilterCriteria and BatchSize), the sweep, and
what SES (moto's server, in this process) accepted, read by infra/local/outbox.py as `make run` shows it."""

import os
import re

import boto3
from moto.ses.models import ses_backends

from functions.notify.app import handler as notify_handler
from functions.notify.sweep import handler as sweep_handler
from infra.local import outbox
from infra.local.filters import matches_any
from infra.local.streams import lambda_record, mappings
from tests.support.api import FakeLambdaContext

CODE = re.compile(r"\b([A-Z0-9]{4})-([A-Z0-9]{4})\b")


class StreamToNotify:
    """The table's stream from where it was last read, to the notify function, batch by batch."""

    def __init__(self) -> None:
        self.mapping = next(m for m in mappings() if m.function == "NotifyFunction")
        assert self.mapping.partial_failures
        table = boto3.client("dynamodb").describe_table(TableName=os.environ["TABLE_NAME"])["Table"]
        self.arn = table["LatestStreamArn"]
        self.streams = boto3.client("dynamodbstreams")
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.shards = [shard["ShardId"] for shard in shards]
        self.after: dict[str, str] = {}
        self.batches: list[list[dict]] = []

    def new_records(self) -> list[dict]:
        """The records written since the last read that the mapping's filters let through."""
        records = []
        for shard in self.shards:
            after = self.after.get(shard)
            where = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **where)
            found = self.streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
            if found["Records"]:
                self.after[shard] = found["Records"][-1]["dynamodb"]["SequenceNumber"]
                records += [lambda_record(r, self.arn) for r in found["Records"]]
        return [r for r in records if matches_any(self.mapping.filter_criteria, r)]

    def deliver(self, batch: list[dict]) -> list[str]:
        """One invocation with `batch`; the sequence numbers it reported failed."""
        self.batches.append(batch)
        answer = notify_handler({"Records": batch}, FakeLambdaContext())
        return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]

    def pump(self, rounds: int = 10) -> int:
        """Deliver new records until the stream is quiet (an alert window's email follows its own record);
        every batch must succeed. The number of records delivered."""
        delivered = 0
        for _ in range(rounds):
            records = self.new_records()
            if not records:
                return delivered
            for start in range(0, len(records), self.mapping.batch_size):
                batch = records[start : start + self.mapping.batch_size]
                assert self.deliver(batch) == [], "a record failed"
                delivered += len(batch)
        raise AssertionError("the stream never went quiet")


def sweep() -> dict:
    return sweep_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())


def sent() -> list[dict]:
    """Every email SES accepted, as /_local/outbox lists them."""
    return outbox.messages()


def sent_to(address: str) -> list[dict]:
    return [m for m in sent() if address in m["to"]]


def clear_outbox() -> None:
    for account in ses_backends.values():
        for backend in account.values():
            backend.sent_messages.clear()


def code_in(message: dict) -> str:
    found = CODE.search(message["text"])
    assert found, message["text"]
    return "".join(found.groups())
