"""What bench/station_fanout.py and bench/station_burst.py share: the table's stream read as Lambda's event
source mapping reads it, moto's iot-data record of publishes, and small report helpers. Not a benchmark
itself."""

from collections import Counter

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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ops(calls: list[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in Counter(calls).most_common()) or "-"
