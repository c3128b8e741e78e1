"""Sessions as drivers and admins read them (functions/sessions): who sees what (everyone else: 404),
filters, paging, the CSV export and the totals per connection. Sessions are written in the stored shape
(tests/support/sessions.py)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from infra.provision import provision
from tests.support.memberships import (
    DRIVER,
    EVE,
    OTHER_DRIVER,
    all_pages,
    given_active,
    given_connection,
    given_organization,
)
from tests.support.session_items import T0, price
from tests.support.sessions import as_admin, as_driver, csv_export, given_session
from tests.support.stations import as_station_admin, given_station

SHARED_TABLES = True
DAY = timedelta(days=1)
MEMBER_PRICE = price("EUR", per_kwh="0.20", session_fee="0.50")
PUBLIC_PRICE = price("EUR", per_kwh="0.45", session_fee="1.00")


@pytest.fixture(scope="module")
def fleet(shared_tables) -> dict:
    """Ada's organization with a connection DRIVER belongs to, two stations and sessions:
    s1 (DRIVER, member price), s2 (DRIVER, public price, a day later, ST-B), s3 (OTHER_DRIVER, unknown to
    the organization, public price), s4 (DRIVER, active), and Eve's organization with a session of
    DRIVER's at her station."""
    org = given_organization()
    connection = given_connection(org)
    given_active(connection, DRIVER)
    group = (connection["connection_id"], connection["name"])
    given_station(org, "ST-A")
    given_station(org, "ST-B")
    sessions = {
        "s1": given_session(
            org, "ST-A", group=group, price=MEMBER_PRICE, energy_wh=12_345, cost="2.97", everyone_cost="6.56"
        ),
        "s2": given_session(
            org, "ST-B", started_at=T0 + DAY, price=PUBLIC_PRICE, cost="5.50", everyone_cost="5.50"
        ),
        "s3": given_session(
            org,
            "ST-A",
            driver_id=OTHER_DRIVER,
            started_at=T0 + 2 * DAY,
            price=PUBLIC_PRICE,
            cost="10.00",
            everyone_cost="10.00",
            id_tag='=HYPERLINK("x")',
        ),
        "s4": given_session(
            org, "ST-A", started_at=T0 + 3 * DAY, group=group, price=MEMBER_PRICE, status="active"
        ),
    }
    other = given_organization("Elsewhere", admin=EVE)
    provision("ST-E", other)
    body = {"station_id": "ST-E", "name": "Eve's"}
    assert as_station_admin("POST", f"/organizations/{other}/stations", email=EVE, body=body).status == 201
    sessions["eve"] = given_session(other, "ST-E", started_at=T0 + DAY)
    return {"org": org, "other": other, "connection": connection, **sessions}


def ids(items: list[dict]) -> list[str]:
    return [item["session_id"] for item in items]


# --- Drivers


def test_a_driver_sees_their_sessions_newest_first_with_what_applied(fleet):
    answer = as_driver("/me/sessions")
    assert answer.status == 200, answer.body
    assert ids(answer.body["items"]) == [fleet["s4"], fleet["eve"], fleet["s2"], fleet["s1"]]
    first = answer.body["items"][-1]
    assert first["station_name"] == "Charger ST-A"
    assert first["energy_kwh"] == "12.345"
    assert first["group_name"] == "Night shift"
    assert first["price"] == {"currency": "EUR", "per_kwh": "0.20", "per_hour": "0", "session_fee": "0.50"}
    assert (first["cost"], first["currency"], first["status"]) == ("2.97", "EUR", "ended")
    assert first["driver_email"] is None  # a driver's own view carries no address


def test_a_driver_pages_through_their_sessions(fleet):
    items = all_pages(lambda q: as_driver("/me/sessions", query=q), {"limit": 1})
    assert ids(items) == [fleet["s4"], fleet["eve"], fleet["s2"], fleet["s1"]]


def test_a_driver_reads_one_session_and_not_someone_elses(fleet):
    assert as_driver(f"/me/sessions/{fleet['s1']}").body["session_id"] == fleet["s1"]
    assert as_driver(f"/me/sessions/{fleet['s3']}").status == 404  # OTHER_DRIVER's
    assert as_driver(f"/me/sessions/{fleet['s1']}", sub=OTHER_DRIVER).status == 404


@pytest.mark.parametrize(
    "junk", ["nothing", "ST-A~", "~1", "ST%20A~1", "ST-A~999", "a" * 300, "ST-A~1~2~%0A"]
)
def test_a_session_id_that_names_nothing_is_a_404(fleet, junk):
    assert as_driver(f"/me/sessions/{junk}").status == 404
    assert as_admin(f"/organizations/{fleet['org']}/sessions/{junk}").status == 404


# --- Admins


def test_admins_see_their_stations_sessions_with_the_drivers_they_know(fleet):
    answer = as_admin(f"/organizations/{fleet['org']}/sessions")
    assert answer.status == 200, answer.body
    items = answer.body["items"]
    assert ids(items) == [fleet["s4"], fleet["s3"], fleet["s2"], fleet["s1"]]  # not Eve's station's
    emails = {item["session_id"]: item["driver_email"] for item in items}
    assert emails[fleet["s1"]] == f"{DRIVER}@example.com"  # a member of its connection
    assert emails[fleet["s3"]] is None  # a driver the organization does not know: the card only
    assert items[1]["id_tag"] == '=HYPERLINK("x")'


def test_admins_filter_by_time_station_and_connection_and_page(fleet):
    path = f"/organizations/{fleet['org']}/sessions"

    def listed(**query) -> list[str]:
        return ids(all_pages(lambda q: as_admin(path, query=q), {"limit": 1, **query}))

    assert listed(**{"from": (T0 + DAY).isoformat(), "to": (T0 + 3 * DAY).isoformat()}) == [
        fleet["s3"],
        fleet["s2"],
    ]
    assert listed(station_id="ST-B") == [fleet["s2"]]
    assert listed(connection_id=fleet["connection"]["connection_id"]) == [fleet["s4"], fleet["s1"]]
    assert listed(connection_id="everyone") == [fleet["s3"], fleet["s2"]]
    assert listed(**{"from": (T0 + 9 * DAY).isoformat()}) == []
    backwards = as_admin(path, query={"from": (T0 + DAY).isoformat(), "to": T0.isoformat()})
    assert backwards.status == 422 and "from" in backwards.body["fields"]


def test_an_admin_reads_one_session_only_through_its_own_organization(fleet):
    org, other = fleet["org"], fleet["other"]
    assert as_admin(f"/organizations/{org}/sessions/{fleet['s3']}").body["driver_email"] is None
    assert as_admin(f"/organizations/{org}/sessions/{fleet['eve']}").status == 404
    assert as_admin(f"/organizations/{other}/sessions/{fleet['s1']}", email=EVE).status == 404


@pytest.mark.parametrize("who", [{"email": EVE}, {"email": "driver-1@example.com", "sub": DRIVER}])
def test_everyone_else_gets_404_on_an_organizations_sessions(fleet, who):
    org = fleet["org"]
    window = {"from": T0.isoformat(), "to": (T0 + 10 * DAY).isoformat()}
    for path, query in [
        (f"/organizations/{org}/sessions", None),
        (f"/organizations/{org}/sessions/{fleet['s1']}", None),
        (f"/organizations/{org}/sessions/totals", window),
    ]:
        answer = as_admin(path, query=query, **who)
        assert answer.status == 404, (path, answer.body)
    assert csv_export(org, **window, **who).status == 404


# --- CSV


def test_the_csv_export_quotes_and_neutralizes_formulas(fleet):
    answer = csv_export(fleet["org"], **{"from": T0.isoformat(), "to": (T0 + 10 * DAY).isoformat()})
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert isinstance(answer.body, str)
    rows = list(csv.reader(io.StringIO(answer.body, newline="")))
    header, body = rows[0], rows[1:]
    assert header[0] == "Session" and len(body) == 4
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert by_id[fleet["s3"]]["Card"] == '\'=HYPERLINK("x")'  # shown as text, never run
    assert by_id[fleet["s1"]]["Driver"] == f"{DRIVER}@example.com"
    assert by_id[fleet["s1"]]["Energy (kWh)"] == "12.345"
    assert '"\'=HYPERLINK(""x"")"' in answer.body  # RFC 4180: the quote doubled inside a quoted cell
    assert answer.body.endswith("\r\n")


def test_the_csv_export_is_bounded_to_a_month(fleet):
    answer = csv_export(fleet["org"], **{"from": T0.isoformat(), "to": (T0 + 32 * DAY).isoformat()})
    assert answer.status == 422 and "to" in answer.body["fields"]
    missing = csv_export(fleet["org"])
    assert missing.status == 422
    # October in Berlin, as the console asks for it: 31 days of its calendar are 31 days and an hour
    berlin = csv_export(fleet["org"], **{"from": "2026-09-30T22:00:00Z", "to": "2026-10-31T23:00:00Z"})
    assert berlin.status == 200, berlin.body


def test_a_period_given_with_and_without_an_offset_is_read_in_utc(fleet):
    naive_to = (T0 + 10 * DAY).replace(tzinfo=None).isoformat()
    answer = csv_export(fleet["org"], **{"from": T0.isoformat(), "to": naive_to})
    assert answer.status == 200, answer.body
    backwards = csv_export(fleet["org"], **{"from": naive_to, "to": T0.isoformat()})
    assert backwards.status == 422 and "from" in backwards.body["fields"]


# --- Totals


def test_totals_per_connection_with_the_discount_given(fleet):
    answer = as_admin(
        f"/organizations/{fleet['org']}/sessions/totals",
        query={"from": T0.isoformat(), "to": (T0 + 10 * DAY).isoformat()},
    )
    assert answer.status == 200, answer.body
    member, everyone = answer.body["connections"]
    assert member == {
        "connection_id": fleet["connection"]["connection_id"],
        "name": "Night shift",
        "sessions": 2,  # s1 ended, s4 still active (no cost yet)
        "energy_kwh": "22.345",
        "revenue": {"EUR": "2.97"},
        "discount": {"EUR": str(Decimal("6.56") - Decimal("2.97"))},
    }
    assert everyone == {
        "connection_id": None,
        "name": None,
        "sessions": 2,
        "energy_kwh": "20.000",
        "revenue": {"EUR": "15.50"},
        "discount": {"EUR": "0.00"},
    }
    too_long = as_admin(
        f"/organizations/{fleet['org']}/sessions/totals",
        query={"from": T0.isoformat(), "to": (T0 + 40 * DAY).isoformat()},
    )
    assert too_long.status == 422


def test_a_drivers_sessions_stay_out_of_the_partition_the_access_check_reads_whole(fleet):
    # The map, the access check, the cards and the allow lists read a driver's memberships and cards with
    # one query of the whole DRIVER#<driver> partition: a driver's hundreds of sessions must not be in it.
    from connections.platform.table import Item
    from connections.sessions.items import SessionItem

    kinds = {type(item) for item in Item.gsi1.query(f"DRIVER#{DRIVER}")}
    assert kinds and SessionItem not in kinds, kinds
