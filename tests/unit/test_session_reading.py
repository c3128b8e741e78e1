"""The pure parts of reading sessions: the session id in URLs, CSV cells, totals in Decimal."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from connections.email import notices, receipts
from connections.platform.errors import NotFound
from connections.sessions import export, present, totals
from connections.sessions.items import SessionItem, SessionPrice
from connections.sessions.views import Session


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("ST-1~42", ("ST-1", "42")), ("a.b_c~tx-9f~x", ("a.b_c", "tx-9f~x")), ("S~ é", ("S", " é"))],
)
def test_a_session_id_names_a_station_and_a_transaction(value, parsed):
    assert present.parse_session_id(value) == parsed
    assert present.session_id(*parsed) == value


@pytest.mark.parametrize(
    "junk", ["", "ST-1", "~42", "ST-1~", "ST 1~42", "ST-1~a/b", "ST-1~\n", "S" * 37 + "~1"]
)
def test_anything_else_is_no_session(junk):
    with pytest.raises(NotFound):
        present.parse_session_id(junk)


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_made_text(typed, cell):
    assert export.neutralized(typed) == cell


def _session(**fields) -> Session:
    base = dict(
        session_id="S~1",
        station_id="S",
        station_name='Depot, "north"',
        organization_id="o",
        transaction_id="1",
        evse_id=None,
        connector_id=1,
        id_tag="T",
        driver_email=None,
        authorized_by="online",
        status="ended",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        ended_at=None,
        energy_kwh="1.000",
        group_connection_id=None,
        group_name=None,
        price=None,
        cost="0",
        currency=None,
        flags=["unknown_card", "no_start"],
    )
    return Session(**{**base, **fields})


def test_the_csv_has_a_header_and_one_rfc_4180_row_per_session():
    text = export.to_csv([_session(), _session(session_id="S~2", group_name="-cheap")])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [title for _, title in export.COLUMNS]
    assert rows[1][2] == 'Depot, "north"' and '"Depot, ""north"""' in text
    assert rows[1][-1] == "unknown_card no_start"
    assert rows[2][12] == "'-cheap"
    assert text.count("\r\n") == 3


def _item(group: str | None, cost: str | None, everyone: str | None, wh: int, currency: str = "EUR"):
    return SessionItem(
        group_connection_id=group,
        group_name=group and group.upper(),
        cost=cost,
        everyone_cost=everyone,
        energy_wh=wh,
        currency=currency if cost else None,
    )


def test_totals_add_up_in_decimal_per_connection_and_currency():
    found = totals.per_connection(
        [
            _item(None, "0.10", "0.10", 1),
            _item("b", "0.10", "0.30", 1500),
            _item("b", "0.20", "0.30", 1500),
            _item("b", "1.00", "2.00", 0, currency="GBP"),
            _item("a", None, None, 250),  # still charging: counted, no revenue yet
            _item("b", "0", "0.30", 1),  # free to members
        ]
    )
    assert [t.connection_id for t in found] == ["a", "b", None]
    a, b, everyone = found
    assert (a.sessions, a.energy_kwh, a.revenue, a.discount) == (1, "0.250", {}, {})
    # 0.1 + 0.2 is 0.30000000000000004 in floats; in Decimal it is 0.30.
    assert b.revenue == {"EUR": "0.30", "GBP": "1.00"}
    assert b.discount == {"EUR": "0.60", "GBP": "1.00"}
    assert (b.sessions, b.energy_kwh) == (4, "3.001")
    assert (everyone.revenue, everyone.discount) == ({"EUR": "0.10"}, {"EUR": "0.00"})


@pytest.mark.parametrize(
    ("old", "new", "due"),
    [(None, "ended", True), ("active", "ended", True), ("ended", "ended", False), (None, "active", False)],
)
def test_a_receipt_is_due_once_when_a_session_ends(old, new, due):
    assert notices.receipt_due(old, new) is due


def test_a_receipt_names_the_parts_of_the_price_and_says_free():
    session = SessionItem(
        started_at=datetime(2026, 1, 1, 8, tzinfo=UTC),
        ended_at=datetime(2026, 1, 1, 8, 59, 59, tzinfo=UTC),
        energy_wh=7,
        price=SessionPrice(currency="EUR", per_kwh="0", per_hour="1.50", session_fee="0.00"),
        cost="0.00",
        currency="EUR",
    )
    values = receipts.receipt_values(session, "HQ")
    assert (values["duration"], values["energy"], values["cost"]) == ("59 min", "0.007 kWh", "Free")
    assert values["prices"] == ["1.50 EUR per hour"]
    assert receipts.duration(timedelta(hours=2, minutes=5)) == "2 h 5 min"


def test_a_session_whose_start_never_came_is_indexed_at_its_end_so_periods_find_it():
    ended = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    item = SessionItem(
        station_id="ST-1", organization_id="O", transaction_id="7", driver_id="d", ended_at=ended
    )
    item.index()
    assert item.gsi2sk == f"SESSION#{ended.isoformat()}#ST-1#7"
    assert item.gsi1sk == item.gsi2sk
