"""Whether a driver may see and charge at a station, from the table: the driver's memberships and cards,
the station's policy and time zone; connections.stations.policy decides. Shared by the map, the access check,
the admins' preview, online Authorize, the approval email and the delivery count (so it imports nothing of
the HTTP layer); online Authorize for chargers of either OCPP version, with the access check's words."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import overload
from zoneinfo import ZoneInfo

from pynamodb.exceptions import UpdateError

from connections.memberships.changes import state
from connections.memberships.items import ConnectionItem, MembershipItem
from connections.memberships.state_machine import Status
from connections.platform.table import Found, Item, Key, batch_get
from connections.platform.telemetry import logger
from connections.stations.items import (
    AllowEntryItem,
    CardItem,
    MapStation,
    PolicyItem,
    StationItem,
    UnlockItem,
)
from connections.stations.local_list import TagStatus
from connections.stations.policy import ConnectionName, Decision, Reason, Rules, decide, explain, visible

UTC_ZONE = "UTC"


@dataclass(frozen=True)
class Driver:
    memberships: dict[str, Status]  # effective status by connection
    has_card: bool

    @property
    def active(self) -> set[str]:
        return {c for c, s in self.memberships.items() if s is Status.ACTIVE}


def driver(driver_id: str, at: datetime) -> Driver:
    """The driver's memberships and whether they have a card: one query (both share the driver's key)."""
    return driver_of(Item.gsi1.query(f"DRIVER#{driver_id}"), at)


def driver_of(items: Iterable[Item], at: datetime) -> Driver:
    """The driver of the items under the driver's key (memberships and cards)."""
    items = list(items)
    return Driver(
        memberships={
            m.connection_id: state(m).effective_status(at) for m in items if isinstance(m, MembershipItem)
        },
        has_card=any(isinstance(i, CardItem) for i in items),
    )


@overload
def rules_of(policy: PolicyItem) -> Rules: ...
@overload
def rules_of(policy: PolicyItem | None) -> Rules | None: ...
def rules_of(policy: PolicyItem | None) -> Rules | None:
    if policy is None:
        return None
    return Rules.parse(policy.connection_ids, policy.rules, policy.visible_to)


def local_time(station: StationItem | MapStation, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(station.time_zone or UTC_ZONE))


class Policies:
    """Policies read once per request, many at a time (BatchGetItem, 100 keys a call)."""

    def __init__(self) -> None:
        self._found: dict[str, PolicyItem | None] = {}
        self._rules: dict[str, Rules] = {}

    def read(self, policy_ids: Iterable[str | None], also: Iterable[Key] = ()) -> Found:
        """Read the policies not read yet, with the items of the keys `also` in the same calls; returns
        those items."""
        wanted = {PolicyItem.key(p): p for p in policy_ids if p and p not in self._found}
        keys = [*wanted, *also]
        found = batch_get(keys) if keys else Found()
        for key, policy_id in wanted.items():
            self._found[policy_id] = found.pop(key)
        return found

    def rules(self, policy_id: str | None) -> Rules | None:
        """The rules at a station of this policy (None: no policy, usable by everyone). A policy that
        cannot be found hides its stations from everyone: better than showing them to the wrong drivers."""
        if not policy_id:
            return None
        if policy_id not in self._rules:
            self.read([policy_id])
            policy = self._found[policy_id]
            self._rules[policy_id] = rules_of(policy) if policy else Rules((), visible_to=frozenset())
        return self._rules[policy_id]

    def item(self, policy_id: str) -> PolicyItem | None:
        self.read([policy_id])
        return self._found[policy_id]


def shown(unlocks: Iterable[UnlockItem], policies: Policies, active: set[str]) -> list[UnlockItem]:
    """The policies a connection unlocks whose stations a driver who is an Active member of `active` sees
    (stations.policy.visible, as on the map): the only ones the driver is told of, by email or by count."""
    return [u for u in unlocks if visible(policies.rules(u.policy_id), active)]


def decision(station: StationItem | MapStation, rules: Rules | None, who: Driver, at: datetime) -> Decision:
    return decide(rules, who.memberships, who.has_card, local_time(station, at))


@dataclass(frozen=True)
class Online:
    """An online answer to a charger: an OCPP 2.0.1 AuthorizationStatus (dialects.py says it in 1.6), until
    when an acceptance holds, and for a refusal the sentence GET /stations/{id}/access gives."""

    status: str
    until: datetime | None = None
    message: str | None = None


@dataclass(frozen=True)
class Admission:
    """Online Authorize's answer and what it was decided from, for a session's record and price."""

    online: Online
    card: CardItem | None
    listed: bool  # the card is on the station's list, Accepted and unexpired
    rules: Rules | None  # None: the station has no policy, usable by every driver with a registered card
    who: Driver | None  # the card's driver in the policy's connections; None without a card
    names: dict[str, ConnectionName]  # of the policy's connections the driver is in


def card_key(id_tag: str) -> Key[CardItem]:
    """The card of an idTag a charger sent: idTags are case-insensitive, cards are stored upper case."""
    return CardItem.key(id_tag.upper())


def authorize(station: StationItem, id_tag: str, at: datetime, read: Found, *, why: bool) -> Online:
    """Online Authorize, one decision for both OCPP versions (admit)."""
    return admit(station, id_tag, at, read, why=why).online


def admit(station: StationItem, id_tag: str, at: datetime, read: Found, *, why: bool) -> Admission:
    """Online Authorize: a card the station's list holds as Accepted (and not expired) is accepted as the
    list says; any other card gets the decision the access check gives its driver (hours of use at the
    station's local time, everyone else's rule), and with `why` its sentence. An acceptance holds until the
    driver's hours end, so that a charger caching it does not accept the card after them.

    The card is among `read`, the items read with the station (calls.reads); with a policy, one more call
    (_at_policy) reads the rest: a charger's message costs two calls before it writes."""
    id_tag = id_tag.upper()
    key = card_key(id_tag)
    # Read with the station (calls.reads), unless the frame carried another version's card field too
    card = read.get(key) if read.read(key) else batch_get([key]).get(key)
    entry, rules, who, names = (
        _at_policy(station, id_tag, card, at)
        if station.policy_id
        else (None, None, Driver({}, has_card=True) if card else None, {})
    )
    listed = (
        entry is not None
        and entry.status == TagStatus.ACCEPTED
        and not (entry.expires_at and entry.expires_at <= at)
    )

    def admission(online: Online) -> Admission:
        return Admission(online, card, listed, rules, who, names)

    if listed:
        return admission(Online("Accepted", entry.expires_at if entry else None))
    if who is None:  # no card: the station's list alone could have let it in
        return admission(
            Online("Unknown", message=explain(Decision(Reason.NO_CARD, local_time(station, at)), {}))
        )
    if rules is None:
        return admission(Online("Accepted"))  # usable by every driver with a registered card
    verdict = decision(station, rules, who, at)
    if verdict.allowed:
        return admission(Online("Accepted", verdict.until))
    if not why:
        return admission(Online(verdict.ocpp))
    # A driver who may not see the station is not told the names of the connections it is reserved for.
    told = names if visible(rules, who.active) else {}
    return admission(Online(verdict.ocpp, message=explain(verdict, told)))


def _at_policy(
    station: StationItem, id_tag: str, card: CardItem | None, at: datetime
) -> tuple[AllowEntryItem | None, Rules, Driver | None, dict[str, ConnectionName]]:
    """The card's entry on the station's list, the policy's rules, and the card's driver as the policy sees
    them (their memberships of PolicyItem.deciding, with those connections' names), in one call: the
    memberships are keyed by the station's copy of the policy's connections (policy_connections), read
    with the policy. The copy is a hint: what the policy holds decides; connections the copy lacks cost one
    more read, and a copy that differs is corrected (docs/decisions/0044)."""
    policy_id = station.policy_id
    assert policy_id is not None
    copy = list(station.policy_connections or [])
    driver_id = card.driver_id if card else None
    policy_key, entry_key = PolicyItem.key(policy_id), AllowEntryItem.key(policy_id, id_tag)
    found = [batch_get([policy_key, entry_key, *_deciding_keys(copy, driver_id)])]
    policy = found[0].get(policy_key)
    # A policy that cannot be found lets nobody in (as Policies.rules hides its stations).
    rules = rules_of(policy) if policy else Rules((), visible_to=frozenset())
    deciding = policy.deciding() if policy else []
    missing = [c for c in deciding if c not in copy]
    if missing and driver_id is not None:
        found.append(batch_get(_deciding_keys(missing, driver_id)))
    if policy is not None and deciding != sorted(copy):
        _correct_copy(station, deciding)
    if driver_id is None:
        return found[0].get(entry_key), rules, None, {}
    names = {
        c.connection_id: ConnectionName(c.name, c.organization_name, c.public and c.enabled)
        for f in found
        for c in f.of(ConnectionItem)
        if c.connection_id in deciding
    }
    memberships = [m for f in found for m in f.of(MembershipItem) if m.connection_id in deciding]
    return (
        found[0].get(entry_key),
        rules,
        Driver(driver_of(memberships, at).memberships, has_card=True),
        names,
    )


def _deciding_keys(connection_ids: list[str], driver_id: str | None) -> list[Key]:
    """The driver's memberships of these connections, and their names (none without a driver)."""
    if driver_id is None:
        return []
    return [MembershipItem.key(c, driver_id) for c in connection_ids] + [
        ConnectionItem.key(c) for c in connection_ids
    ]


def _correct_copy(station: StationItem, deciding: list[str]) -> None:
    """The station's copy of its policy's connections made what the policy holds, unless an admin gave the
    station another policy meanwhile (that change wrote its copy). Only this attribute is written: the
    delivery's writes, conditional on the request in flight, are not disturbed."""
    try:
        StationItem(*StationItem.key(station.station_id)).update(
            actions=[StationItem.policy_connections.set(deciding)],
            condition=StationItem.policy_id == station.policy_id,
        )
    except UpdateError as error:
        # A hint, not worth the charger's answer: a transaction holding the item (TransactionConflict) or
        # throttling leaves it to the next message.
        if error.cause_response_code != "ConditionalCheckFailedException":
            logger.warning("station's copy of its policy's connections not corrected", exc_info=error)


def words(policy: PolicyItem | None, verdict: Decision) -> str:
    """What a driver reads about a decision (policy.explain), with the names of the connections it is
    about (None: without them)."""
    names: dict[str, ConnectionName] = {}
    if policy is not None and verdict.connection_ids:
        found = batch_get([ConnectionItem.key(c) for c in verdict.connection_ids])
        names = {
            c.connection_id: ConnectionName(c.name, c.organization_name, c.public and c.enabled)
            for c in found.of(ConnectionItem)
        }
    return explain(verdict, names)
