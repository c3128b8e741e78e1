"""Delivering allow lists to stations and reading their answers, over IoT Core as OCPP-J frames in the
station's version (dialects.py).

OCPP-J allows one outstanding request per station. The request in flight is recorded on the station item
by a conditional write (it succeeds only when nothing is in flight and the station's list is as planned),
so concurrent deliveries never send two; changes that arrive meanwhile wait in the policy's entries and go
in the next message, sent when the station answers (`answer_frame`). The station's mark tells that answer
how far its policy's list has gone (`_mark`, decision 0046). The sweep sends again a request not
answered in time (`resend_unanswered`) and the list a station keeps refusing (`retry_refused`).
"""

import json
import math
import threading
import zlib
from collections.abc import Container, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from itertools import islice

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from connections.platform import lambdas
from connections.platform.settings import fan_out_function
from connections.platform.table import Found, Key, batch_get, now, transaction
from connections.platform.telemetry import logger, metrics
from connections.stations import calls, iot, ocpp
from connections.stations.dialects import dialect
from connections.stations.items import AllowChangeItem, AllowListItem, ContinuationItem, StationItem
from connections.stations.local_list import (
    DEFAULT_CARD_TYPE,
    MAX_REFUSALS,
    Entry,
    Fetch,
    Need,
    Send,
    StationList,
    TagStatus,
    TooLarge,
    make_room,
    message,
    need,
    overflows,
    within_bytes,
)

# Entries per message at most, whatever a station says: 1,000 entries stay well under IoT's 128 KB.
MAX_CHUNK = 1000
# A request unanswered this long is sent again, then after twice as long, and so on up to MAX_BACKOFF: a
# charger that is offline for hours is not sent the same message every minute (its BootNotification,
# when it comes back, reconciles it at once anyway). A station that keeps refusing its list is tried again
# on the same schedule. The sweep runs every minute: a station out of sync is tried at least every 15.
ANSWER_TIMEOUT = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=14)
RESENDS_PER_SWEEP = 500  # the rest wait for the next minute's sweep, within the function's timeout


def answer_due(sent_at: datetime, tries: int) -> datetime:
    """When a station tried at `sent_at`, after `tries` tries that came to nothing (resends of a request left
    unanswered, or Fulls refused beyond MAX_REFUSALS), is tried again."""
    return sent_at + min(ANSWER_TIMEOUT * 2**tries, MAX_BACKOFF)


# The sweep's index (gsi3) partitions: requests awaiting an answer, and stations to try again after refusals.
# Each is split in SHARDS partitions by station (decision 0043): a fan-out to a city's 10,000 stations
# writes 10,000 entries in seconds, with ever later due times, which one partition (1,000 WCU) cannot take.
INFLIGHT, RETRY, SHARDS = "INFLIGHT", "RETRY", 10


def shard(partition: str, station_id: str) -> str:
    """The station's shard of the sweep's `partition` (a stable hash: the same station, the same shard)."""
    return f"{partition}#{zlib.crc32(station_id.encode()) % SHARDS}"


def _due(partition: str, before: datetime) -> Iterator[StationItem]:
    """The stations of every shard of `partition` due before `before`, RESENDS_PER_SWEEP in all at most;
    and of the partition itself, which stations in flight before the shards (decision 0043) are still on.
    Each partition gives at most its share, rounded up, so that none waits for the others to empty."""
    partitions = [partition, *(f"{partition}#{n}" for n in range(SHARDS))]
    share = -(-RESENDS_PER_SWEEP // len(partitions))
    due = (
        station
        for name in partitions
        for station in StationItem.gsi3.query(name, StationItem.gsi3sk < _awaiting(before, ""), limit=share)
    )
    return islice(due, RESENDS_PER_SWEEP)


def _awaiting(due: datetime, station_id: str) -> str:
    return f"{due.isoformat()}#{station_id}"


@dataclass
class Delivery:
    """What was published, for the caller's metrics and the benchmarks (counted from several threads)."""

    publishes: int = 0
    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def published(self, size: int) -> None:
        with self._lock:
            self.publishes += 1
            self.bytes += size

    def report(self) -> None:
        """What was sent to stations, as the dashboard's metrics (every function that publishes reports)."""
        metrics.add_metric(name="StationMessages", unit=MetricUnit.Count, value=self.publishes)
        metrics.add_metric(name="StationBytes", unit=MetricUnit.Bytes, value=self.bytes)


def list_state(station: StationItem) -> StationList:
    return StationList(
        supported=station.local_list_supported,
        version=int(station.list_version),
        held_seq=int(station.held_seq),
        held_count=int(station.held_count),
        needs_full=station.needs_full,
        capacity=int(station.local_auth_list_max_length) if station.local_auth_list_max_length else None,
        chunk=max(1, min(int(station.send_local_list_max_length or 25), MAX_CHUNK)),
        full_below=int(station.full_below) if station.full_below is not None else None,
        full_sent=int(station.full_sent),
        floor=int(station.held_floor or 0),
    )


class EntryReader:
    """Reads policy entries for `need`, once per policy and question within a batch (stations that share
    a policy and a state share the read), and a policy's sequence once for the marks (`latest`)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, Need], list[Entry]] = {}
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()  # deliveries run in threads: one read per question, not one each

    def latest(self, policy_id: str) -> int:
        """The policy's sequence as this batch first needs it, read once: what a station found in flight is
        marked with (`_mark`), whatever the sequence of the change at hand."""
        with self._lock:
            if policy_id not in self._latest:
                self._latest[policy_id] = policy_seq(policy_id)
            return self._latest[policy_id]

    def __call__(self, policy_id: str | None, wanted: Need) -> list[Entry]:
        if not policy_id:
            return []  # usable by everyone: its list is empty
        key = (policy_id, wanted)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._read(policy_id, wanted)
            return self._cache[key]

    @staticmethod
    def _read(policy_id: str, wanted: Need) -> list[Entry]:
        # The base table with ConsistentRead: what a transaction wrote is seen whole, in sequence order.
        partition, sort = AllowChangeItem.partition(policy_id), AllowChangeItem.sk
        condition: Condition | None
        match wanted.fetch:
            case Fetch.CHANGED | Fetch.HELD:
                condition, forward = sort > AllowChangeItem.sort(wanted.after), True
            case Fetch.TOP:
                condition, forward = None, False
            case Fetch.BELOW:
                condition, forward = sort < AllowChangeItem.sort(wanted.below), False
            case _:
                return []
        limit = wanted.limit + 1 if wanted.fetch in (Fetch.TOP, Fetch.BELOW) else wanted.limit
        found = AllowChangeItem.query(
            partition, condition, consistent_read=True, scan_index_forward=forward, limit=limit
        )
        return [
            Entry(
                c.id_tag, TagStatus(c.status), c.expires_at, int(c.seq), c.id_token_type or DEFAULT_CARD_TYPE
            )
            for c in found
        ]


# Reads of a station that moved on before `send_next_list` gives up: each is an answer, a claim or a move
# written between its read and its write, within milliseconds.
_TRIES = 5


def send_next_list(station: StationItem, policy_seq: int, reader: EntryReader, done: Delivery) -> bool:
    """Send the station its next list message (a Full or a Differential, as local_list.message plans it),
    unless it has nothing to receive; whether it was sent. A station with a message in flight is marked
    instead: that message's answer sends what follows, up to `policy_seq` (`_mark`)."""
    for _ in range(_TRIES):
        if not station.policy_id and not station.needs_full:
            return False
        if station.in_flight_id:
            if _mark(station, policy_seq, reader):
                # A request whose publish failed is sent again now rather than at the sweep: a retried batch
                # after IoT failed for many stations reaches them all at once.
                resends = int(station.in_flight_resends or 0)
                return bool(station.in_flight_unsent) and _send_again(station, now(), resends, done)
        else:
            send = _fitted(station, policy_seq, reader)
            if isinstance(send, TooLarge):
                _too_large(station, send)
                return False
            if send is None:
                return False
            unique_id, frame = _frame(station, send)
            if _claim(station, unique_id, frame, send.then, also=_stamp(station, policy_seq)):
                _publish(station, unique_id, frame, done)
                return True
        # The station moved on since it was read (an answer, a refusal or another delivery came in, or an
        # index lagged): read it again, then claim it if it is free or mark it if a message is in flight,
        # unless it changed policy.
        fresh = StationItem.get(*StationItem.key(station.station_id), consistent_read=True)
        if fresh.policy_id != station.policy_id:
            return False  # the station's own change brings it its new list
        station = fresh
    # Neither claimed nor marked, the change would be left to nobody: fail, and the batch (or the answer) is
    # delivered again, rather than lose it quietly.
    raise RuntimeError(f"station {station.station_id} kept changing while a change was delivered to it")


def _owed(station: StationItem) -> int | None:
    """How far the station's policy's list must reach it, as its mark says (None: no mark of its policy, as
    for a station claimed before marks were kept or moved to another policy since)."""
    if station.pending_seq is None or station.pending_policy != station.policy_id:
        return None
    return int(station.pending_seq)


def _stamp(station: StationItem, seq: int) -> list[Action]:
    """A claim's mark: the message is planned from `seq`, and its answer continues to it at least."""
    if not station.policy_id:
        return []  # usable by everyone: a list that never changes
    owed = _owed(station)
    return [
        StationItem.pending_policy.set(station.policy_id),
        StationItem.pending_seq.set(seq if owed is None else max(seq, owed)),
    ]


def _as_marked(station: StationItem) -> Condition:
    """The station's mark as it was read: a write planned from it does not lower one raised since."""
    if station.pending_seq is None:
        return StationItem.pending_seq.does_not_exist()
    return (StationItem.pending_policy == station.pending_policy) & (
        StationItem.pending_seq == station.pending_seq
    )


def _mark(station: StationItem, seq: int, reader: EntryReader) -> bool:
    """A change up to `seq` found the station with a message in flight: raise its mark, so that the release
    of that message, which returns the item, tells its answer to send the change (one write here saves every
    answer a read of the policy's sequence; decision 0046). Whether it is marked; False: the station moved
    on since it was read (answered, sent again, or moved to another policy), to be read again."""
    owed = _owed(station)
    if not station.policy_id or (owed is not None and owed >= seq):
        return True  # the answer continues to `seq` already
    # Raised to the policy's sequence, not the change's: the fan-outs of changes written before it (a burst's
    # other batches, a large policy's later parts) then find the station marked already, and write nothing.
    seq = max(seq, reader.latest(station.policy_id))
    try:
        # Returning nothing: a station's whole item (about 3 KB) parsed for each would be the fan-out's CPU.
        station.update_returning_nothing(
            [StationItem.pending_policy.set(station.policy_id), StationItem.pending_seq.set(seq)],
            # Not "the mark as read": a lower mark written meanwhile (a fan-out of an older change) must not
            # fail this one, or a run of them could outlast the tries; a higher one makes it needless.
            (StationItem.in_flight_id == station.in_flight_id)
            & (StationItem.policy_id == station.policy_id)
            & (
                StationItem.pending_seq.does_not_exist()
                | (StationItem.pending_policy != station.policy_id)
                | (StationItem.pending_seq < seq)
            ),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _frame(station: StationItem, send: Send) -> tuple[str, list]:
    """The SendLocalList CALL in the words of the station's OCPP version."""
    return ocpp.call("SendLocalList", dialect(station.ocpp_version).send_local_list(send))


def _fitted(station: StationItem, policy_seq: int, reader: EntryReader) -> Send | TooLarge | None:
    """The next message, of as many entries as the station's ItemsPerMessage and BytesPerMessage allow."""
    state = list_state(station)
    if station.bytes_per_message is None:
        return _plan(state, station.policy_id, policy_seq, reader)
    limit = int(station.bytes_per_message)
    return within_bytes(
        lambda chunk: _plan(replace(state, chunk=chunk), station.policy_id, policy_seq, reader),
        state.chunk,
        lambda send: ocpp.size(_frame(station, send)[1]) <= limit,
    )


def _plan(state: StationList, policy_id: str | None, policy_seq: int, reader: EntryReader) -> Send | None:
    wanted = need(state, policy_seq)
    entries = reader(policy_id, wanted)
    if overflows(state, wanted, entries):
        # A full station: make room by deleting its oldest entries, or else send it a Full.
        room = make_room(state, wanted, entries)
        if room is not None:
            send = message(state, wanted, entries, policy_seq, held=reader(policy_id, room))
            if send is not None:
                return send
        state = replace(state, needs_full=True)
        wanted = need(state, policy_seq)
        entries = reader(policy_id, wanted)
    return message(state, wanted, entries, policy_seq)


def _too_large(station: StationItem, too: TooLarge) -> None:
    """Nothing the station lacks fits its BytesPerMessage: say so on the station, for its admins, and stop
    (as after MAX_REFUSALS refusals: the next change or an admin's edit tries again) rather than loop."""
    what = f"the card {too.id_tag}" if too.id_tag else "even an empty list"
    text = (
        f"Not sent: {what} does not fit in a SendLocalList of {int(station.bytes_per_message or 0)} bytes"
        " (BytesPerMessage). Check the station's capabilities."
    )[:REFUSAL_TEXT]
    if station.last_refusal == text and int(station.failures) >= MAX_REFUSALS:
        return  # said already
    try:
        station.update(
            actions=[
                StationItem.failures.set(max(int(station.failures), MAX_REFUSALS)),
                StationItem.last_refusal.set(text),
                StationItem.failing_since.set(station.failing_since or now()),
            ],
            condition=StationItem.in_flight_id.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def _claim(
    station: StationItem,
    unique_id: str,
    frame: list,
    then: StationList | None,
    when: Condition | None = None,
    also: Sequence[Action] = (),
) -> bool:
    """Record the request in flight (with `also`), if the station is as it was read and planned from, or
    else if `when` holds; whether it was."""
    at = now()
    actions: list[Action] = [
        StationItem.in_flight_id.set(unique_id),
        StationItem.in_flight_action.set(frame[2]),
        StationItem.in_flight_frame.set(json.dumps(frame)),
        StationItem.in_flight_then.set(asdict(then) if then else None),
        StationItem.in_flight_sent_at.set(at),
        StationItem.in_flight_config.set(int(station.config_version)),
        StationItem.in_flight_resends.set(0),
        StationItem.in_flight_unsent.remove(),
        StationItem.gsi3pk.set(shard(INFLIGHT, station.station_id)),
        StationItem.gsi3sk.set(_awaiting(answer_due(at, 0), station.station_id)),
        *_stale(station, at),
        *also,
    ]
    if when is not None:
        condition = when
    else:
        # The station as it was read and planned from: nothing in flight, no message acknowledged and no
        # refusal since (a refusal sets needs_full; a message planned before it must not erase that), its
        # mark not raised since.
        condition = (
            StationItem.in_flight_id.does_not_exist()
            & (StationItem.list_version == station.list_version)
            & (StationItem.needs_full == station.needs_full)
            & _as_marked(station)
        )
    try:
        station.update_returning_nothing(actions, condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False  # another delivery got there first; the station's answer continues from it
        raise
    return True


def _stale(station: StationItem, at: datetime) -> list[Action]:
    """A message goes out: the station's list is stale, since the first message it has not seen through,
    until it confirms its list with no Full left to finish (`_seen_through`; decision 0030)."""
    return [
        StationItem.stale_since.set(StationItem.stale_since | at),
        StationItem.gsi5pk.set(StationItem.STALE),
        StationItem.gsi5sk.set(StationItem.stale_key(station.organization_id, station.station_id)),
    ]


def _not_stale() -> list[Action]:
    return [StationItem.stale_since.remove(), StationItem.gsi5pk.remove(), StationItem.gsi5sk.remove()]


def _seen_through(state: StationList) -> list[Action]:
    """The station confirmed its list (it accepted a message, or reported the version it acknowledged
    last), and no Full is left to finish: it is no longer stale. If it still lacks changes, the message
    that brings them marks it stale again, from now (decision 0030)."""
    if state.needs_full or state.full_below is not None:
        return []
    return _not_stale()


def _publish(station: StationItem, unique_id: str, frame: list, done: Delivery) -> None:
    try:
        done.published(iot.publish(station.station_id, frame))
    except Exception:
        # The claim stands, marked unsent: whoever finds it in flight next (the retried batch, a started
        # part) sends it again at once, and else the sweep at its next run (due now). Freed, the station was
        # lost to whoever had found it claimed meanwhile and left the change to this message: a started
        # part and the stream's pass of the same part (decision 0047), or an answer's change in another
        # lane, whose own retry did not come back to it.
        _unsent(station, unique_id)
        raise


def _unsent(station: StationItem, unique_id: str) -> None:
    try:
        station.update_returning_nothing(
            [
                StationItem.in_flight_unsent.set(True),
                StationItem.gsi3sk.set(_awaiting(now(), station.station_id)),
            ],
            StationItem.in_flight_id == unique_id,
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def _release(station: StationItem, unique_id: str, actions: list, retry_at: datetime | None = None) -> bool:
    """Nothing in flight any more (with `actions`); `retry_at`: the sweep tries the station again then."""
    clear: list[Action] = [
        StationItem.in_flight_id.remove(),
        StationItem.in_flight_action.remove(),
        StationItem.in_flight_frame.remove(),
        StationItem.in_flight_then.remove(),
        StationItem.in_flight_sent_at.remove(),
        StationItem.in_flight_config.remove(),
        StationItem.in_flight_resends.remove(),
        StationItem.in_flight_unsent.remove(),
    ]
    if retry_at is None:
        clear += [StationItem.gsi3pk.remove(), StationItem.gsi3sk.remove()]
    else:
        clear += [
            StationItem.gsi3pk.set(shard(RETRY, station.station_id)),
            StationItem.gsi3sk.set(_awaiting(retry_at, station.station_id)),
        ]
    try:
        station.update(actions=actions + clear, condition=StationItem.in_flight_id == unique_id)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False  # a stale or repeated answer: somebody already moved on
        raise
    return True


def _commit(state: StationList) -> list:
    return [
        StationItem.list_version.set(state.version),
        StationItem.held_seq.set(state.held_seq),
        StationItem.held_count.set(state.held_count),
        StationItem.needs_full.set(state.needs_full),
        StationItem.full_below.set(state.full_below)
        if state.full_below is not None
        else StationItem.full_below.remove(),
        StationItem.full_sent.set(state.full_sent),
        StationItem.held_floor.set(state.floor),
        StationItem.acked_at.set(now()),
    ]


# Deliveries to the stations of a policy run this many at a time: each is a conditional write and a
# publish, a few milliseconds of waiting each, so 10,000 stations take about 2 s of DynamoDB's latency
# rather than a minute (as many pooled connections: platform.table.Item.Meta.max_pool_connections).
FAN_OUT = 32
# Stations are read and reached a page at a time: a BatchGetItem's 100 keys. Only a page is held at once,
# and the one before it while its deliveries finish.
PAGE = 100
# A policy of more stations than a part is split by the change's invocation into parts of this many (a
# page), each a ContinuationItem the stream carries to an invocation (decision 0045), a retried batch
# redoing its own. Small parts, many of them, spread the work evenly over the stream's ten lanes: Lambda
# gives each lane the parts whose keys hash to it, and the busiest lane decides when the last station is
# reached (with 20 parts the busiest had 2.5 times the mean; with 100, about 1.5).
STATIONS_PER_PART = 100
# At most this many parts, all written in one transaction (DynamoDB's most is 100 items): a larger policy
# has larger parts.
MAX_PARTS = 100
# Parts one invocation reaches, twice a lane's even share of MAX_PARTS: 2,000 stations for a city's 10,000
# (about 5 s of one vCPU; 20,000 for 100,000, about 50 s, within the 120 s timeout). A batch's other parts
# are put off (ContinuationItem.put_off) to a later one, a hop of the stream later.
PARTS_PER_INVOCATION = 20


# A policy's parts are started at once (decision 0047) when the batch changed its list in at most this many
# entries. More is a burst (a full batch of decisions over one policy), and more batches of it are likely
# within the stream's hop: started at once, every batch's fan-out would write each station of the policy (a
# claim, or a mark of one in flight), where the stream's pass, coming a hop later, brings a burst's changes
# to the stations together (its parts are brought to the policy's latest sequence, 0046).
AT_ONCE_MOST_CHANGES = 10


def send_next_lists(
    sequences: dict[str, int],
    full: set[str],
    continued: Sequence[ContinuationItem] = (),
    at_once: Container[str] = (),
) -> Delivery:
    """After a batch's entries are written: every station of a changed policy gets its next list message
    (send_next_list, at most one each), and every station in `full` gets its whole list again; `continued`:
    parts of earlier fan-outs, each reaching its stations unless done already (`_undone`). A policy of more
    than STATIONS_PER_PART stations is split into parts, each written for an invocation of its own, and
    started at once if the policy is in `at_once` (`_dispatch`)."""
    return _deliver(sequences, full, _undone(continued), at_once)


def _deliver(
    sequences: dict[str, int], full: set[str], continued: Sequence[ContinuationItem], at_once: Container[str]
) -> Delivery:
    """send_next_lists, its `continued` parts known to be undone (a started part has read itself)."""
    done, reader = Delivery(), EntryReader()
    if not sequences and not full and not continued:
        return done
    iot.warm()  # boto3 creates clients unsafely from several threads: create it here first
    with ThreadPoolExecutor(max_workers=FAN_OUT) as pool:
        _reach(pool, _waiting(sorted(full), sequences), reader, done)
        for policy_id, seq in sorted(sequences.items()):
            parts = _split(policy_id, seq)
            if len(parts) == 1:
                _fan_out(pool, parts[0], full, reader, done, seq)
            elif _start(parts) and policy_id in at_once:
                _dispatch(pool, parts)
        for part in continued:
            # Brought to the policy's sequence now, read once a batch, not the part's own: a part of an older
            # change then stamps its claims past the newer changes, whose parts find the stations covered and
            # mark none (decision 0046; a burst's changes are split into parts that run side by side).
            _fan_out(pool, part, full, reader, done, max(int(part.seq or 0), reader.latest(part.policy_id)))
    return done


STATIONS = ContinuationItem.STATIONS
Job = tuple[StationItem, int | dict[str, int]]  # a station, and the sequence(s) it is brought to


def _waiting(station_ids: list[str], sequences: dict[str, int]) -> Iterator[list[Job]]:
    """Stations waiting for their whole list, a page at a time: the items themselves, read consistently,
    each with every sequence."""
    for start in range(0, len(station_ids), PAGE):
        found = batch_get([StationItem.key(s) for s in station_ids[start : start + PAGE]], consistent=True)
        yield [(s, sequences) for s in found.of(StationItem)]


def _split(policy_id: str, seq: int) -> list[ContinuationItem]:
    """The policy's stations in parts of STATIONS_PER_PART (more if there would be over MAX_PARTS), each
    after the last station of the one before. The boundaries are read as keys only: DynamoDB pages a query
    by the 1 MB of items it reads (about 330 stations of 3 KB), whatever it returns, so one call a page
    rather than a count a part (100 for a city's 10,000, the split's whole time); only the boundaries are
    held, not the keys."""
    starts: list[dict | None] = [None]  # each part's exclusive start: the last station of the part before
    counted, after, last = 0, None, None
    while True:
        page = StationItem._get_connection().query(
            StationItem.policy_key(policy_id),
            index_name=StationItem.gsi2.Meta.index_name,
            attributes_to_get=["pk", "sk", "gsi2pk", "gsi2sk"],  # an index query's start key
            exclusive_start_key=after,
        )
        for key in page["Items"]:
            if counted == STATIONS_PER_PART:  # a station follows a whole part: it starts the next
                starts.append(last)
                counted = 0
            counted, last = counted + 1, key
        after = page.get("LastEvaluatedKey")
        if not after:
            break
    starts = starts[:: math.ceil(len(starts) / MAX_PARTS)]  # over MAX_PARTS: every other one, or fewer
    ends = [start["gsi2sk"]["S"] for start in starts[1:] if start is not None] + [None]
    return [
        ContinuationItem.next(policy_id, STATIONS, str(seq), n, seq=seq, after=start, until=end)
        for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]


def _start(parts: list[ContinuationItem]) -> bool:
    """Every part of a split in one transaction (MAX_PARTS, of DynamoDB's 100 items), each on the condition
    that it is not written yet: the first split written stands whole. Written one by one, a retried change
    whose policy changed meanwhile mixed two splits' boundaries, and the stations between them were in no
    part. Whether this split was written (False: an earlier one stands)."""
    try:
        with transaction() as write:
            for part in parts:
                write.save(part, condition=ContinuationItem.pk.does_not_exist())
    except TransactWriteError as error:
        reasons = {reason.code if reason else None for reason in error.cancellation_reasons or []}
        if "ConditionalCheckFailed" not in reasons:
            raise
        return False
    return True


def _dispatch(pool: ThreadPoolExecutor, parts: list[ContinuationItem]) -> None:
    """Every part just written started at once, each in an invocation of its own (decision 0047): a stream
    hop sooner than its record, and not bound to the stream's ten lanes. Its item stays the durable copy:
    one that fails to start, or fails, is reached when the stream brings its record (`_undone`)."""
    function = fan_out_function()
    if function is None:
        return
    lambdas.warm()
    started = pool.map(lambda part: lambdas.start(function, {"part": part.serialize()}), parts)
    metrics.add_metric(name="FanOutPartsStarted", unit=MetricUnit.Count, value=sum(started))


def reach_part(raw: dict) -> Delivery:
    """A part started at once (`_dispatch`): its stations reached as when the stream brings it, then the
    part deleted, so that its stream record, a hop later, finds it done (`_undone`). A part whose change
    is over (gone: reached by the stream, or by TTL) is left."""
    part = ContinuationItem.from_raw_data(raw)
    if not isinstance(part, ContinuationItem) or part.work != STATIONS:
        raise ValueError("not a part of a fan-out to a policy's stations")
    if not _undone([part]):
        return Delivery()
    done = _deliver({}, set(), [part], ())
    try:
        # This write of the part only: a retried change that found its split done writes the same keys again.
        part.delete(condition=part.as_written())
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    return done


def _undone(parts: Sequence[ContinuationItem]) -> list[ContinuationItem]:
    """The parts still to do: those not deleted by the invocation started for them (`reach_part`), read in
    one BatchGetItem (the same write of each: `written`). One being reached there at
    this very moment is reached here too, which its idempotence allows: a station claimed on one side is
    found in flight on the other, its mark covering the change, and a claim whose publish failed stands
    unsent, for whoever finds it next or the sweep to send again (`_publish`)."""
    if not parts:
        return []
    found = batch_get([Key(p.pk, p.sk) for p in parts], consistent=True)
    return [p for p in parts if (stored := found.get(Key(p.pk, p.sk))) and stored.written == p.written]


def _fan_out(
    pool: ThreadPoolExecutor,
    part: ContinuationItem,
    full: set[str],
    reader: "EntryReader",
    done: Delivery,
    seq: int,
) -> None:
    """One part of a policy's fan-out: its stations, after `part.after` up to `part.until`, a page at a
    time, each brought to `seq` (a station waiting for its whole list is sent it already)."""
    stations = StationItem.gsi2.query(
        StationItem.policy_key(part.policy_id),
        StationItem.gsi2sk <= part.until if part.until else None,
        # A part of a page in one call: stopped at a Limit of exactly its size, DynamoDB would return where
        # it stopped and leave an empty page to ask for.
        page_size=PAGE + 1,
        last_evaluated_key=part.after,
    )
    pages = (
        [(s, seq) for s in _fresh(page)] for page in _pages(s for s in stations if s.station_id not in full)
    )
    _reach(pool, pages, reader, done)


def _pages(stations: Iterable[StationItem]) -> Iterator[list[StationItem]]:
    page: list[StationItem] = []
    for station in stations:
        page.append(station)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def _fresh(page: list[StationItem]) -> list[StationItem]:
    """The page as the index gave it, but the stations it shows with a request in flight read again, in
    one BatchGetItem: the index may lag behind an answer that just freed one, which must not miss this
    change. One gone meanwhile, or moved to another policy (its own change brings it its list), is left."""
    busy = [s.station_id for s in page if s.in_flight_id]
    if not busy:
        return page
    again = {
        s.station_id: s
        for s in batch_get([StationItem.key(s) for s in busy], consistent=True).of(StationItem)
    }
    fresh = [again.get(s.station_id) if s.in_flight_id else s for s in page]
    return [f for f, s in zip(fresh, page, strict=True) if f is not None and f.policy_id == s.policy_id]


def _reach(
    pool: ThreadPoolExecutor, pages: Iterable[Sequence[Job]], reader: "EntryReader", done: Delivery
) -> None:
    """Pages of stations, each sent its next message (`seq`: its policy's sequence or, for a Full, every
    sequence the batch knows), FAN_OUT at a time. A page's deliveries overlap the reading of the next (the
    waits for DynamoDB and IoT under the CPU's work), so two pages are held at most."""

    def one(job: Job) -> None:
        station, seq = job
        if isinstance(seq, dict):
            seq = seq.get(station.policy_id) or policy_seq(station.policy_id)
        send_next_list(station, seq, reader, done)

    before: list[Future] = []
    for page in pages:
        submitted = [pool.submit(one, job) for job in page]
        _raise_first(before)
        before = submitted
    _raise_first(before)


def _raise_first(futures: list[Future]) -> None:
    failures = [f.exception() for f in futures]
    for failure in failures:
        if failure is not None:
            raise failure  # the batch is retried; what was sent is in flight and will not be sent twice


def policy_seq(policy_id: str | None) -> int:
    """The sequence of the policy's list, read consistently (one round-trip): what a station should hold."""
    if not policy_id:
        return 0
    return AllowListItem.sequence(batch_get(AllowListItem.keys(policy_id), consistent=True), policy_id)


def _continue(station: StationItem, done: Delivery) -> None:
    """The station's next message, after `_release`, whose update returned the whole item as it is now:
    with its mark, raised by every change that found the message in flight, the mark tells how far to go.
    Without a mark of its policy the policy's sequence is read: one call more."""
    owed = _owed(station)
    send_next_list(station, policy_seq(station.policy_id) if owed is None else owed, EntryReader(), done)


# --- What stations send (on <stationId>/in, routed here by the IoT rule)


def answer_frame(station_id: str, raw: str | bytes, done: Delivery) -> None:
    """Answer what a charger sent: a result or error for our request in flight (then its next message), or
    its own call (Authorize, BootNotification and the usual chatter)."""
    frame = ocpp.parse(raw)
    if frame is None:
        return
    # What the call needs (calls.reads) is read with the station's item: one call less a message.
    key = StationItem.key(station_id)
    read = batch_get([key, *calls.reads(station_id, frame)], consistent=True)
    station = read.get(key)
    if station is None:
        # Provisioned for an organization that has not registered it yet: to retry its boot later.
        if frame.kind == ocpp.CALL and frame.action == "BootNotification" and iot.owner(station_id):
            done.published(iot.publish(station_id, calls.pending(frame)))
        return  # otherwise not a station of ours: say nothing
    if frame.kind == ocpp.CALL:
        _on_call(station, frame, read, done)
    elif frame.unique_id == station.in_flight_id:
        _on_answer(station, frame, done)


def _on_answer(station: StationItem, frame: ocpp.Frame, done: Delivery) -> None:
    uid, payload = frame.unique_id, frame.payload or {}
    if frame.kind == ocpp.CALL_ERROR:
        if frame.error_code in ("NotImplemented", "NotSupported"):
            _release(station, uid, _no_local_list())
        else:
            described = f"{frame.error_code}: {payload}" if isinstance(payload, str) and payload else None
            _refused(station, uid, (described or frame.error_code or "")[:REFUSAL_TEXT], done)
        return
    if station.in_flight_action == "GetLocalListVersion":
        reported = dialect(station.ocpp_version).list_version(payload)
        if reported == -1:
            _release(station, uid, _no_local_list())
            return
        # Asked after a reconnection: the version it acknowledged last means it holds what we think, and
        # gets what it missed; another (a message it took whose answer was lost) gets a Full. Asked after a
        # boot, needs_full is already set (_on_call): the version proves nothing then.
        missed = reported != int(station.list_version)
        confirmed = [StationItem.needs_full.set(True)] if missed else _seen_through(list_state(station))
        stale_since = station.stale_since  # _release reads the item back
        if _release(station, uid, confirmed):
            _acknowledged(stale_since, confirmed if not missed else [])
            _continue(station, done)
        return
    status = payload.get("status")
    if status == "Accepted":
        then = StationList(**station.in_flight_then)
        if int(station.config_version) != int(station.in_flight_config or 0):
            # An admin moved the station to another policy or changed its capabilities meanwhile: it took
            # the old list's update, but still needs the whole new one.
            actions = [StationItem.list_version.set(then.version), StationItem.acked_at.set(now())]
            seen_through = []
        else:
            seen_through = _seen_through(then)
            actions = _commit(then) + seen_through
        stale_since = station.stale_since  # _release reads the item back
        if _release(station, uid, actions + _recovered()):
            _acknowledged(stale_since, seen_through)
            _continue(station, done)
    elif status == "NotSupported":
        _release(station, uid, _no_local_list())
    else:  # Failed, VersionMismatch
        _refused(station, uid, str(status)[:REFUSAL_TEXT], done)


def _acknowledged(stale_since: datetime | None, seen_through: Sequence[Action]) -> None:
    """The station confirmed its list up to date (`seen_through` cleared its staleness): the time since the
    first change it lacked was sent (stale_since, decision 0030), for the dashboard. The stream's delay
    before that sending is the stream consumer's IteratorAge."""
    if seen_through and stale_since is not None:
        lacked = (now() - stale_since).total_seconds() * 1000
        metrics.add_metric(name="ChangeAcknowledged", unit=MetricUnit.Milliseconds, value=lacked)


# What a station answered when it refused, as its admins see it: at most this many characters of it.
REFUSAL_TEXT = 200


def _refused(station: StationItem, unique_id: str, answer: str, done: Delivery) -> None:
    """The station's list is not what we thought: send a Full at once, and if it keeps refusing, let the
    sweep try again later and later (`answer_due`) rather than loop with it, until it accepts one."""
    failures, at = int(station.failures) + 1, now()
    actions = [
        StationItem.needs_full.set(True),
        StationItem.failures.set(failures),
        StationItem.last_refusal.set(answer),
        StationItem.failing_since.set(station.failing_since or at),
    ]
    retry_at = answer_due(at, failures - MAX_REFUSALS) if failures >= MAX_REFUSALS else None
    if _release(station, unique_id, actions, retry_at) and retry_at is None:
        _continue(station, done)


def _recovered() -> list:
    """The station took a message (or has no list to take): it is not failing."""
    return [
        StationItem.failures.set(0),
        StationItem.failing_since.remove(),
        StationItem.last_refusal.remove(),
    ]


def _no_local_list() -> list:
    return [StationItem.local_list_supported.set(False), *_recovered(), *_not_stale()]


def _on_call(station: StationItem, frame: ocpp.Frame, read: Found, done: Delivery) -> None:
    done.published(iot.publish(station.station_id, calls.answer(station, frame, read)))
    if frame.action == "BootNotification" and station.local_list_supported and station.policy_id:
        # After a reboot, whatever was in flight is lost with it, and the version it reports proves
        # nothing: a charger that lost its list (version 0) and took a Differential before its
        # BootNotification reports the version we expect, holding only that Differential. So it needs a
        # Full, marked before the question (whatever answer comes, a reconnection's included), and gets a
        # new count of refusals; the question tells whether it keeps a local list at all.
        _ask_list_version(
            station,
            done,
            when=StationItem.pk.exists(),
            also=[StationItem.needs_full.set(True), StationItem.failures.set(0)],
        )


def _ask_list_version(station: StationItem, done: Delivery, when: Condition, also: Sequence[Action]) -> None:
    unique_id, question = ocpp.call("GetLocalListVersion", {})
    if _claim(station, unique_id, question, None, when=when, also=also):
        _publish(station, unique_id, question, done)


def reconcile_reconnected(station_id: str, connected_at: datetime, done: Delivery) -> None:
    """A charger connected again (IoT Core's presence event: the OCPP gateway connects with its id), most
    often without rebooting: whatever was in flight is lost with its old socket, so ask its list version
    and send what it lacks (`_on_answer`). An event no newer than the last one acted on, than the station's
    last acknowledgement or than the request in flight (which then went over this connection) is a repeat
    or late, and asks nothing (decision 0029)."""
    try:
        station = StationItem.get(*StationItem.key(station_id), consistent_read=True)
    except StationItem.DoesNotExist:
        return  # another client of the broker, or a charger not registered
    if not station.local_list_supported or not (station.policy_id or station.needs_full):
        return  # nothing it could lack

    def before(attribute) -> Condition:
        return attribute.does_not_exist() | (attribute < connected_at)

    _ask_list_version(
        station,
        done,
        when=before(StationItem.connected_at)
        & before(StationItem.acked_at)
        & before(StationItem.in_flight_sent_at),
        also=[StationItem.connected_at.set(connected_at)],
    )


def resend_unanswered(done: Delivery) -> int:
    """Send again every request whose answer is overdue (a new message id; a repeated Differential the
    station already applied is answered VersionMismatch, which leads to a Full), and wait twice as long
    for the answer to that one."""
    at = now()
    count = 0
    for station in _due(INFLIGHT, at):
        # One never published is not one unanswered: no longer wait for it
        resends = int(station.in_flight_resends or 0) + (0 if station.in_flight_unsent else 1)
        count += _send_again(station, at, resends, done)
    return count


def _send_again(station: StationItem, at: datetime, resends: int, done: Delivery) -> bool:
    """The request in flight sent again under a new message id, its answer awaited after `resends` tries;
    whether it was (False: answered or sent again meanwhile, or its publish failed again). A publish that
    fails is logged, not raised: the request stands unsent, due at the next sweep, and whoever sends it
    again (a retried batch, the sweep) goes on to the other stations. Raised, a station IoT keeps failing
    for failed every retry of its batch at that point, and the stations after it were never claimed, or
    stopped the sweep there (found in review)."""
    frame = json.loads(station.in_flight_frame)
    unique_id, again = ocpp.call(frame[2], frame[3])
    try:
        station.update_returning_nothing(
            [
                StationItem.in_flight_id.set(unique_id),
                StationItem.in_flight_frame.set(json.dumps(again)),
                StationItem.in_flight_sent_at.set(at),
                StationItem.in_flight_resends.set(resends),
                StationItem.in_flight_unsent.remove(),
                StationItem.gsi3sk.set(_awaiting(answer_due(at, resends), station.station_id)),
            ],
            StationItem.in_flight_id == station.in_flight_id,
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    try:
        _publish(station, unique_id, again, done)
    except Exception:  # noqa: BLE001 - whatever IoT answered: it stands unsent (above)
        logger.exception("publish failed; sent again later", extra={"station_id": station.station_id})
        return False
    return True


def retry_refused(done: Delivery) -> int:
    """Send its whole list again to every station that refused it too often in a row and is due for
    another try (`_refused` set when)."""
    count, reader = 0, EntryReader()
    for station in _due(RETRY, now()):
        try:
            sent = send_next_list(station, policy_seq(station.policy_id), reader, done)
        except Exception:  # noqa: BLE001 - a claim whose publish failed stands, due at the next sweep
            logger.exception(
                "retry failed; tried again at the next sweep", extra={"station_id": station.station_id}
            )
            continue
        if sent:
            count += 1
            continue
        try:  # nothing to send it now (no list any more, or a message went meanwhile): off the schedule
            station.update(
                actions=[StationItem.gsi3pk.remove(), StationItem.gsi3sk.remove()],
                # the partition it was found in: the sharded one, or the one before sharding
                condition=StationItem.gsi3pk == station.gsi3pk,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    return count
