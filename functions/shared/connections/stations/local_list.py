"""Allow lists: what a station's OCPP local authorization list should hold, and the next message that
brings it there. No I/O: the sync function reads and writes, this module decides.

The desired list is kept per access policy (stations that share a policy share it) as entries
idTag -> Accepted | Blocked, each stamped with the policy's sequence number when it last changed. A
station remembers the sequence its list reflects (`held_seq`), so what it lacks is every entry with a
higher sequence: a Differential. A station that never synced, booted, or answered
Failed or VersionMismatch gets a Full. Messages are cut to the station's SendLocalListMaxLength;
a Full that needs several is sent as a Full with the first chunk and Differentials after it.

A station that cannot hold the whole list (LocalAuthListMaxLength) holds the most recently changed
entries: the drivers approved (or revoked) most recently, who are the likeliest to arrive next. The others
are answered by online authorization (Authorize), which applies the same entries. Such a station holds
exactly the idTags whose latest change lies between its `floor` and `held_seq`; once it is full, a change
goes as one Differential that adds it and deletes the oldest entries it holds, rather than a whole Full.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from connections.memberships.state_machine import Membership, Status
from connections.stations.policy import latest

# Fulls a station may refuse in a row before the service stops insisting (it waits for the next change,
# a reboot or an admin's edit rather than loop with a charger that cannot take its list).
MAX_REFUSALS = 3


class TagStatus(StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"  # revoked: a listed tag that is not Accepted is refused even offline
    # Not on the station's list (a Differential deletes it; a Full leaves it out): the station asks online
    # and Authorize applies the hours of use, which a list cannot (see `access`).
    ONLINE = "Online"


@dataclass(frozen=True)
class Access:
    """What one driver's cards should be at the stations of one policy."""

    status: TagStatus
    expires_at: datetime | None = None


def access(
    memberships: Iterable[tuple[str, Membership]],
    unlocking: Iterable[str],
    now: datetime,
    *,
    limited: Iterable[str] = (),
    everyone: bool = False,
) -> Access:
    """Accepted while the driver has an Active membership in any connection that unlocks the policy at all
    hours, until the latest of those memberships expires (never, if one of them does not expire). A driver
    whose only way in has hours of use (a connection in `limited`, or the policy's rule for `everyone`) is
    left to online authorization; anyone else is Blocked."""
    memberships = list(memberships)
    always = set(unlocking) - set(limited)
    active = {c: m for c, m in memberships if m.effective_status(now) is Status.ACTIVE}
    expiries = [m.expires_at for c, m in active.items() if c in always]
    if expiries:
        return Access(TagStatus.ACCEPTED, latest(expiries))
    if everyone or set(active) & set(limited):
        return Access(TagStatus.ONLINE)
    return Access(TagStatus.BLOCKED)


# The OCPP 2.0.1 IdTokenEnumType a card is when its type is not given (an ordinary RFID card).
DEFAULT_CARD_TYPE = "ISO14443"


@dataclass(frozen=True)
class Entry:
    id_tag: str
    status: TagStatus
    expires_at: datetime | None
    seq: int
    token_type: str = DEFAULT_CARD_TYPE  # what a 2.0.1 station is told the card is (idToken.type)


class UpdateType(StrEnum):
    FULL = "Full"
    DIFFERENTIAL = "Differential"


@dataclass(frozen=True)
class StationList:
    """What the service knows of one station's list, as of its last acknowledged message."""

    supported: bool = True
    version: int = 0  # the listVersion the station acknowledged last (0: never synced)
    held_seq: int = 0  # the policy sequence its list reflects
    held_count: int = 0  # entries it holds (an upper bound: an update of a listed tag counts again)
    needs_full: bool = True
    capacity: int | None = None  # LocalAuthListMaxLength (None: no known limit)
    chunk: int = 25  # SendLocalListMaxLength
    full_below: int | None = None  # a chunked Full is under way: its next chunk is below this sequence
    full_sent: int = 0
    floor: int = 0  # the lowest sequence it holds: entries changed last before it were left out or deleted


class Fetch(StrEnum):
    """Which entries the next message needs, for the caller to read."""

    NOTHING = "nothing"
    CHANGED = "changed"  # sequence > held_seq, ascending, at most `limit`
    TOP = "top"  # the most recent entries, descending, at most `limit`
    BELOW = "below"  # sequence < full_below, descending, at most `limit`
    # sequence > after, ascending, at most `limit`: what a full station holds and what changed since, in
    # one read, so that an entry it holds is seen either where it was or where it moved to
    HELD = "held"


@dataclass(frozen=True)
class Need:
    """For TOP and BELOW, read one entry more than `limit`: it tells whether another chunk follows."""

    fetch: Fetch
    limit: int = 0
    after: int = 0  # for CHANGED and HELD
    below: int = 0  # for BELOW


def need(station: StationList, policy_seq: int) -> Need:
    """What to read to build the next message for this station."""
    if not station.supported:
        return Need(Fetch.NOTHING)
    if station.needs_full:
        return Need(Fetch.TOP, _first_chunk(station))
    if station.full_below is not None:
        room = (station.capacity or 1 << 31) - station.full_sent
        return Need(Fetch.BELOW, min(station.chunk, room), below=station.full_below)
    if policy_seq > station.held_seq:
        return Need(Fetch.CHANGED, station.chunk, after=station.held_seq)
    return Need(Fetch.NOTHING)


def _first_chunk(station: StationList) -> int:
    return min(station.chunk, station.capacity) if station.capacity is not None else station.chunk


@dataclass(frozen=True)
class Send:
    update_type: UpdateType
    version: int
    entries: list[Entry]
    then: StationList  # the station's list once it accepts this message
    deleted: tuple[str, ...] = ()  # idTags to delete (a Differential entry without idTagInfo)
    # Their 2.0.1 idToken types, in the same order (a 2.0.1 station knows a card by its id and type);
    # missing ones are DEFAULT_CARD_TYPE.
    deleted_types: tuple[str, ...] = ()

    def deleted_tokens(self) -> list[tuple[str, str]]:
        types = self.deleted_types + (DEFAULT_CARD_TYPE,) * (len(self.deleted) - len(self.deleted_types))
        return list(zip(self.deleted, types, strict=True))

    def listed(self) -> list[Entry]:
        """The entries the message carries (dialects.py words them): a Full lists every entry with its
        status, so the entries left to online authorization are left out of it rather than deleted."""
        full = self.update_type is UpdateType.FULL
        return [e for e in self.entries if not (full and e.status is TagStatus.ONLINE)]


def message(
    station: StationList,
    wanted: Need,
    entries: list[Entry],
    policy_seq: int,
    held: list[Entry] | None = None,
) -> Send | None:
    """The next message, built from the entries `need` asked for; None when there is nothing to send.
    Check `overflows` first: a Differential that would not fit needs `held`, what `make_room` asked for
    (or, when it asks nothing, a Full)."""
    version = station.version + 1
    match wanted.fetch:
        case Fetch.NOTHING:
            return None
        case Fetch.TOP:
            more = len(entries) > wanted.limit
            entries = entries[: wanted.limit]
            more = more and _room_after(station, len(entries))
            then = replace(
                station,
                version=version,
                # What the station will hold is what was read, not the policy's sequence of a moment ago.
                held_seq=max((e.seq for e in entries), default=0),
                held_count=len(entries),
                needs_full=False,
                full_below=entries[-1].seq if more else None,
                full_sent=len(entries),
                floor=entries[-1].seq if entries else 0,
            )
            return Send(UpdateType.FULL, version, entries, then)
        case Fetch.BELOW:
            more = len(entries) > wanted.limit
            entries = entries[: wanted.limit]
            sent = station.full_sent + len(entries)
            more = more and _room_after(station, sent)
            then = replace(
                station,
                version=version,
                held_count=station.held_count + len(entries),
                full_below=entries[-1].seq if more and entries else None,
                full_sent=sent,
                floor=entries[-1].seq if entries else station.floor,
            )
            return Send(UpdateType.DIFFERENTIAL, version, entries, then)
        case Fetch.CHANGED:
            if not entries:
                return None
            if held is not None:
                return _evicting(station, entries, held, version)
            then = replace(
                station,
                version=version,
                held_seq=entries[-1].seq,
                held_count=station.held_count + len(entries),
            )
            return Send(UpdateType.DIFFERENTIAL, version, entries, then)
        case Fetch.HELD:
            return None  # read for `held` (make_room), never a message of its own


def _adds(station: StationList, entries: list[Entry]) -> list[Entry]:
    # Room in the message for as many deletions as additions.
    return entries[: station.chunk // 2]


def make_room(station: StationList, wanted: Need, entries: list[Entry]) -> Need | None:
    """For a Differential that `overflows`: what to read to delete the oldest entries the station holds
    (every one of them and the changes since, ascending, so that the count is exact). None: send a Full
    instead, for a station whose messages cannot carry an addition and a deletion, or a change too large
    for it."""
    if station.chunk < 2 or station.capacity is None or len(entries) > station.capacity:
        return None
    return Need(Fetch.HELD, _held_limit(station), after=max(0, station.floor - 1))


def _held_limit(station: StationList) -> int:
    return (station.capacity or 0) + station.chunk + 1


def _evicting(station: StationList, entries: list[Entry], held: list[Entry], version: int) -> Send | None:
    """A Differential that adds the newest changes and deletes the oldest entries a full station holds.
    `held` is what `make_room` asked for: up to `held_seq`, every idTag the station holds whose latest
    change it has; after it, changes, some of them to idTags it holds. Those it is not sent in this message
    stay on it as they were, so they count against its capacity too: which of them it holds is unknown,
    but no more than `held_count` less the others, nor more than those changes."""
    capacity = station.capacity or 0
    changed = {e.id_tag for e in held if e.seq > station.held_seq}
    # An idTag seen both where it was and where it moved to (it changed while this was read) has moved.
    holding = [e for e in held if e.seq <= station.held_seq and e.id_tag not in changed]
    if len(holding) > capacity:
        return None  # it holds more than it can: our picture of it is wrong
    adds = _adds(station, entries)
    unsent = changed - {e.id_tag for e in adds}
    moved = max(0, station.held_count - len(holding))
    if len(held) < _held_limit(station):  # every change was read
        moved = min(moved, len(unsent))
    excess = max(0, len(holding) + len(adds) + moved - capacity)
    if excess > len(holding) or len(adds) + excess > station.chunk:
        return None  # no room to be made in one message: a Full
    deleted, kept = holding[:excess], holding[excess:]
    then = replace(
        station,
        version=version,
        held_seq=adds[-1].seq,
        held_count=len(kept) + len(adds) + moved,
        floor=kept[0].seq if kept else adds[0].seq,
    )
    dropped = tuple(e.id_tag for e in deleted), tuple(e.token_type for e in deleted)
    return Send(UpdateType.DIFFERENTIAL, version, adds, then, *dropped)


def _room_after(station: StationList, sent: int) -> bool:
    return station.capacity is None or sent < station.capacity


def overflows(station: StationList, wanted: Need, entries: list[Entry]) -> bool:
    """True when a Differential would not fit in the station: send a Full of its most recent entries."""
    return (
        wanted.fetch is Fetch.CHANGED
        and station.capacity is not None
        and station.held_count + len(entries) > station.capacity
    )


@dataclass(frozen=True)
class TooLarge:
    """Not even a message of one entry fits the station's BytesPerMessage: `id_tag` (None: not even an
    empty list)."""

    id_tag: str | None


def within_bytes(
    plan: Callable[[int], Send | None], chunk: int, fits: Callable[[Send], bool]
) -> Send | TooLarge | None:
    """The message `plan` makes with the most entries, at most `chunk` (ItemsPerMessage), that `fits`
    (BytesPerMessage, measured on the frame as published); None when there is nothing to send. A message
    grows with its entries, so the largest that fits is found by bisection."""
    send = plan(chunk)
    if send is None or fits(send):
        return send
    best, low, high = None, 1, chunk - 1
    while low <= high:
        middle = (low + high) // 2
        trial = plan(middle)
        if trial is not None and fits(trial):
            best, low = trial, middle + 1
        else:
            high = middle - 1
    if best is not None:
        return best
    smallest = plan(1) or send
    names = [e.id_tag for e in smallest.entries] + list(smallest.deleted)
    return TooLarge(names[0] if names else None)
