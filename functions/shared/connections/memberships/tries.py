"""Stored side of the limits on trying connection codes (ratelimit decides): recent misses per caller
and per address, and the tries that count them."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition, size
from pynamodb.transactions import TransactWrite

from connections.memberships import ratelimit
from connections.memberships.items import LookupMissesItem
from connections.platform.errors import TooManyRequests
from connections.platform.table import Found, Key, transaction

# A person may miss a few times; an address (many people behind one NAT) a few times more.
PER_USER = ratelimit.Limit(limit=10, window=15 * 60)
PER_ADDRESS = ratelimit.Limit(limit=100, window=15 * 60)


def keys(user_id: str, address: str) -> dict[Key[LookupMissesItem], ratelimit.Limit]:
    """The limits of a caller trying codes. One budget for every way of trying one (a lookup, a request for
    a private connection, a code chosen for a connection): all of them tell whether a code exists."""
    return {
        LookupMissesItem.key(f"lookup#user#{user_id}"): PER_USER,
        LookupMissesItem.key(f"lookup#ip#{address}"): PER_ADDRESS,
    }


def _one_at_a_time(key: Key[LookupMissesItem]) -> bool:
    """A person's tries are decided one at a time; an address's are not (see Attempt)."""
    return "#user#" in key[0]


def _expires_in(seconds: int) -> datetime:
    # TTLAttribute takes a timedelta (from now) as well as a datetime; PynamoDB's annotations name only the
    # latter.
    return cast(datetime, timedelta(seconds=seconds))


def check(found: Found, limited: dict[Key[LookupMissesItem], ratelimit.Limit]) -> None:
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
    a code chosen for a connection), recorded before its answer is given, so that a burst sent in parallel
    cannot try more codes than the limits allow, and every answer depends only on the tries before it (a
    429 tells nothing about a code):

    - a person's tries are decided one at a time: each is conditioned on no other try of theirs having been
      recorded since `found` was read (their `attempts` counter); the losers of a race answer 429;
    - an address's are not, since many people share one behind a NAT and may well try codes at the same
      moment: each try, right or wrong, is conditioned on the address having room for a miss as DynamoDB
      applies it (the size of its list of misses) and on its list not having been trimmed since it was
      read, and a miss is appended to the list, both atomic. Once the address is full, right and wrong
      codes alike answer 429. A list grown long with old misses is trimmed by the next try, right or
      wrong, conditioned on nothing having been appended since it was read: then too, every try faces
      the same condition.

    A try is recorded once: with the writes that answer it (`recorded_with`, no round-trip of its own), or
    alone (`record`)."""

    def __init__(self, found: Found, limited: dict[Key[LookupMissesItem], ratelimit.Limit]):
        self._found, self._limited = found, limited
        self._recorded = False
        self._trimming: set[Key[LookupMissesItem]] = set()
        self._refusal: TooManyRequests | None = None

    def record(self, *, missed: bool) -> None:
        """Record the try (and a miss, when `missed`) in a transaction of its own, unless it was recorded
        already; TooManyRequests when it lost."""
        if self._limited and not self._recorded:
            with self.recorded_with(missed=missed):
                pass

    @contextmanager
    def recorded_with(self, *, missed: bool = False) -> Iterator[TransactWrite]:
        """A transaction that records the try with the writes added to it. TooManyRequests when another
        try of the person was recorded since `found` was read or the address has no room left, whatever
        else failed; any other cancellation is raised as it came, the try not recorded. The try's writes
        are the transaction's last ones (PynamoDB sends updates after condition checks, deletes and puts,
        and they are added after the caller's), so the cancellation reasons of the caller's writes keep
        their places."""
        if self._refusal is not None:
            raise self._refusal
        now = int(time.time())
        try:
            with transaction() as write:
                yield write
                for key, rule in self._limited.items():
                    write.update(*self._update(key, rule, now, missed))
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in error.cancellation_reasons or []]
            ours = reasons[len(reasons) - len(self._limited) :] if self._limited else []
            for key, reason in zip(self._limited, ours, strict=False):
                # TransactionConflict: DynamoDB's answer when another transaction on the item is under way.
                # An address's failed condition: it is full, unless this try was to trim it (then it lost
                # a race, like a person's try). A try that read the list just before another trimmed it
                # is told it is full too: rare (once per 200 old misses), and the same for any code.
                full = not _one_at_a_time(key) and key not in self._trimming
                if reason == "ConditionalCheckFailed" and full:
                    self._refusal = _full(self._misses(key), now, self._limited[key])
                elif reason in {"ConditionalCheckFailed", "TransactionConflict"}:
                    self._refusal = _lost()
                if self._refusal is not None:
                    raise self._refusal from None
            raise
        self._recorded = True

    def _misses(self, key: Key[LookupMissesItem]) -> list[int]:
        item = self._found.get(key)
        return list(item.misses) if item is not None else []

    def _update(self, key: Key[LookupMissesItem], rule: ratelimit.Limit, now: int, missed: bool):
        if not _one_at_a_time(key):
            return self._appended(key, rule, now, missed)
        item = self._found.get(key)
        seen = int(item.attempts) if item is not None and item.attempts is not None else None
        actions = [
            LookupMissesItem.kind.set(LookupMissesItem),
            LookupMissesItem.attempts.set((seen or 0) + 1),
            LookupMissesItem.expires.set(_expires_in(rule.window)),
        ]
        if missed:
            recent = ratelimit.recent(self._misses(key), now, rule)
            actions.append(LookupMissesItem.misses.set(recent + [now]))
        condition: Condition
        if seen is None:
            condition = LookupMissesItem.attempts.does_not_exist()
        else:
            condition = LookupMissesItem.attempts == seen
        return LookupMissesItem(*key), actions, condition

    def _appended(self, key: Key[LookupMissesItem], rule: ratelimit.Limit, now: int, missed: bool):
        """The update and condition of an address's try. The list holds the misses that were read (some
        old, left to be trimmed) and those appended since: there is room while it is shorter than the
        limit plus the old ones, as long as nobody trimmed it meanwhile (its `trims` as read)."""
        item = self._found.get(key)
        seen = self._misses(key)
        recent = ratelimit.recent(seen, now, rule)
        trims = int(item.trims) if item is not None and item.trims is not None else None
        untrimmed = (
            LookupMissesItem.trims.does_not_exist() if trims is None else LookupMissesItem.trims == trims
        )
        actions = [
            LookupMissesItem.kind.set(LookupMissesItem),
            LookupMissesItem.expires.set(_expires_in(rule.window)),
        ]
        if len(seen) - len(recent) > 2 * rule.limit:
            self._trimming.add(key)
            actions.append(LookupMissesItem.misses.set(recent + ([now] if missed else [])))
            actions.append(LookupMissesItem.trims.set((trims or 0) + 1))
            return LookupMissesItem(*key), actions, untrimmed & (size(LookupMissesItem.misses) == len(seen))
        stale = len(seen) - len(recent)
        room = LookupMissesItem.misses.does_not_exist() | (size(LookupMissesItem.misses) < rule.limit + stale)
        if missed:
            actions.append(LookupMissesItem.misses.set((LookupMissesItem.misses | []).append([now])))
        return LookupMissesItem(*key), actions, untrimmed & room


def _full(misses: list[int], now: int, rule: ratelimit.Limit) -> TooManyRequests:
    """The address filled up meanwhile: a slot frees when the oldest miss in its window leaves it."""
    window = ratelimit.recent(misses, now, rule)
    wait = max(1, window[0] + rule.window - now) if window else rule.window
    return TooManyRequests(
        f"Too many connection codes that match nothing. Try again in {wait} seconds,"
        " or ask the organization for its code.",
        retry_after=wait,
    )


def _lost() -> TooManyRequests:
    return TooManyRequests("Several connection codes arrived at once; try again in a second.", retry_after=1)
