"""Whether a driver may charge at a station, from the table: the driver's memberships and cards, the
station's policy and time zone; connections.domain.policy decides. Shared by the map, the access check,
the admins' preview and online Authorize (so it imports nothing of the HTTP layer)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from connections.domain.membership import Status
from connections.domain.policy import Decision, Rules, decide
from connections.memberships import state
from connections.store import (
    CardItem,
    Item,
    MapStation,
    MembershipItem,
    PolicyItem,
    StationItem,
    batch_get,
)

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
    items = list(Item.gsi1.query(f"DRIVER#{driver_id}"))
    return Driver(
        memberships={
            m.connection_id: state(m).effective_status(at) for m in items if isinstance(m, MembershipItem)
        },
        has_card=any(isinstance(i, CardItem) for i in items),
    )


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

    def read(self, policy_ids: Iterable[str | None]) -> None:
        wanted = [p for p in dict.fromkeys(policy_ids) if p and p not in self._found]
        for start in range(0, len(wanted), 100):
            found = batch_get([PolicyItem.key(p) for p in wanted[start : start + 100]])
            for policy_id in wanted[start : start + 100]:
                self._found[policy_id] = found.get(PolicyItem.key(policy_id))

    def rules(self, station: StationItem | MapStation) -> Rules | None:
        """The rules at a station (None: no policy, usable by everyone). A policy that cannot be found
        hides the station from everyone: better than showing it to the wrong drivers."""
        if not station.policy_id:
            return None
        if station.policy_id not in self._rules:
            self.read([station.policy_id])
            policy = self._found[station.policy_id]
            self._rules[station.policy_id] = rules_of(policy) if policy else Rules((), visible_to=frozenset())
        return self._rules[station.policy_id]

    def item(self, policy_id: str) -> PolicyItem | None:
        self.read([policy_id])
        return self._found[policy_id]


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
