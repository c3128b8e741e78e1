"""Stations whose list stays stale: out of sync with their policy (a change not acknowledged, a refusal, no
answer) for more than STALE_AFTER since `stale_since` (decision 0030). Read from a sparse index that holds
only the stations stale now, so that neither a count nor a report reads every station."""

from datetime import datetime, timedelta

from connections.platform.table import now
from connections.stations.items import StationItem

# A change reaches a station in about a second, and the sweep tries one that does not answer at least
# every 15 minutes: a station stale for longer needs someone to look at it.
STALE_AFTER = timedelta(minutes=15)


def _cutoff() -> datetime:
    return now() - STALE_AFTER


def stale_stations(organization_id: str | None = None) -> list[StationItem]:
    """Every station stale for more than STALE_AFTER (of one organization, or of all), by organization."""
    prefix = StationItem.stale_key(organization_id) if organization_id else ""
    return list(
        StationItem.gsi5.query(
            StationItem.STALE,
            StationItem.gsi5sk.startswith(prefix) if prefix else None,
            filter_condition=StationItem.stale_since < _cutoff(),
        )
    )


def out_of_sync_counts(organization_id: str) -> tuple[int, int]:
    """How many of the organization's stations are out of sync now, and how many of those for more than
    STALE_AFTER: one query of its stations in the index, reading only when each became stale."""
    cutoff = _cutoff()
    since = [
        station.stale_since
        for station in StationItem.gsi5.query(
            StationItem.STALE,
            StationItem.gsi5sk.startswith(StationItem.stale_key(organization_id)),
            attributes_to_get=["stale_since"],
        )
    ]
    return len(since), sum(1 for at in since if at is not None and at < cutoff)
