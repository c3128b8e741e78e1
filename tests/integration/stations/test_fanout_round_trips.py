"""What one approval costs at stations in sync, in deterministic counts (bench/station_fanout.py times the
same at 10,000 members and up to 1,000 stations): each station gets one Differential carrying the new
card alone, and the DynamoDB calls stay within limits that grow with the stations, never with the list."""

import pytest

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
# station (its claim); each station's answer.
APPROVE_CALLS, SYNC_CALLS, ANSWER_CALLS = 2, 7 + STATIONS, 3
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
    assert answer_calls <= ANSWER_CALLS * STATIONS
    assert [len(payload) <= FRAME_BYTES for _, payload in sent] == [True] * STATIONS
    assert sync.drain().passed == 0  # the answers' records pass no filter: no invocation with nothing to do


BUSY_STATIONS, BURST = 12, 8
# At most this many DynamoDB calls per stream record when a burst reaches a policy whose stations all have
# a request in flight (bench/station_burst.py --shape one-policy), and per station reached.
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

    # Then nothing is sent (each station's answer brings it the rest), and the stations are read in batches
    assert drained.passed == BURST
    assert [station.take() for station in stations] == [[]] * BUSY_STATIONS
    assert dynamodb.operations().count("GetItem") == 0, dynamodb.operations()
    assert len(dynamodb.calls) <= CALLS_PER_RECORD * BURST, dynamodb.operations()
    assert len(dynamodb.calls) <= CALLS_PER_STATION * BUSY_STATIONS, dynamodb.operations()
