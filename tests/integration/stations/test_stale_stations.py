"""Stations whose list stays stale (a change not acknowledged, a refusal, no answer) for more than 15
minutes are reported: the every-minute sweep's `StaleStations` metric, the organization-wide
`stale_count` of the admins' station list, and a daily digest to the organization's admins."""

from datetime import UTC, datetime, timedelta

import pytest

from functions.notify.stale_stations import handler as digest_handler
from infra.provision import provision
from tests.support.api import FakeLambdaContext
from tests.support.aws import CONSOLE_URL
from tests.support.mail import clear_outbox, sent_to
from tests.support.memberships import ADA, EVE, given_connection, given_organization
from tests.support.stations import (
    as_station_admin,
    backdate_stale,
    given_auto_member,
    given_depot,
    given_policy,
    given_station,
    given_synced_station,
    metric,
    run_sweep,
    settle,
    station_view,
    stored_station,
)


@pytest.fixture(autouse=True)
def _empty_outbox():
    clear_outbox()
    yield


def run_digest() -> dict:
    return digest_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def station_list(organization: str, admin: str = ADA, **query) -> dict:
    answer = as_station_admin("GET", f"/organizations/{organization}/stations", email=admin, query=query)
    assert answer.status == 200, answer.body
    return answer.body


def stale_count(organization: str, admin: str = ADA, **query) -> int:
    return station_list(organization, admin, **query)["stale_count"]


def test_stale_since_is_set_when_a_change_goes_unacknowledged_and_cleared_once_in_sync(sync):
    # Given a synced station
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert stored_station("CP-1").stale_since is None
    assert station_view(organization, "CP-1")["sync"]["stale_since"] is None

    # When a change is sent and not yet acknowledged
    before = datetime.now(UTC)
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    differential = station.take_one("SendLocalList")

    # Then it is stale since it was sent
    since = stored_station("CP-1").stale_since
    assert since is not None and before <= since <= datetime.now(UTC)
    assert station_view(organization, "CP-1")["sync"]["stale_since"] is not None

    # and once it acknowledges, with nothing more to send, it is not
    station.accept(differential)
    settle(sync, station)
    assert stored_station("CP-1").stale_since is None


def test_an_acknowledgement_reports_how_long_the_station_lacked_the_change(sync, capsys):
    # Given a synced station sent a change three seconds ago, not yet acknowledged
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    differential = station.take_one("SendLocalList")
    sent_at = datetime.now(UTC) - timedelta(seconds=3)
    backdate_stale("CP-1", sent_at)
    capsys.readouterr()

    # When it acknowledges it, with nothing more to send
    station.accept(differential)
    lacked = datetime.now(UTC) - sent_at

    # Then the StationMessagesFunction reports the time from the change's sending to the acknowledgement, once
    (reported,) = metric(capsys.readouterr().out, "ChangeAcknowledged")
    assert 3000 <= reported <= lacked.total_seconds() * 1000
    settle(sync, station)
    assert metric(capsys.readouterr().out, "ChangeAcknowledged") == []


def test_a_station_that_refuses_stays_stale_since_its_first_unacknowledged_change(sync):
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    since = stored_station("CP-1").stale_since
    station.answer(station.take_one("SendLocalList"), {"status": "Failed"})
    assert stored_station("CP-1").stale_since == since
    station.take_one("SendLocalList")  # the Full that follows a refusal
    assert stored_station("CP-1").stale_since == since


def stale_world(sync):
    """Ada's organization with a station stale for 16 minutes (refusing), one for 14 (unanswered), one in
    sync; Eve's with a hidden station stale for 20 minutes."""
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    refusing = given_station(organization, "CP-REFUSING", policy["policy_id"])
    sync.drain()
    refusing.answer(refusing.take_one("SendLocalList"), {"status": "Failed"})
    given_station(organization, "CP-SILENT", policy["policy_id"])
    given_synced_station(sync, organization, "CP-SYNCED", policy["policy_id"])
    sync.drain()
    backdate_stale("CP-REFUSING", minutes_ago(16))
    backdate_stale("CP-SILENT", minutes_ago(14))

    other = given_organization("Hidden Fleet", admin=EVE)
    members = given_connection(other, admin=EVE, name="Staff", public=True, approval_mode="auto")
    staff = [members["connection_id"]]
    hidden = given_policy(other, staff, name="Staff only", rules={"visible_to": staff}, email=EVE)
    # the station's name is what its admins typed: escaped in the HTML
    provision("CP-HIDDEN", other)
    body = {"station_id": "CP-HIDDEN", "name": "Secret <Depot>", "policy_id": hidden["policy_id"]}
    answer = as_station_admin("POST", f"/organizations/{other}/stations", email=EVE, body=body)
    assert answer.status == 201, answer.body
    sync.drain()
    backdate_stale("CP-HIDDEN", minutes_ago(20))
    return organization, other


def test_only_stations_stale_for_more_than_15_minutes_are_counted_organization_wide(sync):
    organization, other = stale_world(sync)

    # Then the count covers the organization, not the page
    assert stale_count(organization) == 1
    assert stale_count(organization, limit="1") == 1
    assert stale_count(other, EVE) == 1


def test_the_organization_wide_count_out_of_sync_includes_those_stale_for_less_than_15_minutes(sync):
    organization, other = stale_world(sync)

    # The refusing and the silent station, on whatever page; the synced one is not counted
    assert station_list(organization)["out_of_sync_total"] == 2
    assert station_list(organization, limit="1")["out_of_sync_total"] == 2
    assert station_list(other, EVE)["out_of_sync_total"] == 1


def test_the_sweep_reports_stale_stations_as_a_metric(sync, capsys):
    stale_world(sync)
    capsys.readouterr()

    run_sweep()

    assert metric(capsys.readouterr().out, "StaleStations") == [2.0]


def test_the_daily_digest_lists_each_organizations_stale_stations_to_its_own_admins_once(sync):
    organization, other = stale_world(sync)

    # When the digest runs, twice the same day
    run_digest()
    run_digest()

    # Then each organization's admins get one email listing exactly their stale stations, with the
    # station's last answer
    (ada,) = sent_to(ADA)
    assert "CP-REFUSING" in ada["text"] and "Failed" in ada["text"]
    assert "CP-SILENT" not in ada["text"] and "CP-SYNCED" not in ada["text"]
    assert "CP-HIDDEN" not in ada["text"] and "Secret" not in ada["text"] and "Secret" not in ada["html"]
    (eve,) = sent_to(EVE)
    assert "CP-HIDDEN" in eve["text"] and "Secret <Depot>" in eve["text"] and "no answer since" in eve["text"]
    assert "Secret &lt;Depot&gt;" in eve["html"] and "<Depot>" not in eve["html"]
    assert "CP-REFUSING" not in eve["text"]
    # each with a link to its organization's stations in the console
    assert f'href="{CONSOLE_URL}/#/organizations/{organization}/stations"' in ada["html"]


def test_no_digest_when_nothing_is_stale(sync):
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    run_digest()

    assert sent_to(ADA) == []
