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
            actions.append(LookupMissesItem.attempts.add(1))
            write.update(LookupMissesItem(*key), actions=actions, condition=condition)


def attempt(
    found: dict[tuple[str, str], Item], limited: dict[tuple[str, str], ratelimit.Limit], missed: bool
) -> None:
    """Record one lookup of every limited caller (and a miss, when `missed`) before its answer is given,
    conditioned on no other lookup or miss of theirs having been recorded since `found` was read. One
    caller's lookups are thus decided one at a time: a burst sent in parallel cannot try more codes than
    the limit allows. The losers of a race answer 429 whether their code was right or not, so a 429 tells
    nothing about a code."""
    now = int(time.time())
    try:
        with transaction() as write:
            for key, rule in limited.items():
                item = found.get(key)
                seen = int(item.attempts) if item is not None and item.attempts is not None else None
                actions = [
                    LookupMissesItem.attempts.set((seen or 0) + 1),
                    LookupMissesItem.expires.set(timedelta(seconds=rule.window)),
                    LookupMissesItem.kind.set(LookupMissesItem),
                ]
                if missed:
                    recent = ratelimit.recent(list(item.misses) if item is not None else [], now, rule)
                    actions.append(LookupMissesItem.misses.set(recent + [now]))
                if seen is None:
                    condition = LookupMissesItem.attempts.does_not_exist()
                else:
                    condition = LookupMissesItem.attempts == seen
                write.update(LookupMissesItem(*key), actions=actions, condition=condition)
    except TransactWriteError as error:
        reasons = [r.code for r in error.cancellation_reasons or [] if r]
        if "ConditionalCheckFailed" in reasons:
            raise TooManyRequests(
                "Several connection-code lookups arrived at once; try again in a second.", retry_after=1
            ) from None
        raise
