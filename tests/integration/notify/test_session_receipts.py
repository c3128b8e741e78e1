"""The driver's receipt when a charging session ends: from the table's stream through the notify function
to SES (moto), once per session, to the address the driver gave in their memberships, escaped."""

from datetime import timedelta

from connections.sessions.items import SessionItem
from tests.support.mail import clear_outbox, failed, sent, sent_to
from tests.support.memberships import DRIVER, OTHER_DRIVER, given_active, given_connection, given_organization
from tests.support.session_items import T0, price
from tests.support.sessions import given_session
from tests.support.stations import given_station

DRIVER_EMAIL = f"{DRIVER}@example.com"


def _end(session_id: str, **changes) -> None:
    station_id, transaction_id = session_id.split("~")
    item = SessionItem.get(*SessionItem.key(station_id, transaction_id))
    item.status, item.ended_at = "ended", T0 + timedelta(minutes=75)
    item.energy_wh, item.cost, item.everyone_cost = 12_345, "2.97", "6.56"
    for name, value in changes.items():
        setattr(item, name, value)
    item.save()


def test_a_driver_gets_one_receipt_when_a_session_ends(notify):
    # Given a driver in a connection, and a session at its price that is charging
    org = given_organization("Acme <Fleet>")
    connection = given_connection(org, name='Night <b>shift</b> & "co"')
    given_active(connection, DRIVER)
    given_station(org, "HQ-1", name="HQ garage <bay 1>")
    session = given_session(
        org,
        "HQ-1",
        status="active",
        group=(connection["connection_id"], connection["name"]),
        price=price("EUR", per_kwh="0.20", session_fee="0.50"),
    )
    notify.drain()
    clear_outbox()  # the approval
    notify.drain()
    assert sent() == []  # no receipt while charging
    # When it ends, and its record comes twice (a retried batch), and a later write changes it again
    _end(session)
    records = notify.new_records()
    assert failed(notify.deliver(records + records)) == []
    _end(session, stop_reason="Local")
    notify.drain()
    # Then one receipt, both parts, with what applied and what it cost, escaped in HTML
    (email,) = sent_to(DRIVER_EMAIL)
    assert email["subject"] == "Your charging session at HQ garage <bay 1>: 2.97 EUR"
    for part in (email["text"], email["html"]):
        assert "12.345 kWh" in part and "2.97 EUR" in part and "0.20 EUR per kWh" in part
        assert "1 h 15 min" in part
    assert "HQ garage <bay 1>" in email["text"] and 'Night <b>shift</b> & "co"' in email["text"]
    assert (
        "HQ garage &lt;bay 1&gt;" in email["html"] and "Night &lt;b&gt;shift&lt;/b&gt; &amp;" in email["html"]
    )
    assert "<b>shift" not in email["html"]
    assert "#/sessions" in email["text"]


def test_no_address_no_receipt_and_free_sessions_say_free(notify):
    # Given a driver the service has no address for, and a free session of a driver it has one for
    org = given_organization()
    connection = given_connection(org)
    given_active(connection, DRIVER)
    given_station(org, "HQ-1")
    unknown = given_session(org, "HQ-1", driver_id=OTHER_DRIVER, status="active")
    nobodys = given_session(org, "HQ-1", driver_id=None, status="active", flags=["unknown_card"])
    free = given_session(org, "HQ-1", status="active")
    notify.drain()
    clear_outbox()  # the approval
    # When they end
    _end(unknown)
    _end(nobodys)
    _end(free, cost="0", everyone_cost="0")
    notify.drain()
    # Then only the known driver hears, and the receipt says free
    (email,) = sent()
    assert DRIVER_EMAIL in email["to"]
    assert "Free" in email["subject"] and "Free" in email["text"]
