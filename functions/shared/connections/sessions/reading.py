"""Reading sessions: a driver's own, and an organization's for its admins (listing, CSV, totals).

A session is visible to its driver and to the admins of its station's organization; to anyone else it
does not exist (404), as a station hidden from someone is.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pynamodb.expressions.condition import Condition

from connections.memberships.admins import as_admin
from connections.memberships.items import ConnectionItem, MembershipItem
from connections.platform.caller import Caller
from connections.platform.errors import InvalidInput, NotFound
from connections.platform.table import Found, batch_get, decode_cursor, page
from connections.sessions import export, present, totals, views
from connections.sessions.items import SessionItem
from connections.stations.items import StationItem

# One export or totals covers at most this span of start times: an admin's month, read in a few queries
# within the function's time; a longer period is asked for month by month.
MAX_SPAN = timedelta(days=31)
# The console asks for whole days of the admin's calendar: a month with the clocks going back is an hour
# longer than its days.
CLOCK_CHANGE = timedelta(hours=1)
MAX_EXPORT_ROWS = 10_000  # beyond, narrow the period or the filters
EVERYONE = "everyone"  # the connection filter's value for sessions at everyone else's price


def _driver_partition(caller: Caller) -> str:
    return f"DRIVER#{caller.user_id}#SESSIONS"


def _org_partition(organization_id: str) -> str:
    return f"ORG#{organization_id}#SESSIONS"


def _stations(items: Iterable[SessionItem]) -> Found:
    """The stations of `items`, for their names: one round-trip."""
    keys = [StationItem.key(s) for s in {i.station_id for i in items}]
    return batch_get(keys) if keys else Found()


def my_sessions(caller: Caller, *, limit: int, cursor: str | None) -> views.Sessions:
    partition = _driver_partition(caller)
    results = SessionItem.gsi1.query(
        partition,
        SessionItem.gsi1sk.startswith("SESSION#"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi1", partition),
    )
    items, next_cursor = page(results, cursor)
    stations = _stations(items)
    return views.Sessions(
        items=[present.session_view(i, stations.get(StationItem.key(i.station_id))) for i in items],
        next_cursor=next_cursor,
    )


def my_session(caller: Caller, session_id: str) -> views.Session:
    station_id, transaction_id = present.parse_session_id(session_id)
    key = SessionItem.key(station_id, transaction_id)
    found = batch_get([key, StationItem.key(station_id)])
    item = found.get(key)
    if item is None or item.driver_id != caller.user_id:
        raise NotFound(present.NO_SUCH_SESSION)
    return present.session_view(item, found.get(StationItem.key(station_id)))


def _drivers_emails(organization_id: str, items: list[SessionItem]) -> dict[str, str]:
    """The address of each driver of `items` that the organization knows: from their membership (or
    request) of one of its connections; a verified one first."""
    drivers = {i.driver_id for i in items if i.driver_id}
    if not drivers:
        return {}
    connections = ConnectionItem.gsi1.query(
        f"ORG#{organization_id}", ConnectionItem.gsi1sk.startswith("CONN#")
    )
    keys = [MembershipItem.key(c.connection_id, d) for c in connections for d in sorted(drivers)]
    emails: dict[str, str] = {}
    for membership in sorted(
        batch_get(keys).of(MembershipItem) if keys else [], key=lambda m: not m.driver_email_verified
    ):
        if membership.driver_email:
            emails.setdefault(membership.driver_id, membership.driver_email)
    return emails


def _org_views(organization_id: str, items: list[SessionItem], stations: Found) -> list[views.Session]:
    emails = _drivers_emails(organization_id, items)
    return [
        present.session_view(
            i, stations.get(StationItem.key(i.station_id)), emails.get(i.driver_id) if i.driver_id else None
        )
        for i in items
    ]


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _org_query(
    organization_id: str,
    started_from: datetime | None,
    started_to: datetime | None,
    station_id: str | None,
    connection_id: str | None,
    **options,
):
    """The organization's sessions newest first, started in [from, to), of a station and a connection's
    price (EVERYONE: everyone else's)."""
    started_from = _utc(started_from) if started_from else None
    started_to = _utc(started_to) if started_to else None
    if started_from and started_to and started_from >= started_to:
        raise InvalidInput("'from' must be before 'to'.", fields={"from": "after to"})
    low = f"SESSION#{started_from.isoformat()}" if started_from else "SESSION#"
    # The sort key goes on after the time ("#station#transaction"), so a session started at `to` sorts
    # after this bound: `to` is excluded.
    high = f"SESSION#{started_to.isoformat()}" if started_to else "SESSION$"
    condition: Condition | None = None
    if station_id:
        condition = SessionItem.station_id == station_id
    if connection_id:
        group = (
            SessionItem.group_connection_id.does_not_exist()
            if connection_id == EVERYONE
            else SessionItem.group_connection_id == connection_id
        )
        condition = group if condition is None else condition & group
    return SessionItem.gsi2.query(
        _org_partition(organization_id),
        SessionItem.gsi2sk.between(low, high),
        filter_condition=condition,
        scan_index_forward=False,
        **options,
    )


def org_sessions(
    caller: Caller,
    organization_id: str,
    *,
    started_from: datetime | None,
    started_to: datetime | None,
    station_id: str | None,
    connection_id: str | None,
    limit: int,
    cursor: str | None,
) -> views.Sessions:
    as_admin(caller, organization_id)
    results = _org_query(
        organization_id,
        started_from,
        started_to,
        station_id,
        connection_id,
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi2", _org_partition(organization_id)),
    )
    items, next_cursor = page(results, cursor)
    return views.Sessions(items=_org_views(organization_id, items, _stations(items)), next_cursor=next_cursor)


def org_session(caller: Caller, organization_id: str, session_id: str) -> views.Session:
    station_id, transaction_id = present.parse_session_id(session_id)
    key = SessionItem.key(station_id, transaction_id)
    found = as_admin(caller, organization_id, key, StationItem.key(station_id))
    item = found.get(key)
    if item is None or item.organization_id != organization_id:
        raise NotFound(present.NO_SUCH_SESSION)
    return _org_views(organization_id, [item], found)[0]


def _span(started_from: datetime, started_to: datetime) -> None:
    # one with an offset, one without: both UTC
    if _utc(started_to) - _utc(started_from) > MAX_SPAN + CLOCK_CHANGE:
        raise InvalidInput(
            f"Ask for at most {MAX_SPAN.days} days at a time, e.g. one month.", fields={"to": "too far from"}
        )


def org_sessions_csv(
    caller: Caller,
    organization_id: str,
    *,
    started_from: datetime,
    started_to: datetime,
    station_id: str | None,
    connection_id: str | None,
) -> str:
    as_admin(caller, organization_id)
    _span(started_from, started_to)
    items: list[SessionItem] = []
    for item in _org_query(organization_id, started_from, started_to, station_id, connection_id):
        if len(items) == MAX_EXPORT_ROWS:
            raise InvalidInput(
                f"More than {MAX_EXPORT_ROWS:,} sessions match: export a shorter period or one station "
                "or connection at a time.",
                fields={"from": "too many sessions"},
            )
        items.append(item)
    return export.to_csv(_org_views(organization_id, items, _stations(items)))


def org_totals(
    caller: Caller, organization_id: str, *, started_from: datetime, started_to: datetime
) -> views.Totals:
    as_admin(caller, organization_id)
    _span(started_from, started_to)
    # PynamoDB's query follows LastEvaluatedKey page after page.
    items = _org_query(organization_id, started_from, started_to, None, None)
    return views.Totals(
        started_from=started_from, started_to=started_to, connections=totals.per_connection(items)
    )
