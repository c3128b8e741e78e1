"""The local stream replay makes the batches Lambda makes with a ParallelizationFactor (decision 0045):
records spread over lanes by partition key, each key's records in order, and every record in one batch."""

from connections.stations import delivery
from infra.local.streams import Mapping, Replayer, mapping_of


def record(pk: str, n: int) -> dict:
    return {"dynamodb": {"Keys": {"pk": {"S": pk}}, "SequenceNumber": str(n)}}


def replayer(parallelization: int, batch_size: int = 100) -> Replayer:
    mapping = Mapping("F", "T", batch_size=batch_size, parallelization=parallelization)
    return Replayer(mapping, stream=None, invoke=lambda event: None)  # type: ignore[arg-type]


def test_records_are_spread_over_lanes_by_partition_key_each_keys_in_order():
    records = [record(f"CONTINUE#P#{n % 20}", n) for n in range(60)]
    lanes = replayer(10)
    batches = lanes.batches(records)

    assert sorted(r["dynamodb"]["SequenceNumber"] for b in batches for r in b) == sorted(
        r["dynamodb"]["SequenceNumber"] for r in records
    )
    assert len(batches) > 1
    for batch in batches:
        assert len({lanes.lane(r) for r in batch}) == 1
    for key in {r["dynamodb"]["Keys"]["pk"]["S"] for r in records}:
        (batch,) = [b for b in batches if any(r["dynamodb"]["Keys"]["pk"]["S"] == key for r in b)]
        numbers = [
            int(r["dynamodb"]["SequenceNumber"]) for r in batch if r["dynamodb"]["Keys"]["pk"]["S"] == key
        ]
        assert numbers == sorted(numbers)


def test_without_a_parallelization_factor_the_batches_keep_the_streams_order():
    records = [record(f"K{n % 7}", n) for n in range(250)]
    assert replayer(1).batches(records) == [records[:100], records[100:200], records[200:]]


def test_the_station_sync_mapping_runs_ten_lanes_each_reaching_its_share_of_a_large_policys_parts():
    # Each lane takes the parts whose keys hash to it; Lambda's hash is its own, so a lane may get twice its
    # even share of a split's parts: one invocation reaches that many, as a part put off waits for another
    # hop of the stream (about a second). A split is written in one transaction: DynamoDB's most, 100 items.
    lanes = mapping_of("StationSyncFunction").parallelization
    assert lanes == 10
    assert delivery.PARTS_PER_INVOCATION >= 2 * delivery.MAX_PARTS / lanes
    assert delivery.MAX_PARTS <= 100


class OneRead:
    """A stream whose records are read once."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records

    def read(self) -> list[dict]:
        records, self.records = self.records, []
        return records


def test_records_a_function_fails_once_are_delivered_again_and_counted():
    # Given a function that fails its batch's second record the first time only
    records = [record("K", n) for n in range(3)]
    answers = [{"batchItemFailures": [{"itemIdentifier": "1"}]}, {"batchItemFailures": []}]
    delivered: list[list[dict]] = []
    mapping = Mapping("F", "T", partial_failures=True)
    lanes = Replayer(mapping, OneRead(records), lambda event: answers.pop(0), delivered=delivered)  # type: ignore[arg-type]

    # When the stream is drained
    drained = lanes.drain()

    # Then the drain passes, as Lambda's retry does, but the records delivered again are counted
    assert drained.passed == 3
    assert delivered == [records, records[1:]]
    assert lanes.redelivered == 2
