"""Sessions written straight into the integration tests' table (tests/support/session_items.py), and calls
to the sessions API."""

from functions.sessions.app import handler as sessions_handler
from tests.support.api import Answer, call
from tests.support.memberships import ADA, DRIVER, checked, sub_of
from tests.support.session_items import session_id, session_item


def given_session(organization_id: str, station_id: str, **fields) -> str:
    """A stored session (session_item's fields); its session id."""
    item = session_item(organization_id, station_id, **fields)
    item.save()
    return session_id(item)


def as_driver(path: str, *, sub: str = DRIVER, **kwargs) -> Answer:
    return checked(call(sessions_handler, "GET", path, sub=sub, **kwargs))


def as_admin(path: str, *, email: str = ADA, **kwargs) -> Answer:
    kwargs.setdefault("sub", sub_of(email))
    return checked(call(sessions_handler, "GET", path, email=email, **kwargs))


def csv_export(organization_id: str, *, email: str = ADA, sub: str | None = None, **query) -> Answer:
    """GET .../sessions.csv as the admin: the CSV as text, or an error."""
    return as_admin(
        f"/organizations/{organization_id}/sessions.csv", email=email, sub=sub or sub_of(email), query=query
    )
