"""Where a driver may charge: the map search, a station by id, and the access check ("may I charge here
now, at what price, and if not, why and what to do"); and the same answer for a station's admins about
any driver (the preview).

A station whose policy shows it only to members of some connections does not exist for anyone else:
absent from the map, and 404 by id or access check with the very answer a station that never existed
gets.
"""

from collections.abc import Iterable
from datetime import datetime

from connections.memberships.admins import as_admin
from connections.memberships.items import MembershipItem
from connections.platform.caller import Caller
from connections.platform.errors import InvalidInput, NotFound
from connections.platform.table import now
from connections.stations import access, geo, present
from connections.stations import views as stations_views
from connections.stations.items import AllowListItem, MapStation, PolicyItem, StationItem, map_stations
from connections.stations.manage import station_policy
from connections.stations.policy import Decision, visible

NO_SUCH_STATION = "There is no such station."
NO_SUCH_STATION_HERE = "There is no such station in this organization."
# Index queries a search may make for the stations around a point (the caller's memberships are one more).
MAX_RANGES = 8


def search(
    caller: Caller, lat: float, lng: float, radius_km: float, limit: int
) -> stations_views.StationsNearby:
    """The stations within radius_km of the point that the caller may see, nearest first: the caller's
    memberships (1 query), the index ranges around the point (at most MAX_RANGES queries), their
    policies (BatchGetItem, 100 a call)."""
    at, radius_m = now(), radius_km * 1000
    try:
        ranges = geo.cover(lat, lng, radius_m, MAX_RANGES)
    except geo.TooWide:
        raise InvalidInput(
            "This radius is too large here; search a smaller one.", fields={"radius_km": "too large here"}
        ) from None
    who = access.driver(caller.user_id, at)
    near: list[tuple[float, MapStation]] = []
    for cell in ranges:
        for station in map_stations(cell.partition, cell.low, cell.high):
            distance = geo.distance_m(lat, lng, station.latitude, station.longitude)
            if distance <= radius_m:
                near.append((distance, station))
    policies = access.Policies()
    policies.read(s.policy_id for _, s in near)
    shown = []
    for distance, station in sorted(near, key=lambda found: (found[0], found[1].station_id)):
        rules = policies.rules(station.policy_id)
        if not visible(rules, who.active):
            continue
        shown.append(present.on_map(station, access.decision(station, rules, who, at), distance))
        if len(shown) > limit:
            break
    return stations_views.StationsNearby(items=shown[:limit], more=len(shown) > limit)


def _visible_station(caller: Caller, station_id: str, at: datetime):
    """The station, its policy's rules and the caller, or NotFound, the same for a hidden station."""
    try:
        station = StationItem.get(*StationItem.key(station_id))
    except StationItem.DoesNotExist:
        raise NotFound(NO_SUCH_STATION) from None
    policies = access.Policies()
    rules = policies.rules(station.policy_id)
    who = access.driver(caller.user_id, at)
    if not visible(rules, who.active):
        raise NotFound(NO_SUCH_STATION)
    return station, policies, rules, who


def get_station(caller: Caller, station_id: str) -> stations_views.StationOnMap:
    at = now()
    station, _, rules, who = _visible_station(caller, station_id, at)
    if station.latitude is None or station.longitude is None:
        raise NotFound(NO_SUCH_STATION)  # not on the map
    return present.on_map(station, access.decision(station, rules, who, at), None)


def _answer(station: StationItem, policy: PolicyItem | None, decision: Decision) -> dict:
    return {
        "station_id": station.station_id,
        "may_charge": decision.allowed,
        "reason": str(decision.reason),
        "message": access.words(policy, decision),
        "ocpp_status": decision.ocpp,
        "ocpp16_status": decision.ocpp16,
        "price": present.price_view(decision.price),
        "local_time": decision.local_time,
        "opens_at": decision.opens_at,
        "until": decision.until,
    }


def check_access(caller: Caller, station_id: str) -> stations_views.AccessCheck:
    at = now()
    station, policies, rules, who = _visible_station(caller, station_id, at)
    policy = policies.item(station.policy_id) if station.policy_id else None
    return stations_views.AccessCheck(**_answer(station, policy, access.decision(station, rules, who, at)))


def preview(
    caller: Caller,
    organization_id: str,
    station_id: str,
    driver_id: str | None = None,
    email: str | None = None,
) -> stations_views.AccessPreview:
    """What a driver (by id, or by the email address they asked with) would get at the organization's
    station now. Only the driver's memberships in the policy's connections count (all of them the
    organization's), and cards are not checked: an admin learns nothing of the driver beyond their
    organization. An address none of those connections was asked from is previewed as a driver without a
    membership (driver_id null), whether or not someone has it: see docs/decisions/0034."""
    if (driver_id is None) == (email is None):
        one = "give either driver or email"
        raise InvalidInput(
            "Say whom to preview: a driver's id or email address.", fields={"driver": one, "email": one}
        )
    at = now()
    found = as_admin(caller, organization_id, StationItem.key(station_id))
    station = found.get(StationItem.key(station_id))
    if station is None or station.organization_id != organization_id:
        raise NotFound(NO_SUCH_STATION_HERE)
    found = station_policy(station)
    policy = found.get(PolicyItem.key(station.policy_id)) if station.policy_id else None
    rules = access.rules_of(policy)
    own = set(rules.connection_ids) | set(rules.visible_to or ()) if rules else set()
    if email is not None:
        driver_id = driver_with_address(email, _requests_from(own, email))
    memberships = access.driver(driver_id, at).memberships if driver_id else {}
    who = access.Driver({c: s for c, s in memberships.items() if c in own}, has_card=True)
    answer = _answer(station, policy, access.decision(station, rules, who, at))
    return stations_views.AccessPreview(
        **answer,
        driver_id=driver_id,
        email=email,
        visible=visible(rules, who.active),
        effective_policy=present.policy_view(policy, AllowListItem.sequence(found, policy.policy_id))
        if policy
        else None,
    )


def _requests_from(connection_ids: Iterable[str], email: str) -> list[MembershipItem]:
    """The memberships (any status) of these connections asked with `email` (stored lowercase, as the
    sign-in claim is read): one query per connection, sorted for a stable answer."""
    found: list[MembershipItem] = []
    for connection_id in sorted(connection_ids):
        pk, members = MembershipItem.key(connection_id, "")  # every driver's sort key starts so
        found += MembershipItem.query(
            pk, MembershipItem.sk.startswith(members), filter_condition=MembershipItem.driver_email == email
        )
    return found


def driver_with_address(email: str, requests: Iterable[MembershipItem]) -> str | None:
    """Whose requests carry `email`: a driver whose address is verified before one who merely claims it,
    then the latest to ask; None when nobody did."""
    matching = [m for m in requests if (m.driver_email or "").lower() == email.lower()]
    if not matching:
        return None
    return max(matching, key=lambda m: (m.driver_email_verified, m.requested_at)).driver_id
