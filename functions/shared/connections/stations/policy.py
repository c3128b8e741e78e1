"""An access policy's rules for drivers: who sees its stations, who may charge there and when, at what
price, and, when a driver may not, why, in words a driver understands. No I/O.

A policy's *groups* are its connections (their Active members) and, if the policy has a rule for them,
everyone else (every driver with a registered card). Each group may have hours of use (windows per day of
week, in the station's time zone; none: always) and a price. A driver in several groups gets the best of
them: they may charge while any of their groups is open, at the cheapest price among those open.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from connections.memberships.state_machine import Status

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_DAY = 24 * 60
EVERYONE = "everyone"  # the group of every other driver, beside the policy's connections

# Prices are compared on a reference session: the cheaper one for it is the better price.
REFERENCE_KWH = Decimal(20)
REFERENCE_HOURS = Decimal(2)


# --- Hours of use


def minutes(text: str) -> int:
    """'08:30' -> 510; '24:00' -> 1440 (the end of a day)."""
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def clock(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Window:
    """From `start` to `end` (minutes after midnight) on each of `days` (0 = Monday). An end at or before
    the start ends on the next day: 22:00-06:00 on Friday runs into Saturday morning."""

    days: frozenset[int]
    start: int
    end: int

    @classmethod
    def parse(cls, stored: Mapping) -> "Window":
        return cls(
            frozenset(DAYS.index(d) for d in stored["days"]), minutes(stored["start"]), minutes(stored["end"])
        )

    def stored(self) -> dict:
        return {
            "days": [DAYS[d] for d in sorted(self.days)],
            "start": clock(self.start),
            "end": _end(self.end),
        }

    def covers(self, local: datetime) -> bool:
        minute, day = local.hour * 60 + local.minute, local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or (
            (day - 1) % 7 in self.days and minute < self.end
        )

    def closes(self, local: datetime) -> datetime:
        """When this window, open at `local`, closes."""
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        minute = local.hour * 60 + local.minute
        overnight_from_today = self.start >= self.end and minute >= self.start
        day = midnight + timedelta(days=1 if overnight_from_today or self.end == MINUTES_PER_DAY else 0)
        end = self.end % MINUTES_PER_DAY
        return day.replace(hour=end // 60, minute=end % 60)

    def next_start(self, local: datetime) -> datetime | None:
        """The first moment after `local` at which this window opens (in local's time zone)."""
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + timedelta(days=offset)
            if day.weekday() in self.days:
                start = day.replace(hour=self.start // 60, minute=self.start % 60)
                if start > local:
                    return start
        return None


def _end(minute: int) -> str:
    return "24:00" if minute == MINUTES_PER_DAY else clock(minute)


Hours = tuple[Window, ...] | None  # None: always


def is_open(hours: Hours, local: datetime) -> bool:
    return hours is None or any(w.covers(local) for w in hours)


def closes_at(hours: Hours, local: datetime) -> datetime | None:
    """When a group open at `local` closes (None: it never does)."""
    if hours is None:
        return None
    return max((w.closes(local) for w in hours if w.covers(local)), default=None)


def opens_at(hours: Hours, local: datetime) -> datetime | None:
    """When a group closed at `local` opens next (None: it never does)."""
    starts = [s for w in hours or () if (s := w.next_start(local)) is not None]
    return min(starts, default=None)


# --- Prices

# A fee per session is charged as it is, so it is in the currency's minor unit (EUR cents, whole JPY). A
# rate (per kWh, per hour) is multiplied before anything is charged, and tariffs carry finer rates (0.345
# EUR per kWh): a rate may have two decimals more than the minor unit.
RATE_EXTRA_DECIMALS = 2


def minor_unit(currency: str) -> int | None:
    """The decimals of an ISO 4217 currency (EUR 2, JPY 0, BHD 3); None for a code that is none, or one
    without a minor unit (gold, SDR, the test code), which no price is in."""
    from iso4217 import Currency  # imported on first use: ~40 ms, paid only by requests with a price

    try:
        return Currency(currency).exponent
    except ValueError:
        return None


def decimals(amount: Decimal) -> int:
    """The decimals an amount needs (1.50 and 1.500 need one: zeros at the end change nothing)."""
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: views.Amount is bounded, so never NaN or infinite
    return max(0, -exponent)


@dataclass(frozen=True)
class Price:
    """A group's price: any of per kWh, per hour and a fee per session; all zero is free."""

    currency: str | None = None
    per_kwh: Decimal = Decimal(0)
    per_hour: Decimal = Decimal(0)
    session_fee: Decimal = Decimal(0)

    @classmethod
    def parse(cls, stored: Mapping) -> "Price":
        return cls(
            currency=stored.get("currency"),
            per_kwh=Decimal(str(stored.get("per_kwh", 0))),
            per_hour=Decimal(str(stored.get("per_hour", 0))),
            session_fee=Decimal(str(stored.get("session_fee", 0))),
        )

    def stored(self) -> dict:
        parts = {"per_kwh": self.per_kwh, "per_hour": self.per_hour, "session_fee": self.session_fee}
        return {"currency": self.currency, **{k: str(v) for k, v in parts.items() if v}}

    @property
    def free(self) -> bool:
        return not (self.per_kwh or self.per_hour or self.session_fee)

    @property
    def reference_cost(self) -> Decimal:
        return self.session_fee + REFERENCE_KWH * self.per_kwh + REFERENCE_HOURS * self.per_hour

    def words(self) -> str:
        if self.free:
            return "free"
        unit = f" {self.currency}" if self.currency else ""
        parts = [
            f"{amount}{unit} {what}"
            for amount, what in (
                (self.per_kwh, "per kWh"),
                (self.per_hour, "per hour"),
                (self.session_fee, "per session"),
            )
            if amount
        ]
        return " + ".join(parts)


def latest(times: Iterable[datetime | None]) -> datetime | None:
    """The latest of the times given, where None is never: None if any is None."""
    given = list(times)
    return None if None in given else max(t for t in given if t is not None)


def best(prices: Iterable[Price | None]) -> Price | None:
    """The cheapest of the prices given (for the reference session); None when none is set."""
    return cheapest((None, p) for p in prices)[1]


def cheapest[G](priced: Iterable[tuple[G, Price | None]]) -> tuple[G | None, Price | None]:
    """The group with the cheapest price (for the reference session) and that price, the first of equals;
    (None, None) when no group has a price. The map's price and a session's are this one choice."""
    return min(
        ((group, p) for group, p in priced if p is not None),
        key=lambda found: found[1].reference_cost,
        default=(None, None),
    )


# --- A policy's rules


@dataclass(frozen=True)
class Group:
    hours: Hours = None
    price: Price | None = None

    @classmethod
    def parse(cls, stored: Mapping | None) -> "Group":
        stored = stored or {}
        hours = stored.get("hours")
        price = stored.get("price")
        return cls(
            tuple(Window.parse(w) for w in hours) if hours is not None else None,
            Price.parse(price) if price is not None else None,
        )

    def stored(self) -> dict:
        return {
            "hours": [w.stored() for w in self.hours] if self.hours is not None else None,
            "price": self.price.stored() if self.price else None,
        }


ALWAYS = Group()


@dataclass(frozen=True)
class Rules:
    """What a policy says: its connections (usable by their Active members), a group rule per connection
    (missing: always, no price), everyone else's rule (None: members only), and who sees its stations
    (None: everyone)."""

    connection_ids: tuple[str, ...]
    members: Mapping[str, Group] = field(default_factory=dict)
    everyone: Group | None = None
    visible_to: frozenset[str] | None = None

    @classmethod
    def parse(cls, connection_ids: Iterable[str], stored: Mapping | None, visible_to) -> "Rules":
        stored = stored or {}
        return cls(
            tuple(connection_ids),
            {c: Group.parse(g) for c, g in (stored.get("members") or {}).items()},
            Group.parse(stored["everyone"]) if stored.get("everyone") is not None else None,
            frozenset(visible_to) if visible_to is not None else None,
        )

    def stored(self) -> dict:
        return {
            "members": {c: g.stored() for c, g in self.members.items()},
            "everyone": self.everyone.stored() if self.everyone else None,
        }

    def group(self, connection_id: str) -> Group:
        return self.members.get(connection_id, ALWAYS)

    def limited(self) -> set[str]:
        """The connections whose members may charge only at some hours."""
        return {c for c in self.connection_ids if self.group(c).hours is not None}


def visible(rules: Rules | None, active: set[str]) -> bool:
    """Whether a driver who is an Active member of `active` sees a station with these rules. Whatever a
    driver is shown of stations (the map, a station, the approval email, the delivery count) asks this."""
    return rules is None or rules.visible_to is None or bool(rules.visible_to & active)


# --- May this driver charge here now, and if not, why


class Reason(StrEnum):
    ALLOWED = "allowed"
    NO_CARD = "no_card"
    MEMBERS_ONLY = "members_only"
    REQUEST_PENDING = "request_pending"
    MEMBERSHIP_EXPIRED = "membership_expired"
    MEMBERSHIP_REMOVED = "membership_removed"
    CLOSED_NOW = "closed_now"


# OCPP 2.0.1 AuthorizationStatusEnumType for each reason, and what an OCPP 1.6 station is told (1.6 has no
# NotAtThisLocation, NotAtThisTime nor Unknown: those are Invalid there).
OCPP_201 = {
    Reason.ALLOWED: "Accepted",
    Reason.NO_CARD: "Unknown",
    Reason.MEMBERS_ONLY: "NotAtThisLocation",
    Reason.REQUEST_PENDING: "NotAtThisLocation",
    Reason.MEMBERSHIP_EXPIRED: "Expired",
    Reason.MEMBERSHIP_REMOVED: "Blocked",
    Reason.CLOSED_NOW: "NotAtThisTime",
}
OCPP_16 = {
    "Accepted": "Accepted",
    "Blocked": "Blocked",
    "Expired": "Expired",
    "Unknown": "Invalid",
    "NotAtThisLocation": "Invalid",
    "NotAtThisTime": "Invalid",
}


@dataclass(frozen=True)
class Decision:
    reason: Reason
    local_time: datetime
    price: Price | None = None
    connection_ids: tuple[str, ...] = ()  # the connections the reason is about
    opens_at: datetime | None = None  # closed now: when the driver's first group opens
    opening_group: str | None = None  # closed now: EVERYONE, or the connection that opens first
    until: datetime | None = None  # allowed: when the driver's open groups close (None: they do not)
    group: str | None = None  # whose price `price` is: a connection's id or EVERYONE (None: no price)

    @property
    def allowed(self) -> bool:
        return self.reason is Reason.ALLOWED

    @property
    def open_now(self) -> bool:
        """Open to this driver now (a missing card aside)."""
        return self.reason in (Reason.ALLOWED, Reason.NO_CARD)

    @property
    def ocpp(self) -> str:
        return OCPP_201[self.reason]

    @property
    def ocpp16(self) -> str:
        return OCPP_16[self.ocpp]


def decide(
    rules: Rules | None, memberships: Mapping[str, Status], has_card: bool, local: datetime
) -> Decision:
    """Whether a driver may charge at a station with `rules` (None: a station usable by everyone) at
    `local` (the station's local time). `memberships` are the driver's effective statuses by connection;
    `has_card` whether the driver has a registered card."""
    if rules is None:
        return Decision(Reason.ALLOWED if has_card else Reason.NO_CARD, local)
    active = [c for c in rules.connection_ids if memberships.get(c) is Status.ACTIVE]
    groups = [(c, rules.group(c)) for c in active]
    if rules.everyone is not None:
        groups.append((EVERYONE, rules.everyone))
    open_groups = [(name, g) for name, g in groups if is_open(g.hours, local)]
    if open_groups:
        closing = [closes_at(g.hours, local) for _, g in open_groups]
        group, price = cheapest((name, g.price) for name, g in open_groups)
        return Decision(
            Reason.ALLOWED if has_card else Reason.NO_CARD, local, price, until=latest(closing), group=group
        )
    if groups:
        # Closed to the driver now; the price shown is still the driver's best, and says whose it is (a
        # session the charger lets in anyway, offline or from its list, is priced by it).
        group, price = cheapest((name, g.price) for name, g in groups)
        first, name = min(
            ((at, name) for name, g in groups if (at := opens_at(g.hours, local)) is not None),
            default=(None, None),
        )
        return Decision(
            Reason.CLOSED_NOW,
            local,
            price,
            tuple(active),
            opens_at=first,
            opening_group=name,
            group=group,
        )
    for status, reason in (
        (Status.PENDING, Reason.REQUEST_PENDING),
        (Status.EXPIRED, Reason.MEMBERSHIP_EXPIRED),
        (Status.REMOVED, Reason.MEMBERSHIP_REMOVED),
    ):
        concerned = tuple(c for c in rules.connection_ids if memberships.get(c) is status)
        if concerned:
            return Decision(reason, local, connection_ids=concerned)
    return Decision(Reason.MEMBERS_ONLY, local, connection_ids=rules.connection_ids)


# --- In words


@dataclass(frozen=True)
class ConnectionName:
    name: str
    organization: str
    public: bool


def explain(decision: Decision, names: Mapping[str, ConnectionName]) -> str:
    """What a driver reads: why they may or may not charge, and what to do. `names` has each connection
    the decision is about (an unknown one is left out of the sentence)."""
    known = [names[c] for c in decision.connection_ids if c in names]
    listed = " or ".join(dict.fromkeys(n.name for n in known)) or "a connection"
    organization = known[0].organization if known else "the station's owner"
    match decision.reason:
        case Reason.ALLOWED:
            price = f" Price: {decision.price.words()}." if decision.price else ""
            return f"You may charge here now.{price}"
        case Reason.NO_CARD:
            return "Your card is not registered. Add your charging card in the app (Cards), then charge here."
        case Reason.MEMBERS_ONLY:
            public = [n for n in known if n.public]
            then = (
                f"Ask to join {public[0].name} in the app."
                if public
                else f"Ask {organization} for their connection code."
            )
            return f"This station is reserved for members of {listed} at {organization}. {then}"
        case Reason.REQUEST_PENDING:
            return f"Your request to {listed} is still pending. {organization} has not decided yet."
        case Reason.MEMBERSHIP_EXPIRED:
            return f"Your membership of {listed} at {organization} has expired. Confirm it again in the app."
        case Reason.MEMBERSHIP_REMOVED:
            return (
                f"{organization} ended your membership of {listed}. Ask {organization} if you think this"
                " is a mistake."
            )
        case Reason.CLOSED_NOW:
            who = "Everyone" if decision.opening_group == EVERYONE else "Members"
            now = decision.local_time
            if decision.opens_at is None:
                return f"This station is closed to you; it is {clock(now.hour * 60 + now.minute)}."
            at = decision.opens_at
            when, it_is = clock(at.hour * 60 + at.minute), clock(now.hour * 60 + now.minute)
            if at.date() != now.date():
                when, it_is = f"{DAY_NAMES[at.weekday()]} {when}", f"{DAY_NAMES[now.weekday()]} {it_is}"
            return f"{who} may charge here from {when}; it is {it_is}."
    raise AssertionError(decision.reason)
