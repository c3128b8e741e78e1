"""The table's DynamoDB stream replayed to each stream-triggered function of template.yaml the way Lambda's
event source mapping does: records in Lambda's shape, the mapping's FilterCriteria applied (records that
match no filter are skipped, as Lambda drops them), batches of its BatchSize, and with
ReportBatchItemFailures a batch retried from its first failed record. With a ParallelizationFactor, Lambda
spreads a shard's records over that many concurrent batches by partition key, each key's records in order:
the batches here are made the same way (`lane`), and delivered one lane after the other.

One `Replayer` serves everyone: the tests and the benches call it synchronously (`drain`: until no new
record passes the filter); the local stack's `Pump` runs it in a thread, polling every 250 ms, where a
function error retries the whole batch (halved each time with BisectBatchOnFunctionError) and, after
MaximumRetryAttempts, the records are parked in the on-failure queue and the shard moves on.
"""

import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3

from infra import template
from infra.local.filters import matches_any

POLL_SECONDS = 0.25
READ_LIMIT = 1000  # records per GetRecords call (DynamoDB Streams' maximum)
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
    parallelization: int = 1


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
                    parallelization=int(spec.get("ParallelizationFactor", 1)),
                )
            )
    return found


def mapping_of(function: str) -> Mapping:
    return next(m for m in mappings() if m.function == function)


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A stream record as Lambda delivers it (moto's differ: no eventSourceARN, a datetime timestamp)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(
            created.replace(tzinfo=created.tzinfo or UTC).timestamp()
        )
    return {**record, "eventVersion": "1.1", "eventSourceARN": stream_arn, "dynamodb": dynamodb}


class StreamReader:
    """A table's stream from where it was last read, in Lambda's record shape. Each read asks a new iterator
    after the last record read: moto replaces a table (and its shard) when a transaction fails, and an
    iterator held across that would read the old shard."""

    def __init__(self, streams, stream_arn: str, *, latest: bool = False) -> None:
        self.streams, self.arn = streams, stream_arn  # a boto3 dynamodbstreams client
        self.after: dict[str, str] = {}  # shard -> the last sequence number read
        self.latest: dict[str, str] = {}  # shard -> a LATEST iterator, until a record is read there
        self.shards: list[str] = []
        self.refresh_shards(latest)

    @classmethod
    def of_table(cls, table_name: str, *, endpoint_url: str | None = None, latest: bool = False):
        """The stream of `table_name`, through the environment's endpoint unless one is given."""
        where = {"endpoint_url": endpoint_url} if endpoint_url else {}
        table = boto3.client("dynamodb", **where).describe_table(TableName=table_name)["Table"]
        return cls(boto3.client("dynamodbstreams", **where), table["LatestStreamArn"], latest=latest)

    def refresh_shards(self, latest: bool = False) -> None:
        """Take up the shards that appeared since (from their start, or their end if `latest`)."""
        for shard in self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in self.shards:
                self.shards.append(shard["ShardId"])
                if latest:
                    self._skip(shard["ShardId"])

    def skip_to_latest(self) -> None:
        """Read from now on: what was written before is never read."""
        for shard in self.shards:
            self._skip(shard)

    def read(self) -> list[dict]:
        """Every record written since the last read."""
        records = []
        for shard in self.shards:
            iterator: str | None = self._iterator(shard)
            while iterator:
                found = self.streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
                if not found["Records"]:
                    break
                records += [lambda_record(r, self.arn) for r in found["Records"]]
                self.after[shard] = found["Records"][-1]["dynamodb"]["SequenceNumber"]
                self.latest.pop(shard, None)
                # a short page is the end of what the shard holds now
                iterator = found.get("NextShardIterator") if len(found["Records"]) == READ_LIMIT else None
        return records

    def _skip(self, shard: str) -> None:
        self.after.pop(shard, None)
        self.latest[shard] = self._new_iterator(shard, ShardIteratorType="LATEST")

    def _iterator(self, shard: str) -> str:
        if shard in self.after:
            return self._new_iterator(
                shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.after[shard]
            )
        return self.latest.get(shard) or self._new_iterator(shard, ShardIteratorType="TRIM_HORIZON")

    def _new_iterator(self, shard: str, **where) -> str:
        return self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **where)["ShardIterator"]


class StillBusy(AssertionError):
    """The stream still had records for the function after the rounds a drain allows."""


@dataclass
class Drained:
    read: int = 0  # stream records read
    passed: int = 0  # of which the FilterCriteria let through, and were delivered


@dataclass
class Replayer:
    """One event source mapping: the new records of its table's stream that pass its FilterCriteria,
    delivered to the function (`invoke(event)`, which answers as the function does) in batches of its
    BatchSize."""

    mapping: Mapping
    stream: StreamReader
    invoke: Callable[[dict], object]
    delivered: list[list[dict]] | None = None  # every batch in order, kept when given a list (the tests')
    # Records delivered again after the function reported them failed (or failed the batch): a function
    # that fails once and passes on the retry passes the drain too, so the tests check this is 0.
    redelivered: int = 0

    def new_records(self) -> list[dict]:
        """The records written since the last read that the mapping's filters let through."""
        return self.wanted(self.stream.read())

    def wanted(self, records: list[dict]) -> list[dict]:
        return [r for r in records if matches_any(self.mapping.filter_criteria, r)]

    def lane(self, record: dict) -> int:
        """Which of the mapping's concurrent batches takes the record: by its partition key (`pk`), as
        Lambda keeps a key's records in order. Lambda's own hash is not documented; any stable one will do."""
        return zlib.crc32(record["dynamodb"]["Keys"]["pk"]["S"].encode()) % self.mapping.parallelization

    def batches(self, records: list[dict]) -> list[list[dict]]:
        size, lanes = self.mapping.batch_size, dict[int, list[dict]]()
        for record in records:
            lanes.setdefault(self.lane(record), []).append(record)
        return [lane[start : start + size] for lane in lanes.values() for start in range(0, len(lane), size)]

    def deliver(self, batch: list[dict]):
        """One invocation with `batch`; the function's answer."""
        if self.delivered is not None:
            self.delivered.append(batch)
        return self.invoke({"Records": batch})

    def retry_from(self, batch: list[dict], answer) -> list[dict]:
        """The records Lambda delivers again after `answer`: from the first failed one on (its checkpoint
        rule; an identifier that is not in the batch fails the whole batch, as in Lambda)."""
        if not self.mapping.partial_failures or not isinstance(answer, dict):
            return []
        ids = [f.get("itemIdentifier") for f in answer.get("batchItemFailures") or []]
        positions = [i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in ids]
        if len(positions) != len(ids):
            return batch
        return batch[min(positions) :] if positions else []

    def replay_new(self) -> Drained:
        """Deliver the records written since the last read that pass the filter; every batch must succeed.
        What they make the function write is read the next time."""
        records = self.stream.read()
        wanted = self.wanted(records)
        for batch in self.batches(wanted):
            # Records reported failed are delivered again, as Lambda does, up to MaximumRetryAttempts
            # times: a function may leave records for the next invocation (a bounded number of parts each).
            for _ in range(self.mapping.max_retries + 1):
                answer = self.deliver(batch)
                batch = self.retry_from(batch, answer)
                if not batch:
                    break
                self.redelivered += len(batch)
            assert not batch, f"{self.mapping.function} failed: {answer}"
        return Drained(len(records), len(wanted))

    def drain(self, rounds: int = 20) -> Drained:
        """Deliver new records until none passes the filter (what the function writes makes records too)."""
        done = Drained()
        for _ in range(rounds):
            step = self.replay_new()
            done.read, done.passed = done.read + step.read, done.passed + step.passed
            if not step.passed:
                return done
        raise StillBusy(f"the stream still had records for {self.mapping.function} after {rounds} rounds")


@dataclass
class Pump:
    """A Replayer in a thread, as the local stack runs each mapping: a poll every 250 ms, retries, parking."""

    replayer: Replayer
    park: Callable
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def mapping(self) -> Mapping:
        return self.replayer.mapping

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
        last_refresh = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_refresh > 5:
                self.replayer.stream.refresh_shards(self.mapping.starting_position == "LATEST")
                last_refresh = time.monotonic()
            for batch in self.replayer.batches(self.replayer.new_records()):
                self._deliver(batch)
            self._stop.wait(POLL_SECONDS)

    def _deliver(self, batch: list[dict], attempt: int = 0) -> None:
        while batch:
            invocation = self.replayer.deliver(batch)  # infra.local.functions.Invocation
            if invocation.error:
                failed, reason = batch, invocation.error.strip().splitlines()[-1]
                if self.mapping.bisect and len(batch) > 1 and attempt < self.mapping.max_retries:
                    half = len(batch) // 2
                    self._deliver(batch[:half], attempt + 1)
                    self._deliver(batch[half:], attempt + 1)
                    return
            else:
                failed = self.replayer.retry_from(batch, invocation.result)
                reason = "reported batch item failures"
            if not failed:
                return
            attempt += 1
            if attempt > self.mapping.max_retries:
                self.park(self.mapping, failed, reason, attempt)
                return
            batch = failed
            time.sleep(min(1.0, 0.1 * attempt))
