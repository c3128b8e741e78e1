"""Stations over MQTT against `make run`'s stack: a simulated charger keeps its OCPP local list from what
the service sends, as a real one behind the AWS OCPP gateway would."""

import time
import uuid

import pytest

from infra.local.chargers import SimulatedStation
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def site(stack):
    """An organization whose private connection unlocks a members-only station, which is online."""
    admin = unique("admin")
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Depot"})
    org = org["organization_id"]
    _, connection, _ = stack.call(
        "POST", f"/organizations/{org}/connections", user=admin, body={"name": "Fleet", "public": False}
    )
    _, policy, _ = stack.call(
        "POST",
        f"/organizations/{org}/policies",
        user=admin,
        body={"name": "Depot bays", "connection_ids": [connection["connection_id"]]},
    )
    station_id = unique("CP").upper()
    station = SimulatedStation(station_id, stack.mqtt_port).start()
    stack.provision(station_id, org)
    status, _, _ = stack.call(
        "POST",
        f"/organizations/{org}/stations",
        user=admin,
        body={"station_id": station_id, "name": "Bay 1", "policy_id": policy["policy_id"]},
    )
    assert status == 201
    assert wait_for(lambda: station.snapshot()["listVersion"] >= 1, timeout=5), "the first Full never arrived"
    yield {"admin": admin, "org": org, "connection": connection, "station": station, "policy": policy}
    station.stop()
    # Every frame the service sent this charger validated against the OCPP 1.6 schemas.
    assert station.violations == []


def on_list(station: SimulatedStation, card: str) -> str | None:
    entry = station.snapshot()["entries"].get(card)
    return entry["status"] if entry else None


def join(stack, site, driver: str, card: str) -> float:
    """The driver registers a card and requests; the admin approves. Returns when the approval answered."""
    connection = site["connection"]
    assert stack.call("POST", "/me/cards", user=driver, body={"id_tag": card})[0] == 201
    status, _, _ = stack.call(
        "POST",
        f"/connections/{connection['connection_id']}/memberships",
        user=driver,
        body={"code": connection["code"]},
    )
    assert status == 201
    path = f"/organizations/{site['org']}/connections/{connection['connection_id']}/requests/{driver}/approve"
    assert stack.call("POST", path, user=site["admin"])[0] == 200
    return time.monotonic()


def test_an_approved_card_is_accepted_at_the_station_within_a_second_and_refused_after_removal(stack, site):
    station, driver, card = site["station"], unique("driver"), unique("C")[:12].upper()
    # Given a driver whose card the station does not know
    assert on_list(station, card) is None
    # When the admin approves the driver's request
    approved_at = join(stack, site, driver, card)
    # Then within a second the station's own list accepts the card
    assert wait_for(lambda: on_list(station, card) == "Accepted", timeout=1.0), station.snapshot()
    assert time.monotonic() - approved_at < 1.0
    assert station.would_accept(card)[:2] == (True, "local_list")
    # And once the station's answer is in, the driver sees that the access arrived at the station
    path = f"/me/memberships/{site['connection']['connection_id']}/stations"
    delivered = wait_for(
        lambda: stack.call("GET", path, user=driver)[1] == {"stations": 1, "delivered": 1}, 2
    )
    assert delivered, stack.call("GET", path, user=driver)
    # When the admin removes the driver
    path = f"/organizations/{site['org']}/connections/{site['connection']['connection_id']}/members/{driver}"
    assert stack.call("DELETE", path, user=site["admin"])[0] == 200
    removed_at = time.monotonic()
    # Then within a second the card is listed as Blocked (refused even offline), not just deleted
    assert wait_for(lambda: on_list(station, card) == "Blocked", timeout=1.0), station.snapshot()
    assert time.monotonic() - removed_at < 1.0
    assert station.would_accept(card) == (False, "local_list", "Blocked")


def test_a_card_the_station_does_not_know_is_asked_online(stack, site):
    station = site["station"]
    # A stranger's card is not on the list: the station asks the service, which refuses it
    assert station.would_accept("UNKNOWN01") == (False, "online", "Invalid")


def test_the_admin_sees_the_station_in_sync(stack, site):
    driver, card = unique("driver"), unique("S")[:12].upper()
    join(stack, site, driver, card)
    assert wait_for(lambda: on_list(site["station"], card) == "Accepted", timeout=2)

    def synced():
        _, stations, _ = stack.call("GET", f"/organizations/{site['org']}/stations", user=site["admin"])
        return stations if stations["out_of_sync"] == 0 else None

    stations = wait_for(synced, timeout=2)
    assert stations, "the station never showed as in sync"
    sync = stations["items"][0]["sync"]
    assert sync["in_sync"] and sync["held_sequence"] == sync["wanted_sequence"] >= 1


def test_a_station_that_lost_its_list_is_reconciled_when_it_reboots(stack, site):
    station, driver, card = site["station"], unique("driver"), unique("R")[:12].upper()
    join(stack, site, driver, card)
    assert wait_for(lambda: on_list(station, card) == "Accepted", timeout=2)
    # Given a station that comes back with an empty list (replaced controller board)
    with station._lock:
        station._entries.clear()
        station._version = 0
    # When it reboots and says hello
    station.reboot()
    # Then the service asks for its list version, sees the mismatch and sends the whole list again
    assert wait_for(lambda: on_list(station, card) == "Accepted", timeout=3), station.snapshot()
    assert station.snapshot()["registration"] == "Accepted"
