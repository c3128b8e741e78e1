"""Whether a driver may see and charge at a station, from the table: the driver's memberships and cards,
the station's policy and time zone; connections.stations.policy decides. Shared by the map, the access check,
the admins' preview, online Authorize, the approval email and the delivery count (so it imports nothing of
the HTTP layer)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import overload
from zoneinfo import ZoneInfo

from connections.memberships.changes import state
from connections.memberships.items import MembershipItem
from connections.memberships.state_machine import Status
from connections.platform.table import Found, Item, Key, batch_get
from connections.stations.items import CardItem, MapStation, PolicyItem, StationItem, UnlockItem
from connections.stations.policy import Decision, Rules, decide, visible

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


def authorize_online(station: StationItem, id_tag: str, at: datetime) -> dict:
    """Online Authorize of a card the station's list does not hold as Accepted: the policy's hours of use
    and its rule for everyone else apply at the station's local time. The answer's expiryDate is when the
    driver's hours end, so that a station caching the answer does not accept the card after them."""
    keys = [CardItem.key(id_tag)] + ([PolicyItem.key(station.policy_id)] if station.policy_id else [])
    found = batch_get(keys)
    card = found.get(CardItem.key(id_tag))
    policy = found.get(PolicyItem.key(station.policy_id)) if station.policy_id else None
    if card is None or (station.policy_id and policy is None):
        return {"status": "Invalid"}
    verdict = decision(station, rules_of(policy), driver(card.driver_id, at), at)
    info = {"status": verdict.ocpp16}
    if verdict.allowed and verdict.until:
        info["expiryDate"] = verdict.until.astimezone(ZoneInfo(UTC_ZONE)).isoformat().replace("+00:00", "Z")
    return info
