"""An organization's sessions as CSV (RFC 4180, by the csv module), safe to open in a spreadsheet."""

import csv
import io
from collections.abc import Iterable

from connections.sessions.views import Session

COLUMNS = [
    ("session_id", "Session"),
    ("station_id", "Station id"),
    ("station_name", "Station"),
    ("connector_id", "Connector"),
    ("evse_id", "EVSE"),
    ("id_tag", "Card"),
    ("driver_email", "Driver"),
    ("authorized_by", "Authorized by"),
    ("status", "Status"),
    ("started_at", "Started (UTC)"),
    ("ended_at", "Ended (UTC)"),
    ("energy_kwh", "Energy (kWh)"),
    ("group_name", "Group"),
    ("price_per_kwh", "Price per kWh"),
    ("price_per_hour", "Price per hour"),
    ("price_session_fee", "Session fee"),
    ("cost", "Cost"),
    ("currency", "Currency"),
    ("flags", "Flags"),
]
# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): station names, cards and group
# names are typed by people. A leading apostrophe makes the spreadsheet show it as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cells(session: Session) -> dict[str, object]:
    row: dict[str, object] = session.model_dump(mode="json")
    price = session.price
    row["price_per_kwh"] = price.per_kwh if price else None
    row["price_per_hour"] = price.per_hour if price else None
    row["price_session_fee"] = price.session_fee if price else None
    row["flags"] = " ".join(session.flags)
    return row


def to_csv(sessions: Iterable[Session]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180's line break; the module quotes as needed
    writer.writerow([title for _, title in COLUMNS])
    for session in sessions:
        cells = _cells(session)
        writer.writerow([neutralized(cells[name]) for name, _ in COLUMNS])
    return out.getvalue()
