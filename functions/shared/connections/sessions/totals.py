"""Totals of an organization's sessions per connection: pure arithmetic in Decimal, no I/O."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from connections.sessions.items import SessionItem
from connections.sessions.present import kwh
from connections.sessions.views import ConnectionTotals


@dataclass
class _Sum:
    name: str | None = None
    sessions: int = 0
    energy_wh: int = 0
    revenue: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    discount: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def _text(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in sorted(amounts.items())}


def per_connection(sessions: Iterable[SessionItem]) -> list[ConnectionTotals]:
    """Sessions and energy of every session; revenue and discount of those with a cost (ended), in their
    currency. Discount = everyone else's cost - the cost (0 for everyone else's own sessions). Connections
    by name, everyone else (connection_id None) last."""
    sums: dict[str | None, _Sum] = defaultdict(_Sum)
    for item in sessions:
        total = sums[item.group_connection_id]
        total.name = item.group_name or total.name
        total.sessions += 1
        total.energy_wh += int(item.energy_wh or 0)
        if item.cost is not None and item.currency:
            cost = Decimal(item.cost)
            total.revenue[item.currency] += cost
            if item.everyone_cost is not None:
                total.discount[item.currency] += Decimal(item.everyone_cost) - cost
    order = sorted(sums, key=lambda c: (c is None, (sums[c].name or "").lower(), c or ""))
    return [
        ConnectionTotals(
            connection_id=connection_id,
            name=sums[connection_id].name,
            sessions=sums[connection_id].sessions,
            energy_kwh=kwh(sums[connection_id].energy_wh),
            revenue=_text(sums[connection_id].revenue),
            discount=_text(sums[connection_id].discount),
        )
        for connection_id in order
    ]
