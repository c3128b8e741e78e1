"""Stored side of the limits on trying connection codes (domain.ratelimit decides): recent misses per caller
and per address, and the tries that count them."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

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


class Attempt:
    """One try of a connection code by the limited callers (a lookup, a request for a private connection,
    a code chosen for a connection), recorded before its answer is given, conditioned on no other try of
    theirs having been recorded since `found` was read. One caller's tries are thus decided one at a time:
    a burst sent in parallel cannot try more codes than the limit allows. The losers of a race answer 429
    whether their code was right or not, so a 429 tells nothing about a code.

    A try is recorded once: with the writes that answer it (`recorded_with`, no round-trip of its own), or
    alone (`record`)."""

    def __init__(self, found: dict[tuple[str, str], Item], limited: dict[tuple[str, str], ratelimit.Limit]):
        self._found, self._limited = found, limited
        self._recorded = self._lost = False

    def record(self, *, missed: bool) -> None:
        """Record the try (and a miss, when `missed`) in a transaction of its own, unless it was recorded
        already; TooManyRequests when it lost."""
        if self._limited and not self._recorded:
            with self.recorded_with(missed=missed):
                pass

    @contextmanager
    def recorded_with(self, *, missed: bool = False) -> Iterator[TransactWrite]:
        """A transaction that records the try with the writes added to it. TooManyRequests when another
        try of these callers was recorded since `found` was read, whatever else failed; any other
        cancellation is raised as it came, the try not recorded. The try's writes are the transaction's
        last ones (PynamoDB sends updates after condition checks, deletes and puts, and they are added
        after the caller's), so the cancellation reasons of the caller's writes keep their places."""
        if self._lost:
            raise _lost()
        now = int(time.time())
        try:
            with transaction() as write:
                yield write
                for key, rule in self._limited.items():
                    write.update(*self._update(key, rule, now, missed))
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in error.cancellation_reasons or []]
            ours = reasons[len(reasons) - len(self._limited) :] if self._limited else []
            # TransactionConflict: DynamoDB's answer when another transaction on the item is under way.
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(ours):
                self._lost = True
                raise _lost() from None
            raise
        self._recorded = True

    def _update(self, key: tuple[str, str], rule: ratelimit.Limit, now: int, missed: bool):
        item = self._found.get(key)
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
        return LookupMissesItem(*key), actions, condition


def _lost() -> TooManyRequests:
    return TooManyRequests("Several connection codes arrived at once; try again in a second.", retry_after=1)
