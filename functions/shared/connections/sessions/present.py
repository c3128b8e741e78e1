"""Sessions as their driver and admins see them, and the session id of the API's URLs."""

import re
from decimal import Decimal

from connections.platform.errors import NotFound
from connections.sessions import views
from connections.sessions.items import SessionItem, SessionPrice
from connections.stations.items import StationItem

SEPARATOR = "~"
# The station id's own alphabet (stations.views.StationId) has no "~"; a 2.0.1 transactionId is any text
# of up to 36 characters, so only control characters and "/" are refused.
_SESSION_ID = re.compile(r"^([A-Za-z0-9._-]{1,36})~([^\x00-\x1f\x7f/]{1,36})$")
NO_SUCH_SESSION = "There is no such session, or it is not yours to see."


def session_id(station_id: str, transaction_id: str) -> str:
    return f"{station_id}{SEPARATOR}{transaction_id}"


def parse_session_id(value: str) -> tuple[str, str]:
    """(station_id, transaction_id) of a session id; anything else is a session nobody has (404)."""
    match = _SESSION_ID.match(value)
    if match is None:
        raise NotFound(NO_SUCH_SESSION)
    return match.group(1), match.group(2)


def kwh(energy_wh: int | float | None) -> str:
    return str((Decimal(int(energy_wh or 0)) / 1000).quantize(Decimal("0.001")))


def price_view(price: SessionPrice | None) -> views.AppliedPrice | None:
    if price is None:
        return None
    return views.AppliedPrice(
        currency=price.currency, per_kwh=price.per_kwh, per_hour=price.per_hour, session_fee=price.session_fee
    )


def session_view(
    item: SessionItem, station: StationItem | None, driver_email: str | None = None
) -> views.Session:
    return views.Session(
        session_id=session_id(item.station_id, item.transaction_id),
        station_id=item.station_id,
        station_name=station.name if station else None,
        organization_id=item.organization_id,
        transaction_id=item.transaction_id,
        evse_id=int(item.evse_id) if item.evse_id is not None else None,
        connector_id=int(item.connector_id) if item.connector_id is not None else None,
        id_tag=item.id_tag,
        driver_email=driver_email,
        authorized_by=item.authorized_by,
        status=item.status,
        started_at=item.started_at,
        ended_at=item.ended_at,
        energy_kwh=kwh(item.energy_wh),
        group_connection_id=item.group_connection_id,
        group_name=item.group_name,
        price=price_view(item.price),
        cost=item.cost,
        currency=item.currency,
        flags=list(item.flags or []),
    )
