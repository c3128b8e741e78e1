"""What one approval costs at stations in sync, in deterministic counts (bench/station_fanout.py times the
same at 10,000 members and up to 1,000 stations): each station gets one Differential carrying the new
card alone, and the DynamoDB calls stay within limits that grow with the stations, never with the list."""

import pytest

from connections.stations import delivery
from tests.support.counting import DynamoDBCalls
from tests.support.memberships import DRIVER, decide, given_connection, given_organization, given_pending
from tests.support.stations import (
    given_card,
    given_policy,
    given_synced_station,
    list_payload,
    published,
    settle,
    statuses,
)

MEMBERS, STATIONS = 5, 3
# The limits, in DynamoDB calls (as measured; the same at 10,000 members): the approval; the sync function,
# all its invocations, 7 (one counts the policy's stations, to split a large one: decision 0045) and 1 per
# station (its claim); each station's answer: its item, and its release, which returns what its policy's
# list must still bring it (the mark its claim left: decision 0046).
APPROVE_CALLS, SYNC_CALLS, ANSWER_CALLS = 2, 7 + STATIONS, 2
FRAME_BYTES = 181  # the Differential with one card, as published


@pytest.fixture
def dynamodb():
    counter = DynamoDBCalls().install()
    yield counter
    counter.uninstall()


def test_one_approval_sends_each_synced_station_one_small_differential_in_few_round_trips(sync, dynamodb):
    # Given a policy whose members' cards every station holds, and a driver with a card asking to join
    organization = given_organization()
    connection = given_connection(organization)
    for n in range(MEMBERS):
        given_card(f"member-{n}", f"TAG-{n}")
        given_pending(connection, f"member-{n}")
        assert decide(connection, f"member-{n}", "approve").status == 200
    policy = given_policy(organization, [connection["connection_id"]])
    stations = [
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(STATIONS)
    ]
    given_card(DRIVER, "TAG-NEW")
    given_pending(connection, DRIVER)
    settle(sync, *stations)
    sent_before = len(published())

    # When the driver is approved, the stream reaches the sync function, and every station answers
    dynamodb.reset()
    assert decide(connection, DRIVER, "approve").status == 200
    approve_calls = len(dynamodb.calls)
    dynamodb.reset()
    sync.drain()
    sync_calls = len(dynamodb.calls)
    claims = [c.returns_item for c in dynamodb.calls if c.operation == "UpdateItem"]
    sent = published()[sent_before:]
    frames = [station.take_one("SendLocalList") for station in stations]
    dynamodb.reset()
    for station, frame in zip(stations, frames, strict=True):
        station.accept(frame)
    answer_calls = len(dynamodb.calls)

    # Then
    assert [list_payload(f)[0] for f in frames] == ["Differential"] * STATIONS
    assert [statuses(list_payload(f)[2]) for f in frames] == [{"TAG-NEW": "Accepted"}] * STATIONS
    assert approve_calls <= APPROVE_CALLS
    assert sync_calls <= SYNC_CALLS
    # each claim asks for no item back: parsing the station item it returned was the largest share of a
    # fan-out's CPU (decision 0045)
    assert claims == [False] * STATIONS
    assert answer_calls <= ANSWER_CALLS * STATIONS
    assert [len(payload) <= FRAME_BYTES for _, payload in sent] == [True] * STATIONS
    assert sync.drain().passed == 0  # the answers' records pass no filter: no invocation with nothing to do


BUSY_STATIONS, BURST = 12, 8
# At most this many DynamoDB calls per stream record when a burst reaches a policy whose stations all have
# a request in flight (bench/station_burst.py --shape one-policy), and per station reached, beside the one
# write that marks each station (what its answer must still send: decision 0046).
CALLS_PER_RECORD, CALLS_PER_STATION = 3, 2


def test_a_burst_over_stations_in_flight_reads_them_in_batches_not_one_by_one(sync, dynamodb):
    # Given a policy whose stations are in sync, then each has a message in flight it has not answered
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    stations = [
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(BUSY_STATIONS)
    ]
    given_card("first", "TAG-FIRST")
    given_pending(connection, "first")
    assert decide(connection, "first", "approve").status == 200
    sync.drain()
    assert [len(station.take()) for station in stations] == [1] * BUSY_STATIONS
    drivers = [f"burst-{n}" for n in range(BURST)]
    for driver in drivers:
        given_card(driver, f"TAG-{driver.upper()}")
        given_pending(connection, driver)
    sync.drain()

    # When a burst of approvals reaches the sync function in one batch
    for driver in drivers:
        assert decide(connection, driver, "approve").status == 200
    dynamodb.reset()
    drained = sync.drain()

    # Then nothing is sent (each station's answer brings it the rest), the stations are read in batches, and
    # each is marked once, for the batch: the write that spares its answer a read of the policy's sequence
    operations = dynamodb.operations()
    assert drained.passed == BURST
    assert [station.take() for station in stations] == [[]] * BUSY_STATIONS
    assert operations.count("GetItem") == 0, operations
    assert operations.count("UpdateItem") == BUSY_STATIONS, operations
    besides_marks = len(operations) - BUSY_STATIONS
    assert besides_marks <= CALLS_PER_RECORD * BURST, operations
    assert besides_marks <= CALLS_PER_STATION * BUSY_STATIONS, operations


def given_parted_stations(sync, monkeypatch):
    """A policy of parts (decision 0045: two stations a part) whose four stations are in sync."""
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", 2)
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    stations = [given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(4)]
    return connection, stations


def asking_to_join(connection, *drivers: str) -> None:
    """Drivers with a card each (TAG-<DRIVER>) asking to join the connection."""
    for driver in drivers:
        given_card(driver, f"TAG-{driver.upper()}")
        given_pending(connection, driver)


def approved_one_before_the_others_parts(sync, connection, older: str, newer: str) -> None:
    """`older` approved, then `newer` before the parts of the older's fan-out run: in the batch that brings
    them, as one lane of the stream gives it (with ten, the newer approval may come after them)."""
    sync.mapping.parallelization = 1
    assert decide(connection, older, "approve").status == 200
    sync.replay_new()
    assert decide(connection, newer, "approve").status == 200
    sync.drain()


def test_changes_written_before_their_fan_outs_mark_a_station_in_flight_once(sync, dynamodb, monkeypatch):
    # Given a policy of parts whose stations each have a message in flight, and two drivers asking to join
    connection, stations = given_parted_stations(sync, monkeypatch)
    asking_to_join(connection, "first")
    assert decide(connection, "first", "approve").status == 200
    sync.drain()
    assert [len(station.take()) for station in stations] == [1] * len(stations)
    asking_to_join(connection, "second", "third")
    sync.drain()

    # When both are approved, the second before the parts of the first's fan-out run
    dynamodb.reset()
    approved_one_before_the_others_parts(sync, connection, "second", "third")

    # Then the first fan-out to find each station marks it with both changes, and the second writes nothing
    assert [station.take() for station in stations] == [[]] * len(stations)
    assert dynamodb.operations().count("UpdateItem") == len(stations), dynamodb.operations()


def test_parts_of_an_older_change_claim_stations_past_the_newer_changes(sync, dynamodb, monkeypatch):
    # Given a policy of parts whose stations are in sync, and two drivers asking to join
    connection, stations = given_parted_stations(sync, monkeypatch)
    asking_to_join(connection, "first", "second")
    sync.drain()

    # When both are approved, the second before the parts of the first's fan-out run
    dynamodb.reset()
    approved_one_before_the_others_parts(sync, connection, "first", "second")

    # Then the first's parts send each station both cards, stamped past the second change, whose parts then
    # find every station covered: a claim each, no mark
    frames = [station.take_one("SendLocalList") for station in stations]
    assert [statuses(list_payload(f)[2]) for f in frames] == [
        {"TAG-FIRST": "Accepted", "TAG-SECOND": "Accepted"}
    ] * len(stations)
    assert dynamodb.operations().count("UpdateItem") == len(stations), dynamodb.operations()


TENANTS = 8
# The limits, in DynamoDB calls, of a burst across tenants each its own policy (bench/station_burst.py
# --shape tenants): the driver's and the connection's queries, the count of the policy's stations (a large
# one is split: decision 0045), its stations and changes, the station's claim; the policies' lists read and
# written together, a call or two for each invocation (several, when the stream's lanes spread a batch's
# records by key: ParallelizationFactor above 1).
CALLS_PER_TENANT, CALLS_PER_INVOCATION = 6, 2


def test_a_burst_over_many_policies_reads_and_writes_their_lists_together(sync, dynamodb):
    # Given tenants, each a connection, a policy over it with a station in sync, and a driver asking to join
    organization = given_organization()
    tenants = []
    for n in range(TENANTS):
        connection = given_connection(organization)
        policy = given_policy(organization, [connection["connection_id"]], name=f"Site {n}")
        station = given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"])
        given_card(f"tenant-{n}", f"TAG-T{n}")
        given_pending(connection, f"tenant-{n}")
        tenants.append((connection, station))
    sync.drain()

    # When every driver is approved and the burst reaches the sync function in one batch
    for n, (connection, _) in enumerate(tenants):
        assert decide(connection, f"tenant-{n}", "approve").status == 200
    dynamodb.reset()
    assert sync.delivered is not None
    sync.delivered.clear()
    drained = sync.drain()

    # Then each station gets its driver's card, in few calls
    assert drained.passed == TENANTS
    frames = [station.take_one("SendLocalList") for _, station in tenants]
    assert [statuses(list_payload(f)[2]) for f in frames] == [
        {f"TAG-T{n}": "Accepted"} for n in range(TENANTS)
    ]
    invocations = len(sync.delivered)
    assert invocations < TENANTS  # else nothing could be read or written together
    together = [c for c in dynamodb.calls if c.operation in ("BatchGetItem", "TransactWriteItems")]
    assert len(together) <= CALLS_PER_INVOCATION * invocations, dynamodb.operations()
    assert len(dynamodb.calls) <= CALLS_PER_TENANT * TENANTS + len(together), dynamodb.operations()
