"""A charger that reconnects without rebooting (IoT Core's presence event, routed to the
StationMessagesFunction) is asked its list version and sent what it lacks at once: the Differentials it
missed when its version is the one it acknowledged last, a Full otherwise. Whatever was in flight when it
dropped is lost with the socket. Repeated and reordered events do no harm; a boot still leads to a Full."""

import time

import pytest

from tests.support.memberships import DRIVER
from tests.support.stations import (
    V16,
    V201,
    Station,
    given_auto_member,
    given_depot,
    given_synced_station,
    list_payload,
    station_view,
    statuses,
)


def now_ms() -> int:
    return int(time.time() * 1000)


def offline_with_a_lost_differential(sync, ocpp_version: str = V16):
    """A synced station holding TAG-A that drops, and two drivers who join meanwhile: the first one's
    Differential is lost with the socket, the second waits behind it."""
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"], ocpp_version)
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    lost = station.take_one("SendLocalList")
    given_auto_member(connection, "driver-c", "TAG-C")
    sync.drain()
    assert station.take() == []
    return organization, station, lost


@pytest.mark.parametrize(("ocpp_version", "field"), [(V16, "listVersion"), (V201, "versionNumber")])
def test_a_station_that_reconnects_with_its_version_gets_only_the_differentials_it_missed(
    sync, ocpp_version, field
):
    # Given a station of either version that dropped while a Differential was in flight
    organization, station, lost = offline_with_a_lost_differential(sync, ocpp_version)
    version = station.version

    # When it reconnects
    (question,) = station.connected()

    # Then it is asked its version, and answering the one it acknowledged last (in its version's words)
    # brings what it missed
    assert question[2:] == ["GetLocalListVersion", {}]
    station.answer(question, {field: version})
    differential = station.take_one("SendLocalList")
    update_type, _, entries = list_payload(differential)
    assert update_type == "Differential"
    assert statuses(entries) == {"TAG-B": "Accepted", "TAG-C": "Accepted"}
    station.accept(differential)
    sync.drain()
    assert station.take() == []
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted", "TAG-C": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_that_reconnects_with_another_version_gets_a_full(sync):
    # Given a station that took the Differential in flight but whose answer was lost with the socket
    organization, station, lost = offline_with_a_lost_differential(sync)
    update_type, version, entries = list_payload(lost)
    station.entries.update({tag.casefold(): info for tag, info in entries.items()})
    station.version = version

    # When it reconnects and reports that version
    (question,) = station.connected()
    station.answer(question, {"listVersion": station.version})

    # Then it gets its whole list
    full = station.take_one("SendLocalList")
    assert list_payload(full)[0] == "Full"
    station.accept(full)
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted", "TAG-C": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_synced_station_that_reconnects_is_sent_nothing_more(sync):
    organization, connection, policy = given_depot({DRIVER: "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    (question,) = station.connected()
    station.answer(question, {"listVersion": station.version})

    assert station.take() == []
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_repeated_and_reordered_presence_events_ask_once(sync):
    # Given a station that dropped with a Differential in flight
    organization, station, lost = offline_with_a_lost_differential(sync)
    first, second = now_ms() - 2000, now_ms()

    # When the events of its two connections arrive late, twice, and the older after the newer
    asked = station.connected(second) + station.connected(second) + station.connected(first)

    # Then it is asked once, caught up once, and the same events again change nothing
    (question,) = asked
    assert question[2] == "GetLocalListVersion"
    station.answer(question, {"listVersion": station.version})
    station.accept(station.take_one("SendLocalList"))
    assert station.connected(second) + station.connected(first) == []
    sync.drain()
    assert station.take() == []
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted", "TAG-C": "Accepted"}


def test_a_boot_after_a_reconnect_still_gets_a_full(sync):
    # Given a synced station whose reconnect question is in flight
    organization, connection, policy = given_depot({DRIVER: "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    (reconnect_question,) = station.connected()

    # When it boots, and then answers both questions with the version it acknowledged last
    _, boot_question = station.boot()
    station.answer(reconnect_question, {"listVersion": station.version})
    assert station.take() == []  # a stale answer: the boot's question replaced it
    station.answer(boot_question, {"listVersion": station.version})

    # Then it gets a Full all the same
    assert list_payload(station.take_one("SendLocalList"))[0] == "Full"


def test_a_reconnect_announced_after_a_boot_does_not_spare_it_the_full(sync):
    # Given a synced station that connected and booted, whose presence event comes after its boot
    organization, connection, policy = given_depot({DRIVER: "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    connected_at = now_ms()
    _, boot_question = station.boot()

    # When the event arrives: the question in flight was asked on that connection
    assert station.connected(connected_at) == []

    # Then the boot's answer brings a Full
    station.answer(boot_question, {"listVersion": station.version})
    full = station.take_one("SendLocalList")
    assert list_payload(full)[0] == "Full"
    station.accept(full)
    assert station.connected(connected_at) == []


def test_a_presence_event_of_a_client_that_is_no_station_does_nothing(sync):
    given_depot({DRIVER: "TAG-A"})
    stranger = Station("NOT-A-STATION")
    assert stranger.connected() == []
