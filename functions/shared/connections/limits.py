"""Stored side of the rate limits (domain.ratelimit decides): recent misses per caller and per address."""

import time
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import size

from connections.domain import ratelimit
from connections.errors import TooManyRequests
from connections.store import Item, LookupMissesItem, transaction

# A person may miss a few times; an address (many people behind one NAT) a few times more.
PER_USER = ratelimit.Limit(limit=10, window=15 * 60)
PER_ADDRESS = ratelimit.Limit(limit=100, window=15 * 60)


def keys(user_id: str, address: str, scope: str = "lookup") -> dict[tuple[str, str], ratelimit.Limit]:
    return {
        LookupMissesItem.key(f"{scope}#user#{user_id}"): PER_USER,
        LookupMissesItem.key(f"{scope}#ip#{address}"): PER_ADDRESS,
    }


def check(found: dict[tuple[str, str], Item], limited: dict[tuple[str, str], ratelimit.Limit]) -> None:
    """TooManyRequests (with Retry-After) when any of the callers' limits is reached."""
    now = int(time.time())
    for key, rule in limited.items():
        item = found.get(key)
        wait = ratelimit.retry_after(list(item.misses), now, rule) if item else None
        if wait:
            raise TooManyRequests(
                f"Too many connection codes that match nothing. Try again in {wait} seconds,"
                " or ask the organization for its code.",
                retry_after=wait,
            )


def record_miss(found: dict[tuple[str, str], Item], limited: dict[tuple[str, str], ratelimit.Limit]) -> None:
    """Add a miss for every limited caller, in one transaction; a long list is trimmed to the window."""
    now = int(time.time())
    try:
        _write_miss(found, limited, now, trim=True)
    except TransactWriteError:
        # Somebody else trimmed or added meanwhile: append without trimming, which cannot conflict.
        _write_miss(found, limited, now, trim=False)


def _write_miss(found, limited, now: int, trim: bool) -> None:
    with transaction() as write:
        for key, rule in limited.items():
            item = found.get(key)
            seen = list(item.misses) if item else []
            actions = [LookupMissesItem.expires.set(timedelta(seconds=rule.window))]
            condition = None
            if trim and len(seen) > 2 * rule.limit:
                actions.append(LookupMissesItem.misses.set(ratelimit.recent(seen, now, rule) + [now]))
                condition = size(LookupMissesItem.misses) == len(seen)
            else:
                actions.append(LookupMissesItem.misses.set((LookupMissesItem.misses | []).append([now])))
            actions.append(LookupMissesItem.kind.set(LookupMissesItem))
            write.update(LookupMissesItem(*key), actions=actions, condition=condition)
