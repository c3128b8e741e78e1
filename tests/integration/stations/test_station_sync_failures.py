"""The stream consumer under Lambda's at-least-once delivery: duplicated batches, a record that fails,
a publish to IoT Core that fails, and a station answering while a batch is being applied."""

import os

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from connections.platform.table import now
from connections.stations import allow_entries, delivery, iot
from connections.stations.items import StationItem
from connections.stations.local_list import Access, TagStatus
from tests.support.memberships import DRIVER, request_membership
from tests.support.stations import (
    entries_of,
    given_auto_member,
    given_card,
    given_depot,
    given_policy,
    given_station,
    given_synced_station,
    list_payload,
    policy_seq,
    publishing_fails_for,
    run_sweep,
    settle,
    station_view,
    statuses,
    stored_station,
)


def sequence_numbers(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def failed(answer: dict) -> list[str]:
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


class FailingPublish:
    """IoT Core publishing through connections.stations.iot, except that once armed the next publish fails as
    an unreachable endpoint does; later ones go through to moto."""

    def __init__(self) -> None:
        self.real, self.armed, self.failures = iot.publish, False, 0

    def arm(self) -> None:
        self.armed = True

    def __call__(self, station_id: str, frame: list) -> int:
        if self.armed:
            self.armed, self.failures = False, self.failures + 1
            raise EndpointConnectionError(endpoint_url="https://data-ats.iot.us-east-1.amazonaws.com")
        return self.real(station_id, frame)


@pytest.fixture
def publish(monkeypatch) -> FailingPublish:
    failing = FailingPublish()
    monkeypatch.setattr(iot, "publish", failing)
    return failing


def test_batches_delivered_again_publish_nothing_more_and_change_no_entry(sync):
    # Given a station that has accepted a driver's arrival, and every batch that led there
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_station(organization, "CP-1", policy["policy_id"])
    settle(sync, station)
    given_auto_member(connection, "driver-b", "TAG-B")
    assert [list_payload(f)[0] for f in settle(sync, station)] == ["Differential"]
    delivered = [record for batch in sync.delivered for record in batch]
    entries, seq, version = entries_of(policy["policy_id"]), policy_seq(policy["policy_id"]), station.version

    # When Lambda delivers them all again, batch by batch and then as one batch holding each record twice
    again = [sync.deliver(batch) for batch in list(sync.delivered)]
    twice = sync.deliver(delivered + delivered)

    # Then
    assert [failed(answer) for answer in again + [twice]] == [[]] * (len(again) + 1)
    assert station.take() == []
    assert entries_of(policy["policy_id"]) == entries
    assert policy_seq(policy["policy_id"]) == seq
    assert stored_station("CP-1").list_version == version == 2
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_record_that_fails_is_reported_alone_and_the_rest_of_the_batch_is_applied(sync):
    # Given a synced station, and a batch with a driver's card and membership around a corrupt card item
    # (its created_at is not a date: reading the record's image fails)
    organization, connection, policy = given_depot()
    station = given_station(organization, "CP-1", policy["policy_id"])
    settle(sync, station)
    given_card(DRIVER, "TAG-1")
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={
            "pk": {"S": "CARD#BROKEN"},
            "sk": {"S": "CARD"},
            "kind": {"S": "card"},
            "id_tag": {"S": "BROKEN"},
            "driver_id": {"S": "driver-x"},
            "created_at": {"S": "yesterday"},
            "gsi1pk": {"S": "DRIVER#driver-x"},
            "gsi1sk": {"S": "CARD#BROKEN"},
        },
    )
    assert request_membership(connection, DRIVER).body["status"] == "active"
    records = sync.new_records()
    (poison,) = [r for r in records if r["dynamodb"]["NewImage"].get("id_tag") == {"S": "BROKEN"}]
    assert records.index(poison) not in (0, len(records) - 1)

    # When
    answer = sync.deliver(records)

    # Then only that record is reported, and the driver's card reaches the station
    assert failed(answer) == [poison["dynamodb"]["SequenceNumber"]]
    assert statuses(list_payload(sent := station.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}
    station.accept(sent)

    # When Lambda retries from the failed record on
    retried = sync.deliver(records[records.index(poison) :])

    # Then it fails again alone, and nothing is sent twice
    assert failed(retried) == [poison["dynamodb"]["SequenceNumber"]]
    assert station.take() == []


def test_a_failed_publish_fails_the_whole_batch_and_the_retry_sends_the_full_it_claimed(sync, publish):
    # Given a policy with a member, and the record of a station just registered
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    sync.drain()
    station = given_station(organization, "CP-1", policy["policy_id"])
    records = sync.new_records()

    # When publishing its Full fails
    publish.arm()
    answer = sync.deliver(records)

    # Then every record of the batch is reported and nothing reached the station, whose claim stands
    # marked unsent (freed, it was lost to whoever had found it claimed and left it a change)
    assert publish.failures == 1
    assert sorted(failed(answer)) == sorted(sequence_numbers(records))
    assert station.take() == []
    assert stored_station("CP-1").in_flight_unsent is True

    # When Lambda delivers the batch again, then the Full goes out, under a new message id
    assert failed(sync.deliver(records)) == []
    full = station.take_one("SendLocalList")
    assert stored_station("CP-1").in_flight_unsent is None
    assert list_payload(full)[:2] == ("Full", 1)
    assert statuses(list_payload(full)[2]) == {"TAG-1": "Accepted"}
    station.accept(full)
    settle(sync, station)
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_failed_publish_of_a_differential_is_sent_when_the_batch_is_retried(sync, publish):
    # Given a synced station, and the records of a driver joining
    organization, connection, policy = given_depot()
    station = given_station(organization, "CP-1", policy["policy_id"])
    settle(sync, station)
    given_auto_member(connection, DRIVER, "TAG-1")
    records = sync.new_records()

    # When publishing the Differential fails
    publish.arm()
    answer = sync.deliver(records)

    # Then the whole batch is reported and the station's claim stands
    assert publish.failures == 1
    assert sorted(failed(answer)) == sorted(sequence_numbers(records))
    assert station.take() == []
    assert stored_station("CP-1").in_flight_id is not None

    # When Lambda delivers the batch again
    assert failed(sync.deliver(records)) == []
    sync.drain()

    # Then the change reaches the station
    assert statuses(list_payload(station.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}


def test_a_full_built_while_a_batch_is_being_applied_does_not_lose_its_changes(sync, monkeypatch):
    # Given a synced station that rebooted and lost its list, and a driver who joins meanwhile
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_station(organization, "CP-1", policy["policy_id"])
    settle(sync, station)
    _, question = station.boot()
    given_auto_member(connection, "driver-b", "TAG-B")
    records = sync.new_records()

    # When the station's answer (it holds no list) arrives while the sync function applies the batch:
    # after it read what to change, before the new entries and their sequence are written
    write_entries, answered = allow_entries._write, []

    def station_answers_first(*args, **kwargs):
        if not answered:
            answered.append(True)
            station.answer(question, {"listVersion": 0})
        return write_entries(*args, **kwargs)

    monkeypatch.setattr(allow_entries, "_write", station_answers_first)
    assert failed(sync.deliver(records)) == []
    monkeypatch.undo()
    assert answered
    settle(sync, station)

    # Then the station ends up with both drivers
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted"}


def test_a_delivery_planned_before_a_refusal_sends_the_full_instead_of_its_differential(sync):
    # Given a synced station, as one delivery read it, with a change for it on the policy's list
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    read_before = stored_station("CP-1")
    given_auto_member(connection, "driver-b", "TAG-B")
    changes = allow_entries.Changes(
        {(policy["policy_id"], "TAG-B"): (Access(TagStatus.ACCEPTED), "driver-b", "ISO14443", now())}
    )
    sequences = allow_entries.apply(changes)

    # When, before that delivery claims the station, a refusal leaves it needing a Full
    stored_station("CP-1").update(actions=[StationItem.needs_full.set(True), StationItem.failures.set(1)])
    done = delivery.Delivery()
    delivery.send_next_list(read_before, sequences[policy["policy_id"]], delivery.EntryReader(), done)

    # Then the stale Differential is not sent: the delivery plans again and sends the Full it needs
    (full,) = station.take()
    assert done.publishes == 1 and list_payload(full)[0] == "Full"
    station.accept(full)
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_member_leaving_while_a_full_station_is_planned_for_is_counted_in_its_room(sync, monkeypatch):
    # Given a station holding its capacity of 5 members, whose answer to the Differential bringing the
    # fifth is outstanding when a sixth driver joins
    organization, connection, policy = given_depot({f"driver-{n}": f"TAG-{n}" for n in range(4)})
    station = given_station(organization, "CP-1", policy["policy_id"], local_auth_list_max_length=5)
    settle(sync, station)
    given_auto_member(connection, "driver-4", "TAG-4")
    sync.drain()
    in_flight = station.take_one("SendLocalList")
    given_auto_member(connection, "driver-5", "TAG-5")
    sync.drain()

    # When its answer is being handled, a listed member's revocation is written just after the changes
    # for its next message were read (another sync invocation, at the same moment, which then reaches the
    # policy's stations)
    read_entries, revoked = delivery.EntryReader._read, []

    def revoked_meanwhile(policy_id, wanted):
        found = read_entries(policy_id, wanted)
        if not revoked:
            blocked = Access(TagStatus.BLOCKED)
            revoked.append(
                allow_entries.apply(
                    allow_entries.Changes({(policy_id, "TAG-1"): (blocked, "driver-1", "ISO14443", now())})
                )
            )
        return found

    monkeypatch.setattr(delivery.EntryReader, "_read", staticmethod(revoked_meanwhile))
    station.accept(in_flight)
    monkeypatch.undo()
    delivery.send_next_lists(revoked[0], set())

    # Then what it is sent fits in it (`accept` checks), and it ends with the five latest changes
    settle(sync, station)
    assert revoked
    assert station.statuses() == {
        "TAG-2": "Accepted",
        "TAG-3": "Accepted",
        "TAG-4": "Accepted",
        "TAG-5": "Accepted",
        "TAG-1": "Blocked",
    }


@pytest.mark.redelivers
def test_a_failed_resend_leaves_the_station_due_at_the_next_sweep_and_the_sweep_goes_on(sync, monkeypatch):
    # Given two stations just registered whose Fulls both failed to publish: both claims stand
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    sync.drain()
    stations = {s: given_station(organization, s, policy["policy_id"]) for s in ("CP-1", "CP-2")}
    publish = iot.publish
    monkeypatch.setattr(iot, "publish", publishing_fails_for("CP-1", "CP-2"))
    sync.deliver(sync.new_records())
    monkeypatch.setattr(iot, "publish", publish)
    assert all(stored_station(s).in_flight_id for s in stations)

    # When the sweep runs while publishing to the first of them still fails (found in review: the sweep
    # stopped there, and neither the other station nor the stale count was reached)
    first, second = [s.station_id for s in delivery._due(delivery.INFLIGHT, delivery.now())]
    monkeypatch.setattr(iot, "publish", publishing_fails_for(first))
    swept = run_sweep()

    # Then the other is sent its Full, the stale stations are counted, and the first is due at once
    assert swept["resent"] == 1 and "stale" in swept
    assert list_payload(stations[second].take_one("SendLocalList"))[0] == "Full"
    assert stations[first].take() == []
    monkeypatch.setattr(iot, "publish", publish)
    assert run_sweep()["resent"] == 1
    assert list_payload(stations[first].take_one("SendLocalList"))[0] == "Full"


@pytest.mark.redelivers
def test_a_station_iot_keeps_failing_for_holds_up_no_other_station_of_the_batch(sync, monkeypatch):
    # Given two policies over one connection, a synced station on each
    organization, connection, first = given_depot()
    second = given_policy(organization, [connection["connection_id"]])
    stations = {
        first["policy_id"]: given_station(organization, "CP-A", first["policy_id"]),
        second["policy_id"]: given_station(organization, "CP-B", second["policy_id"]),
    }
    settle(sync, *stations.values())
    # IoT keeps failing for the station of the policy reached first (the batch's policies go in order)
    failing, other = [stations[p] for p in sorted(stations)]

    # When a driver joins (one batch changes both policies), and Lambda delivers the batch again
    given_auto_member(connection, DRIVER, "TAG-1")
    records = sync.new_records()
    publish = iot.publish
    monkeypatch.setattr(iot, "publish", publishing_fails_for(failing.station_id))
    answers = [sync.deliver(records) for _ in range(2)]

    # Then the retry goes on past the failing station (found in review: it failed there again, every time,
    # and the other station was never claimed), and the other station gets the change
    assert [bool(failed(a)) for a in answers] == [True, False]
    assert statuses(list_payload(other.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}

    # And once IoT is back, the sweep sends the failing station its request, standing unsent
    monkeypatch.setattr(iot, "publish", publish)
    assert run_sweep()["resent"] == 1
    assert statuses(list_payload(failing.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}
