"""Limit on failed connection-code lookups, so that codes cannot be found by brute force.

A caller who misses `limit` times within `window` seconds is refused until the oldest of those misses
leaves the window. The caller's recent misses are kept as a list of timestamps (sliding window).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    limit: int = 10
    window: int = 15 * 60


CODE_LOOKUP = Limit()


def recent(misses: list[int], now: int, rule: Limit = CODE_LOOKUP) -> list[int]:
    return sorted(t for t in misses if now - t < rule.window)


def retry_after(misses: list[int], now: int, rule: Limit = CODE_LOOKUP) -> int | None:
    """Seconds until the caller may try again, or None when the caller may try now."""
    window = recent(misses, now, rule)
    if len(window) < rule.limit:
        return None
    # The caller may try again once enough of the oldest misses have left the window.
    return max(1, window[-rule.limit] + rule.window - now)
