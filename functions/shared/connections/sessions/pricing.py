"""A session's price and cost. The price is fixed at the start: the driver's groups at that station at that
moment decide it with the very decision the map shows (stations.policy.decide: the cheapest of the
driver's open groups, or everyone else's rule), and everyone else's price then is kept beside it, for the
discount given. The cost is worked out once the session ended. No I/O."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from connections.memberships.state_machine import Status
from connections.stations.policy import EVERYONE, Price, Rules, decide, minor_unit

WH_PER_KWH = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class Applied:
    """The price that applies to a session, and whose it is (group None: everyone else's rule, or no
    price at all)."""

    price: Price | None  # None: the station publishes no price for this driver, so the session is free
    everyone: Price | None  # everyone else's price then (None: members only, or no price)
    group_connection_id: str | None = None
    group_name: str | None = None


def applied(
    rules: Rules | None, memberships: Mapping[str, Status], names: Mapping[str, str], local: datetime
) -> Applied:
    """The price for a driver with these memberships (by connection) at a station with `rules` (None: no
    policy) at `local`, the station's local time; `names` of the connections, for the record."""
    mine = decide(rules, memberships, True, local)
    everyone = decide(rules, {}, True, local)
    group = mine.group if mine.group != EVERYONE else None
    return Applied(
        mine.price,
        everyone.price if everyone.group == EVERYONE else None,
        group,
        names.get(group) if group else None,
    )


def cost(price: Price | None, energy_wh: int, started: datetime, ended: datetime) -> Decimal:
    """session fee + per kWh x energy + per hour x duration, in decimal, rounded once, at the end, to the
    currency's minor unit (half up, as a till does); free (or no price) is 0. A session whose end is
    before its start (a charger's clock) lasted no time."""
    if price is None or price.free:
        return Decimal(0)
    hours = max(Decimal(0), Decimal(str((ended - started).total_seconds()))) / SECONDS_PER_HOUR
    kwh = Decimal(max(energy_wh, 0)) / WH_PER_KWH
    exact = price.session_fee + price.per_kwh * kwh + price.per_hour * hours
    places = minor_unit(price.currency) if price.currency else None
    return exact.quantize(Decimal(1).scaleb(-(places if places is not None else 2)), ROUND_HALF_UP)
