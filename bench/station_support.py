"""What bench/station_fanout.py and bench/station_burst.py share: the table's stream read as Lambda's event
source mapping reads it, moto's iot-data record of publishes, a guard that makes moto's TransactWriteItems
affordable at these table sizes, and small report helpers. Not a benchmark itself."""

import copy
import sys
from collections import Counter
from pathlib import Path

REGION = "us-east-1"


class Stream:
    """The table's stream from moto (boto3 dynamodbstreams), in Lambda's shape, with the sync function's
    event source mapping (BatchSize, FilterCriteria) from template.yaml."""

    def __init__(self, endpoint: str, table: str, function: str = "StationSyncFunction"):
        import boto3

        from infra.local.streams import mappings

        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.client = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION)
        description = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]
        self.shard = description["Shards"][0]["ShardId"]
        self.mapping = next(m for m in mappings() if m.function == function)
        self.skip_to_latest()

    def skip_to_latest(self) -> None:
        self.iterator = self.client.get_shard_iterator(
            StreamArn=self.arn, ShardId=self.shard, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def read(self) -> list[dict]:
        """Every record since the last read, as Lambda delivers them."""
        from infra.local.streams import lambda_record

        records = []
        while True:
            answer = self.client.get_records(ShardIterator=self.iterator, Limit=1000)
            self.iterator = answer["NextShardIterator"]
            if not answer["Records"]:
                return records
            records += [lambda_record(r, self.arn) for r in answer["Records"]]

    def wanted(self, records: list[dict]) -> list[dict]:
        """The records the mapping's FilterCriteria let through to the function."""
        from infra.local.filters import matches_any

        return [r for r in records if matches_any(self.mapping.filter_criteria, r)]

    def batches(self, records: list[dict]) -> list[list[dict]]:
        size = self.mapping.batch_size
        return [records[i : i + size] for i in range(0, len(records), size)]


def moto_published() -> list[tuple[str, bytes]]:
    """What moto's iot-data backend (in this process) accepted: (topic, payload)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iotdata.models import iotdata_backends

    return iotdata_backends[DEFAULT_ACCOUNT_ID][REGION].published_payloads


class TransactionGuard:
    """moto's TransactWriteItems deep-copies the whole table, its stream history included, once per item
    of the transaction, to roll back if one fails: about 0.2 ms per stored item and stream record on this
    machine, seconds per transaction at these sizes. With the guard on, that copy is skipped, and every
    transaction that does not succeed is counted: moto would have rolled it back, so a run with one is not
    valid (the benchmarks say so and fail). Nothing else writes the table while they run, so none is
    expected. Every other use of deepcopy in moto's DynamoDB backend is left as it is."""

    FAILED = "TRANSACTION-GUARD: a transaction failed without moto's rollback:"

    def __init__(self, announce: bool = False) -> None:
        self.announce = announce  # print each failure (the stack's log, read by bench/station_latency.py)
        self.transactions = 0
        self.failed: list[str] = []
        self.copies_skipped = 0

    def install(self) -> "TransactionGuard":
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        guard = self

        class _CopyExceptTables:
            def __getattr__(self, name):
                return getattr(copy, name)

            @staticmethod
            def deepcopy(value, memo=None):
                if isinstance(value, Table):
                    guard.copies_skipped += 1
                    return value
                return copy.deepcopy(value, memo)

        models.copy = _CopyExceptTables()
        transact = models.DynamoDBBackend.transact_write_items

        def guarded(backend, transact_items):
            guard.transactions += 1
            try:
                return transact(backend, transact_items)
            except Exception as error:
                guard.failed.append(repr(error)[:200])
                if guard.announce:
                    print(f"{guard.FAILED} {error!r}"[:300], flush=True)
                raise

        models.DynamoDBBackend.transact_write_items = guarded
        return self

    def describe(self) -> str:
        return (
            f"moto TransactWriteItems: {self.transactions} transactions, {len(self.failed)} not successful"
            f" (must be 0: moto's rollback copy was skipped, {self.copies_skipped} table copies)"
        )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ops(calls: list[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in Counter(calls).most_common()) or "-"


if __name__ == "__main__" and sys.argv[1:] == ["stack"]:
    # `make run`'s stack (python -m infra.local) with the guard installed in its moto:
    # bench/station_latency.py --guard-moto starts it this way.
    import runpy

    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(root)]
    TransactionGuard(announce=True).install()
    sys.argv = [str(root / "infra" / "local" / "__main__.py")]
    runpy.run_module("infra.local", run_name="__main__", alter_sys=True)
