"""Stream pumps: read the table's DynamoDB stream and invoke each stream-triggered function of
template.yaml the way Lambda's event source mapping does:

- a poll every 250 ms per shard, batches of the mapping's BatchSize, its FilterCriteria applied
  (records that match no filter are skipped, as Lambda drops them);
- with ReportBatchItemFailures, a batch is retried from its first failed record; a function error
  retries the whole batch (halved each time with BisectBatchOnFunctionError);
- after MaximumRetryAttempts the records are parked in the on-failure queue, and the shard moves on.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra import template
from infra.local.filters import matches_any
from infra.local.functions import LocalFunction

POLL_SECONDS = 0.25
# Lambda retries until the record expires (24 h) when MaximumRetryAttempts is not set; locally that
# would hide a poison record, so an unset bound means this many retries.
LOCAL_DEFAULT_RETRIES = 2


@dataclass
class Mapping:
    function: str
    table: str  # logical id of the table whose stream it reads
    batch_size: int = 100
    starting_position: str = "LATEST"
    max_retries: int = LOCAL_DEFAULT_RETRIES
    bisect: bool = False
    partial_failures: bool = False
    filter_criteria: dict | None = None


def mappings() -> list[Mapping]:
    found = []
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "DynamoDB":
                continue
            spec = event["Properties"]
            stream = spec["Stream"]["Fn::GetAtt"]
            table = stream[0] if isinstance(stream, list) else stream.split(".")[0]
            retries = spec.get("MaximumRetryAttempts", LOCAL_DEFAULT_RETRIES)
            found.append(
                Mapping(
                    function=name,
                    table=table,
                    batch_size=int(spec.get("BatchSize", 100)),
                    starting_position=spec.get("StartingPosition", "LATEST"),
                    max_retries=LOCAL_DEFAULT_RETRIES if int(retries) < 0 else int(retries),
                    bisect=bool(spec.get("BisectBatchOnFunctionError", False)),
                    partial_failures="ReportBatchItemFailures" in spec.get("FunctionResponseTypes", []),
                    filter_criteria=spec.get("FilterCriteria"),
                )
            )
    return found


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A stream record as Lambda delivers it (moto's differ: no eventSourceARN, a datetime timestamp)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(
            created.replace(tzinfo=created.tzinfo or UTC).timestamp()
        )
    return {**record, "eventVersion": "1.1", "eventSourceARN": stream_arn, "dynamodb": dynamodb}


@dataclass
class Pump:
    mapping: Mapping
    function: LocalFunction
    streams: Any  # boto3 dynamodbstreams client (boto3 ships no types)
    stream_arn: str
    park: Callable[..., None]
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=f"pump-{self.mapping.function}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            self._poll()
        except RuntimeError:
            if not self._stop.is_set():  # the function's workers are gone only when the stack stops
                raise

    def _poll(self) -> None:
        iterators: dict[str, str | None] = {}
        last_refresh = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_refresh > 5:
                self._refresh_shards(iterators)
                last_refresh = time.monotonic()
            for shard, iterator in list(iterators.items()):
                if iterator is None:
                    continue
                answer = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterators[shard] = answer.get("NextShardIterator")
                records = [lambda_record(r, self.stream_arn) for r in answer.get("Records", [])]
                wanted = [r for r in records if matches_any(self.mapping.filter_criteria, r)]
                for start in range(0, len(wanted), self.mapping.batch_size):
                    self._deliver(wanted[start : start + self.mapping.batch_size])
            self._stop.wait(POLL_SECONDS)

    def _refresh_shards(self, iterators: dict) -> None:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in iterators:
                iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType=self.mapping.starting_position,
                )["ShardIterator"]

    def _deliver(self, batch: list[dict], attempt: int = 0) -> None:
        while batch:
            invocation = self.function.invoke({"Records": batch})
            if invocation.error:
                failed, reason = batch, invocation.error.strip().splitlines()[-1]
                if self.mapping.bisect and len(batch) > 1 and attempt < self.mapping.max_retries:
                    half = len(batch) // 2
                    self._deliver(batch[:half], attempt + 1)
                    self._deliver(batch[half:], attempt + 1)
                    return
            else:
                failed, reason = self._failed_part(batch, invocation.result), "reported batch item failures"
            if not failed:
                return
            attempt += 1
            if attempt > self.mapping.max_retries:
                self.park(self.mapping, failed, reason, attempt)
                return
            batch = failed
            time.sleep(min(1.0, 0.1 * attempt))

    def _failed_part(self, batch: list[dict], result) -> list[dict]:
        """The records to retry: from the first failed one on (Lambda's checkpoint rule)."""
        if not self.mapping.partial_failures or not isinstance(result, dict):
            return []
        failures = result.get("batchItemFailures") or []
        if not failures:
            return []
        ids = [f.get("itemIdentifier") for f in failures]
        positions = [i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in ids]
        if len(positions) != len(ids):
            return batch  # an identifier that is not in the batch fails the whole batch, as in Lambda
        return batch[min(positions) :]
