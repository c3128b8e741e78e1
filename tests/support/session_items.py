"""Sessions in the shape connections.sessions.items stores them (the recording from chargers' messages is
built beside this): written into the integration tests' moto, or the local stack's (the browser tests)."""

import itertools
from datetime import UTC, datetime, timedelta

from connections.platform.table import now
from connections.sessions.items import SessionItem, SessionPrice

DRIVER = "driver-1"
_transactions = itertools.count(1)
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def price(
    currency: str = "EUR", per_kwh: str = "0", per_hour: str = "0", session_fee: str = "0"
) -> SessionPrice:
    return SessionPrice(currency=currency, per_kwh=per_kwh, per_hour=per_hour, session_fee=session_fee)


def session_item(
    organization_id: str,
    station_id: str,
    *,
    driver_id: str | None = DRIVER,
    started_at: datetime = T0,
    minutes: int = 60,
    energy_wh: int = 10_000,
    group: tuple[str, str] | None = None,
    price: SessionPrice | None = None,
    cost: str | None = None,
    everyone_cost: str | None = None,
    status: str = "ended",
    transaction_id: str | None = None,
    id_tag: str = "CARD-1",
    flags: list[str] | None = None,
) -> str:
    """A session as the recording stores it, indexed, not saved. `group`: (connection id, name) whose price
    applied, None for everyone else's."""
    transaction_id = transaction_id or str(next(_transactions))
    item = SessionItem(
        *SessionItem.key(station_id, transaction_id),
        station_id=station_id,
        organization_id=organization_id,
        transaction_id=transaction_id,
        connector_id=1,
        id_tag=id_tag,
        driver_id=driver_id,
        authorized_by="online",
        status=status,
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=minutes) if status == "ended" else None,
        meter_start_wh=0,
        energy_wh=energy_wh,
        group_connection_id=group[0] if group else None,
        group_name=group[1] if group else None,
        price=price,
        cost=cost if status == "ended" else None,
        everyone_cost=everyone_cost if status == "ended" else None,
        currency=price.currency if price else None,
        flags=flags or [],
        updated_at=now(),
    )
    item.index()
    return item


def session_id(item: SessionItem) -> str:
    return f"{item.station_id}~{item.transaction_id}"
