"""Stations whose list stays stale: out of sync with their policy (a change not acknowledged, a refusal, no
answer) for more than STALE_AFTER since `stale_since` (decision 0030). Read from a sparse index that holds
only the stations stale now, so that neither a count nor a report reads every station."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from connections.platform.table import now
from connections.stations.items import StationItem

# A change reaches a station in about a second, and the sweep tries one that does not answer at least
# every 15 minutes: a station stale for longer needs someone to look at it.
STALE_AFTER = timedelta(minutes=15)


def _cutoff() -> datetime:
    return now() - STALE_AFTER


# Stale stations are read this many at a time: a city's thousands are never held at once.
PAGE = 100


def stale_stations() -> Iterator[StationItem]:
    """Every station stale for more than STALE_AFTER, by organization: the index's order, read a page at a
    time as the caller goes on."""
    return iter(
        StationItem.gsi5.query(
            StationItem.STALE, filter_condition=StationItem.stale_since < _cutoff(), page_size=PAGE
        )
    )


def stale_count() -> int:
    """How many stations are stale for more than STALE_AFTER: a count query of the stations stale now, which
    returns no items. An organization's own count is `out_of_sync_counts`'."""
    return StationItem.gsi5.count(StationItem.STALE, filter_condition=StationItem.stale_since < _cutoff())


def out_of_sync_counts(organization_id: str) -> tuple[int, int]:
    """How many of the organization's stations are out of sync now, and how many of those for more than
    STALE_AFTER: one query of its stations in the index, reading only when each became stale."""
    cutoff = _cutoff()
    out_of_sync = stale = 0
    for station in StationItem.gsi5.query(
        StationItem.STALE,
        StationItem.gsi5sk.startswith(StationItem.stale_key(organization_id)),
        attributes_to_get=["stale_since"],
        page_size=PAGE,
    ):
        out_of_sync += 1
        stale += station.stale_since is not None and station.stale_since < cutoff
    return out_of_sync, stale
