"""Work that grows with a policy's stations or members is done in parts, one per invocation (decision 0042):
each part is a ContinuationItem whose stream record starts it, reaches or recomputes a bounded number, and
writes the next; a retried batch redoes its own part only. Here the parts are made small."""

import json
import os
import zlib
from datetime import UTC, datetime, timedelta

import boto3
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError

from connections.stations import allow_entries, delivery, iot
from connections.stations.items import ContinuationItem, StationItem
from tests.support.counting import DynamoDBCalls
from tests.support.memberships import DRIVER
from tests.support.stations import (
    as_station_admin,
    backdate_in_flight,
    entries_of,
    given_auto_member,
    given_depot,
    given_open_connection,
    given_synced_station,
    list_payload,
    publishing_fails_for,
    run_sweep,
    statuses,
    stored_station,
)

STATIONS, PER_PART = 5, 2


def failed(answer: dict) -> list[str]:
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


def keys(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def sequence_numbers(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def given_parted_policy(sync, monkeypatch) -> tuple[dict, list]:
    """A depot's connection, and its policy's STATIONS stations in sync, reached PER_PART stations a part."""
    organization, connection, policy = given_depot()
    stations = [
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(STATIONS)
    ]
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", PER_PART)
    return connection, stations


def test_a_large_policys_change_is_split_at_once_into_parts_run_side_by_side_a_retry_redoing_its_part(
    sync, monkeypatch
):
    # Given a policy whose stations are in sync, reached PER_PART stations per part
    connection, stations = given_parted_policy(sync, monkeypatch)

    # When a driver joins, and the stream's first batch is delivered
    given_auto_member(connection, DRIVER, "TAG-1")
    first = sync.deliver(sync.wanted(sync.new_records()))

    # Then no station is reached yet: the change's invocation writes every part at once, each under its own
    # partition key, so that the stream's lanes (ParallelizationFactor) run them side by side
    assert failed(first) == []
    assert [len(s.take()) for s in stations] == [0] * STATIONS
    parts = sorted(sync.wanted(sync.new_records()), key=lambda r: keys([r]))  # written at once: any order
    assert len(parts) == 3 and len(set(keys(parts))) == 3

    # When the parts are delivered last first (lanes keep no order between them), and publishing to the
    # second part's second station fails
    assert failed(sync.deliver(parts[2:])) == []
    publish = iot.publish
    monkeypatch.setattr(iot, "publish", publishing_fails_for("CP-3"))
    assert failed(sync.deliver(parts[1:2])) != []

    # Then Lambda's retry reads that part's stations only
    monkeypatch.setattr(iot, "publish", publish)
    dynamodb = DynamoDBCalls().install()
    try:
        assert failed(sync.deliver(parts[1:2])) == []
        assert dynamodb.items_read(index="gsi2") <= PER_PART
    finally:
        dynamodb.uninstall()
    assert failed(sync.deliver(parts[:1])) == []

    # And every station got the change once: CP-3's claim stood, unsent, when its publish failed, and the
    # retry sent it again
    sync.drain()
    frames = [s.take() for s in stations]
    assert [len(f) for f in frames] == [1] * STATIONS
    assert [statuses(list_payload(f[0])[2]) for f in frames] == [{"TAG-1": "Accepted"}] * STATIONS


def test_a_policy_of_one_part_is_reached_by_the_changes_own_invocation(sync, monkeypatch):
    organization, connection, policy = given_depot()
    stations = [given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(2)]
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", 2)

    given_auto_member(connection, DRIVER, "TAG-1")
    assert failed(sync.deliver(sync.wanted(sync.new_records()))) == []

    assert [len(s.take()) for s in stations] == [1, 1]
    assert sync.wanted(sync.new_records()) == []  # no part written, not even an empty one after the last


def test_an_invocation_reaches_a_bounded_number_of_parts_and_leaves_the_rest_to_the_next(sync, monkeypatch):
    # Given a policy split into parts of one station, and an invocation that may reach two of them
    organization, connection, policy = given_depot()
    stations = [
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(STATIONS)
    ]
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", 1)
    monkeypatch.setattr(delivery, "PARTS_PER_INVOCATION", 2)
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.deliver(sync.wanted(sync.new_records()))
    parts = sorted(sync.wanted(sync.new_records()), key=lambda r: keys([r]))
    assert len(parts) == STATIONS

    # When one batch brings every part (BatchSize 100 would)
    answer = sync.deliver(parts)

    # Then two are reached, and the rest put off, none reported failed (each delivery again would count
    # against the mapping's MaximumRetryAttempts, and a lane of many parts would end in the failure queue):
    # written again, so that the stream brings them to a later invocation
    assert sum(len(s.take()) for s in stations) == 2
    assert failed(answer) == []
    later = sync.wanted(sync.new_records())
    assert sorted(keys(later)) == sorted(keys(parts[2:]))

    # And each later invocation reaches two more, until every station has the change
    assert failed(sync.deliver(later)) == []
    sync.drain()
    assert sum(len(s.take()) for s in stations) == STATIONS - 2


def test_a_policy_edit_recomputes_its_members_a_part_per_invocation(sync, monkeypatch):
    # Given a policy, and another connection with members the policy does not yet unlock
    organization, connection, policy = given_depot({"ada-driver": "TAG-A"})
    others = given_open_connection(organization, "Visitors")
    for n in range(STATIONS):
        given_auto_member(others, f"visitor-{n}", f"TAG-V{n}")
    sync.drain()
    monkeypatch.setattr(allow_entries, "MEMBERS_PER_PART", PER_PART)
    recomputed: list[int] = []
    recompute = allow_entries._recompute

    def counted(changes, policy, drivers, now, policy_read) -> None:
        recomputed.append(len(drivers))
        recompute(changes, policy, drivers, now, policy_read)

    monkeypatch.setattr(allow_entries, "_recompute", counted)

    # When an admin adds that connection to the policy
    path = f"/organizations/{organization}/policies/{policy['policy_id']}"
    both = [connection["connection_id"], others["connection_id"]]
    assert as_station_admin("PATCH", path, body={"connection_ids": both}).status == 200
    sync.drain()

    # Then every member's card is on the list, recomputed PER_PART drivers per invocation
    entries = entries_of(policy["policy_id"])
    assert {tag: status for tag, (status, _) in entries.items()} == {
        "TAG-A": "Accepted",
        **{f"TAG-V{n}": "Accepted" for n in range(STATIONS)},
    }
    assert max(recomputed) <= PER_PART
    assert len(recomputed) >= (1 + STATIONS) // PER_PART


def test_requests_in_flight_are_spread_over_shards_the_sweep_reads_all_of(sync):
    # Given a policy's stations in sync
    organization, connection, policy = given_depot()
    stations = [given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(8)]

    # When a change is sent to each, and none answers in time
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    assert [len(s.take()) for s in stations] == [1] * 8
    for station in stations:
        backdate_in_flight(station.station_id, datetime.now(UTC) - timedelta(minutes=5))

    # Then the requests in flight are on more than one partition of the sweep's index, and it resends all
    partitions = {stored_station(s.station_id).gsi3pk for s in stations}
    assert len(partitions) > 1 and all(p.startswith(f"{delivery.INFLIGHT}#") for p in partitions)
    assert run_sweep()["resent"] == 8


def test_the_sweep_resends_at_most_its_share_a_minute_from_every_shard(sync, monkeypatch):
    # Given requests in flight unanswered on every shard of the sweep's index, and on the partition from
    # before sharding (decision 0043), more than the sweep resends a minute
    monkeypatch.setattr(delivery, "RESENDS_PER_SWEEP", delivery.SHARDS)
    organization, connection, policy = given_depot()
    one_a_shard = {zlib.crc32(f"CP-{n}".encode()) % delivery.SHARDS: f"CP-{n}" for n in range(100)}
    ids = [*sorted(one_a_shard.values()), "CP-OLD"]
    assert len(ids) == delivery.SHARDS + 1
    stations = [given_synced_station(sync, organization, s, policy["policy_id"]) for s in ids]
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    assert [len(s.take()) for s in stations] == [1] * len(ids)
    stored_station("CP-OLD").update(actions=[StationItem.gsi3pk.set(delivery.INFLIGHT)])
    for station_id in ids:
        backdate_in_flight(station_id, datetime.now(UTC) - timedelta(minutes=5))

    # When the sweep runs, twice
    first, second = run_sweep()["resent"], run_sweep()["resent"]

    # Then it resends RESENDS_PER_SWEEP the first time, the rest the second (the first ones now due later)
    assert (first, second) == (delivery.SHARDS, 1)


def test_a_part_written_again_by_a_retried_batch_is_not_started_twice(monkeypatch):
    part = ContinuationItem.next("P-RETRY", ContinuationItem.STATIONS, "7", 1, seq=7)
    part.start()
    first = ContinuationItem.get(part.pk, part.sk)

    # A retry a minute later makes the same part with a later expiry: writing it would be a MODIFY, whose
    # stream record would start the part (and every part after it) a second time
    later = datetime.now(UTC) + timedelta(minutes=1)
    monkeypatch.setattr(
        "connections.stations.items.datetime", type("D", (), {"now": staticmethod(lambda tz: later)})
    )
    again = ContinuationItem.next("P-RETRY", ContinuationItem.STATIONS, "7", 1, seq=7)
    assert again.expires != first.expires
    again.start()

    assert ContinuationItem.get(part.pk, part.sk).expires == first.expires


def test_a_part_is_named_by_its_key_alone():
    part = ContinuationItem.next("P-KEY", ContinuationItem.MEMBERS, "2026-12-06T16:40:00+00:00", 3, source=1)
    part.start()

    stored = boto3.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": part.pk}, "sk": {"S": part.sk}}
    )
    read = ContinuationItem.get(part.pk, part.sk)

    assert {"policy_id", "work", "run", "part"}.isdisjoint(stored["Item"])
    assert (read.policy_id, read.work, read.run, read.part) == (
        "P-KEY",
        ContinuationItem.MEMBERS,
        "2026-12-06T16:40:00+00:00",
        3,
    )


def test_a_part_written_before_parts_had_keys_of_their_own_is_still_read():
    # Its work, run and part were in its sort key (decision 0042): a part in the stream at a deploy
    before = ContinuationItem("CONTINUE#P-OLD", "stations#7#000002", seq=7)
    assert (before.policy_id, before.work, before.run, before.part) == ("P-OLD", "stations", "7", 2)


def test_a_change_is_split_once_whole_even_when_its_batch_is_retried_after_the_policy_changed(
    sync, monkeypatch
):
    # Given a policy of STATIONS stations in parts of PER_PART, and a change's invocation that wrote only its
    # first part before it ended
    connection, stations = given_parted_policy(sync, monkeypatch)
    given_auto_member(connection, DRIVER, "TAG-1")
    batch = sync.wanted(sync.new_records())
    call = BaseClient._make_api_call

    def ends_after_the_first(client, operation: str, params: dict):
        if operation in ("PutItem", "TransactWriteItems") and "#000001" in json.dumps(params, default=str):
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", ends_after_the_first)
    assert failed(sync.deliver(batch)) != []
    monkeypatch.setattr(BaseClient, "_make_api_call", call)

    # And the first station leaves the policy before Lambda's retry (the parts' boundaries move by one)
    first = stored_station("CP-0")
    first.policy_id = None
    first.index()
    first.save()

    # When the batch is delivered again, and every part it wrote
    assert failed(sync.deliver(batch)) == []
    sync.drain()

    # Then every station still in the policy has the change: the parts are one split's, with no gap
    reached = [any(statuses(list_payload(f)[2]).get("TAG-1") for f in s.take()) for s in stations[1:]]
    assert reached == [True] * (STATIONS - 1)


def test_a_split_reads_its_parts_boundaries_in_one_query_a_megabyte_not_one_a_part(sync, monkeypatch):
    # Given a policy of STATIONS stations, a part each
    organization, connection, policy = given_depot()
    for n in range(STATIONS):
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"])
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", 1)

    # When a driver joins and the change's invocation splits the policy
    given_auto_member(connection, DRIVER, "TAG-1")
    dynamodb = DynamoDBCalls().install()
    try:
        assert failed(sync.deliver(sync.wanted(sync.new_records()))) == []
    finally:
        dynamodb.uninstall()

    # Then the stations' keys are read in one query (DynamoDB pages 1 MB of items read: about 330
    # stations of 3 KB), and every part is written
    assert [c.operation for c in dynamodb.calls if c.index == "gsi2"] == ["Query"]
    assert len(sync.wanted(sync.new_records())) == STATIONS
