"""A large policy's parts are started at once, each in an invocation of StationFanOutFunction (Lambda's
asynchronous invoke, decision 0047), and their items stay the durable copy the stream carries: whatever
the started invocation does (done, failed, never started, or late), every station gets the change once.
Lambda's Invoke API is real HTTP here (infra/local/lambda_api.py); it queues the events, and the test runs
them through the function's handler when it wants to."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from botocore.exceptions import EndpointConnectionError

from connections.platform import lambdas, settings
from connections.stations import delivery, iot
from connections.stations.items import ContinuationItem
from functions.station_sync import fan_out
from infra.local.lambda_api import LambdaServer
from tests.support.api import FakeLambdaContext
from tests.support.counting import DynamoDBCalls
from tests.support.memberships import DRIVER
from tests.support.stations import (
    given_auto_member,
    given_depot,
    given_synced_station,
    list_payload,
    publishing_fails_for,
    run_sweep,
    statuses,
)

STATIONS, PER_PART, FUNCTION = 5, 2, "StationFanOutFunction"


class Started:
    """The Invoke API: each event queued for the test to run (`run`) or drop."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def queue(self, name: str, event: dict) -> None:
        assert name == FUNCTION, name
        self.events.append(event)

    def run(self) -> list[dict | Exception]:
        """Every queued event through the function's handler, one after another: what each returned, or
        what it raised (Lambda logs it and runs the others)."""
        events, self.events = self.events, []
        answers: list[dict | Exception] = []
        for event in events:
            try:
                answers.append(fan_out.handler(event, FakeLambdaContext()))
            except Exception as error:  # noqa: BLE001 - what the invocation raised, for the test to check
                answers.append(error)
        return answers


def _fresh_clients() -> None:
    # Both read their environment once: the function's name, and the endpoint when the client is made.
    settings.fan_out_function.cache_clear()
    lambdas._client.cache_clear()


@pytest.fixture
def started(monkeypatch) -> Iterator[Started]:
    """StationSyncFunction configured to start parts (STATION_FAN_OUT_FUNCTION), Lambda's Invoke API here."""
    found = Started()
    with LambdaServer(found.queue, {FUNCTION}, queue=False) as server:
        monkeypatch.setenv("STATION_FAN_OUT_FUNCTION", FUNCTION)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        _fresh_clients()
        yield found
    _fresh_clients()


def given_parted_policy(sync, monkeypatch, per_part: int = PER_PART):
    organization, connection, policy = given_depot()
    stations = [
        given_synced_station(sync, organization, f"CP-{n}", policy["policy_id"]) for n in range(STATIONS)
    ]
    monkeypatch.setattr(delivery, "STATIONS_PER_PART", per_part)
    return connection, stations


def parts_left() -> list[ContinuationItem]:
    return [p for p in ContinuationItem.scan() if p.work == ContinuationItem.STATIONS]


def each_got_the_change_once(stations) -> None:
    frames = [s.take() for s in stations]
    assert [len(f) for f in frames] == [1] * STATIONS, frames
    assert [statuses(list_payload(f[0])[2]) for f in frames] == [{"TAG-1": "Accepted"}] * STATIONS


def test_the_parts_are_started_at_once_and_their_stream_records_find_them_done(sync, monkeypatch, started):
    # Given a policy of 5 stations in sync, in parts of 2
    connection, stations = given_parted_policy(sync, monkeypatch)

    # When a driver joins and the change's record is delivered
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.deliver(sync.wanted(sync.new_records()))

    # Then each of the 3 parts is started at once, once, and no station is reached by the change's own
    # invocation
    assert len(started.events) == 3
    assert len({ContinuationItem.from_raw_data(e["part"]).pk for e in started.events}) == 3
    assert [len(s.take()) for s in stations] == [0] * STATIONS

    # When the started invocations run
    dynamodb = DynamoDBCalls().install()
    try:
        answers = started.run()
    finally:
        dynamodb.uninstall()

    # Then every station got the change once, and each part is deleted, done, having read itself once
    assert sorted(a["publishes"] for a in answers) == [1, 2, 2]
    parts_read = [c for c in dynamodb.calls if c.operation == "BatchGetItem" and c.items_read == 1]
    assert len(parts_read) == 3, dynamodb.operations()
    each_got_the_change_once(stations)
    assert parts_left() == []

    # And the parts' stream records, a hop later, cost one read and reach nobody
    dynamodb = DynamoDBCalls().install()
    try:
        sync.deliver(sync.wanted(sync.new_records()))
    finally:
        dynamodb.uninstall()
    assert dynamodb.operations() == ["BatchGetItem"]
    assert [len(s.take()) for s in stations] == [0] * STATIONS
    sync.drain()
    assert started.events == []


def test_a_part_that_cannot_be_started_is_reached_by_its_stream_record(sync, monkeypatch, started):
    # Given a policy in parts, and Lambda refusing to start the function (here: it does not know it)
    connection, stations = given_parted_policy(sync, monkeypatch)
    monkeypatch.setenv("STATION_FAN_OUT_FUNCTION", "NoSuchFunction")
    settings.fan_out_function.cache_clear()

    # When a driver joins
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()

    # Then nothing was started, and the stream reached every station once all the same
    assert started.events == []
    each_got_the_change_once(stations)


def test_a_started_part_that_fails_is_finished_by_its_stream_record(sync, monkeypatch, started):
    # Given a policy in parts whose changes are started at once
    connection, stations = given_parted_policy(sync, monkeypatch)
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.deliver(sync.wanted(sync.new_records()))

    # When publishing to CP-3 fails in its started invocation (Lambda does not retry it: the stream will)
    publish = iot.publish
    monkeypatch.setattr(iot, "publish", publishing_fails_for("CP-3"))
    failures = [a for a in started.run() if isinstance(a, Exception)]
    monkeypatch.setattr(iot, "publish", publish)
    assert [type(f) for f in failures] == [EndpointConnectionError]

    # Then that part is left for its stream record, which finds CP-3's claim standing unsent and sends it
    # again: every station got the change once
    assert len(parts_left()) == 1
    sync.drain()
    each_got_the_change_once(stations)


@contextmanager
def publishing_to_cp3_fails_after(monkeypatch, meanwhile: Callable[[], object]) -> Iterator[None]:
    """Within: a publish to CP-3 lets the other side's pass run (`meanwhile`), then fails."""
    publish, fails = iot.publish, publishing_fails_for("CP-3")

    def failing(station_id: str, frame: list) -> int:
        if station_id == "CP-3":
            meanwhile()
        return fails(station_id, frame)

    monkeypatch.setattr(iot, "publish", failing)
    yield
    monkeypatch.setattr(iot, "publish", publish)


def given_a_change_split(sync, monkeypatch) -> list:
    """A policy in parts and a driver's change to it, split and its parts started (queued)."""
    connection, stations = given_parted_policy(sync, monkeypatch)
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.deliver(sync.wanted(sync.new_records()))
    return stations


def test_a_failed_publish_while_the_stream_reaches_the_same_part_is_sent_by_the_sweep(
    sync, monkeypatch, started
):
    stations = given_a_change_split(sync, monkeypatch)

    # When the started invocation's publish to CP-3 fails just after the parts' stream records arrived, which
    # found CP-3 claimed and left the change to that claim (found in review)
    with publishing_to_cp3_fails_after(monkeypatch, lambda: sync.deliver(sync.wanted(sync.new_records()))):
        answers = started.run()

    # Then the claim stands, unsent, and the sweep's next run sends it: every station got the change once
    assert [type(a) for a in answers if isinstance(a, Exception)] == [EndpointConnectionError]
    sync.drain()
    assert run_sweep()["resent"] == 1
    each_got_the_change_once(stations)


@pytest.mark.redelivers
def test_a_failed_publish_of_the_streams_pass_while_the_started_part_is_done_is_sent_by_the_sweep(
    sync, monkeypatch, started
):
    stations = given_a_change_split(sync, monkeypatch)

    # When the stream's pass publishes to CP-3 and fails, just after the started invocations (late) found
    # CP-3 claimed, left the change to that claim and deleted their parts (found in review)
    with publishing_to_cp3_fails_after(monkeypatch, started.run):
        sync.drain()  # the batch fails, and Lambda delivers it again: its parts are done now

    # Then the claim stands, unsent, and the sweep's next run sends it: every station got the change once
    assert parts_left() == []
    assert run_sweep()["resent"] == 1
    each_got_the_change_once(stations)


def test_a_part_reached_by_its_stream_record_first_is_reached_once_when_its_start_comes_late(
    sync, monkeypatch, started
):
    # Given a policy in parts, whose started invocations Lambda runs only after the stream's (a cold start)
    connection, stations = given_parted_policy(sync, monkeypatch)
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    each_got_the_change_once(stations)

    # When they run at last
    answers = started.run()

    # Then they send nothing more: each station has its message in flight already, marked for the change
    assert [a["publishes"] for a in answers] == [0, 0, 0]
    assert [len(s.take()) for s in stations] == [0] * STATIONS
    assert parts_left() == []


def test_a_started_part_whose_change_is_over_reads_one_item_and_does_nothing(sync, monkeypatch, started):
    connection, stations = given_parted_policy(sync, monkeypatch)
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.deliver(sync.wanted(sync.new_records()))
    started.run()
    each_got_the_change_once(stations)
    event = {"part": ContinuationItem.next("gone", ContinuationItem.STATIONS, "1", 0, seq=1).serialize()}

    dynamodb = DynamoDBCalls().install()
    try:
        assert fan_out.handler(event, FakeLambdaContext()) == {"publishes": 0}
    finally:
        dynamodb.uninstall()
    assert dynamodb.operations() == ["BatchGetItem"]
    sync.drain()


def test_a_started_invocation_refuses_what_is_not_a_part_of_a_fan_out():
    members = ContinuationItem.next("p", ContinuationItem.MEMBERS, "1", 0).serialize()
    with pytest.raises(ValueError, match="not a part of a fan-out"):
        fan_out.handler({"part": members}, FakeLambdaContext())


def test_a_burst_of_changes_to_a_policy_goes_by_the_stream_which_brings_them_together(
    sync, monkeypatch, started
):
    # Given a policy in parts, and more drivers joining in one batch than a policy's quiet changes
    connection, stations = given_parted_policy(sync, monkeypatch)
    drivers = {f"driver-{n:02d}": f"TAG-{n:02d}" for n in range(delivery.AT_ONCE_MOST_CHANGES + 1)}
    for driver, card in drivers.items():
        given_auto_member(connection, driver, card)

    # When their records are delivered in one batch
    sync.deliver(sync.wanted(sync.new_records()))

    # Then no part is started at once (every batch of a burst would write each station again), and the
    # stream's pass brings every station the whole burst in one message
    assert started.events == []
    sync.drain()
    frames = [s.take() for s in stations]
    assert [len(f) for f in frames] == [1] * STATIONS
    assert [statuses(list_payload(f[0])[2]) for f in frames] == [
        dict.fromkeys(drivers.values(), "Accepted")
    ] * STATIONS
