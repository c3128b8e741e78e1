"""The daily digest of stale stations: each organization's admins get, once a day and only when some of its
stations have been out of sync for more than stations.stale.STALE_AFTER, the list of those stations with
what each answered last. Only an organization's own stations are listed to its own admins, so a hidden
station's name reaches nobody else."""

from datetime import datetime
from itertools import groupby

from connections.email import ses
from connections.email.dispatch import when
from connections.email.links import console_pages
from connections.email.rendering import Rendered, render
from connections.memberships.items import AdminItem
from connections.platform.table import now
from connections.stations import stale
from connections.stations.items import StationItem

STALE_STATIONS = "stale_stations"  # the email's templates


def send_stale_station_digests(lambda_context=None) -> dict[str, int]:
    """Each organization with stale stations: one email to each of its admins, once per day. The index
    gives them by organization, a page at a time: one organization's are held at once, not all."""
    day = now().date().isoformat()
    emails = organizations = 0
    for organization_id, of_one in groupby(stale.stale_stations(), key=lambda s: s.organization_id):
        stations = list(of_one)
        organizations += 1
        email = render(
            STALE_STATIONS,
            organization=stations[0].organization_name or organization_id,
            link=console_pages().stations(organization_id),
            stations=[_line(s) for s in sorted(stations, key=lambda s: (s.name.lower(), s.station_id))],
            stale_minutes=int(stale.STALE_AFTER.total_seconds() // 60),
        )
        for admin in _admins(organization_id):

            def work(to: str = admin.email, email: Rendered = email) -> str | None:
                return ses.send(to, email)

            ses.once(f"{STALE_STATIONS}#{organization_id}#{admin.email}#{day}", work, lambda_context)
            emails += 1
    return {"organizations": organizations, "emails": emails}


def _admins(organization_id: str) -> list[AdminItem]:
    """Admins whose address someone has signed in with: the list names the organization's stations, hidden
    ones included, so it goes only to a shown address (as the admins' request alerts do)."""
    found = AdminItem.query(f"ORG#{organization_id}", AdminItem.sk.startswith("ADMIN#"))
    return [a for a in found if a.signed_in_at is not None]


def _line(station: StationItem) -> dict:
    if station.last_refusal:
        last_answer = f"refused its list ({station.last_refusal})"
    else:
        heard = max(t for t in (station.stale_since, station.acked_at) if t is not None)
        last_answer = f"no answer since {when(heard)}"
    since: datetime = station.stale_since  # type: ignore[assignment]  # stale stations have it
    return {
        "name": station.name,
        "station_id": station.station_id,
        "stale_since": when(since),
        "last_answer": last_answer,
    }
