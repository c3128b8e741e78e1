"""What a charging session's receipt says, in words: pure, no I/O (dispatch.py sends it)."""

from datetime import datetime, timedelta
from decimal import Decimal

from connections.sessions.items import SessionItem
from connections.sessions.present import kwh


def _when(at: datetime | None) -> str | None:
    return at.strftime("%-d %B %Y, %H:%M UTC") if at else None


def duration(length: timedelta) -> str:
    minutes = max(0, int(length.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _amount(value: str, currency: str | None) -> str:
    return f"{value} {currency}" if currency else value


def price_lines(session: SessionItem) -> list[str]:
    """The price that applied, one line per part that is not zero; empty when the session was free."""
    price = session.price
    if price is None:
        return []
    parts = [(price.session_fee, "per session"), (price.per_kwh, "per kWh"), (price.per_hour, "per hour")]
    return [f"{_amount(v, price.currency)} {unit}" for v, unit in parts if Decimal(v or "0") != 0]


def receipt_values(session: SessionItem, station_name: str) -> dict:
    free = session.cost is None or Decimal(session.cost) == 0
    return {
        "station": station_name,
        "started_at": _when(session.started_at),
        "ended_at": _when(session.ended_at),
        "duration": duration(session.ended_at - session.started_at)
        if session.started_at and session.ended_at
        else None,
        "energy": f"{kwh(session.energy_wh)} kWh",
        "group": session.group_name,
        "prices": price_lines(session),
        "cost": "Free" if free else _amount(session.cost or "0", session.currency),
    }
