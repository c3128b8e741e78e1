"""Allow-list entries from table changes: which idTags each access policy's list should hold.

A change to a membership, a card, a policy or a station arrives on the table's stream; `collect` works out
what each affected (policy, idTag) entry should now be, from the current state of the table (not from the
record's image), so duplicated, retried or reordered records give the same answer. `apply` writes only
the entries that differ, each stamped with the next sequence number of its policy.
"""

import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from connections.memberships.changes import state
from connections.memberships.items import MembershipItem
from connections.memberships.state_machine import Status
from connections.platform.table import Found, Item, batch_get, of_kind, transaction
from connections.stations import delivery
from connections.stations.items import (
    AllowChangeItem,
    AllowEntryItem,
    AllowListItem,
    CardItem,
    ContinuationItem,
    PolicyItem,
    StationItem,
    UnlockItem,
)
from connections.stations.local_list import DEFAULT_CARD_TYPE, MAX_REFUSALS, Access, TagStatus, access
from connections.stations.policy import Rules


@dataclass
class Changes:
    """What one stream batch changes: entries to set, and stations that need their whole list again."""

    # (policy, tag) -> access, driver, the card's type (one entry serves stations of either OCPP version),
    # and when what decided the access was read (`_written_over`)
    entries: dict[tuple[str, str], tuple[Access, str, str, datetime]] = field(default_factory=dict)
    full: set[str] = field(default_factory=set)
    # connection -> the policies it unlocks, read once per batch: a burst of approvals to one connection
    # shares the read
    unlocks: dict[str, list[UnlockItem]] = field(default_factory=dict)
    unlocks_read: dict[str, datetime] = field(default_factory=dict)
    # Work that continues in the next invocation (written by `apply`), and parts of fan-outs to continue
    # now (by delivery.send_next_lists)
    parts: list[ContinuationItem] = field(default_factory=list)
    fan_outs: list[ContinuationItem] = field(default_factory=list)

    def quiet(self, most: int) -> set[str]:
        """The policies this batch changes in at most `most` entries (the others are in a burst)."""
        counted = Counter(policy_id for policy_id, _ in self.entries)
        return {policy_id for policy_id, n in counted.items() if n <= most}

    def unlocked_by(self, connection_id: str) -> list[UnlockItem]:
        if connection_id not in self.unlocks:
            query = UnlockItem.query(f"CONN#{connection_id}", UnlockItem.sk.startswith("UNLOCKS#"))
            self.unlocks_read[connection_id] = datetime.now(UTC)
            self.unlocks[connection_id] = list(query)
        return self.unlocks[connection_id]


def image(record: dict, which: str) -> Item | None:
    raw = record.get("dynamodb", {}).get(which)
    return Item.from_raw_data(raw) if raw else None


def collect(record: dict, changes: Changes, now: datetime) -> None:
    old, new = image(record, "OldImage"), image(record, "NewImage")
    item = new or old
    if isinstance(item, MembershipItem):
        if _access_changed(of_kind(MembershipItem, old), of_kind(MembershipItem, new)):
            _driver(changes, item.driver_id, now, connections={item.connection_id})
    elif isinstance(item, CardItem):
        _driver(changes, item.driver_id, now, connections=None)
        if new is None:
            gone = datetime.now(UTC)
            for entry in AllowEntryItem.gsi2.query(f"TAG#{item.id_tag}"):
                changes.entries[(entry.policy_id, item.id_tag)] = (
                    Access(TagStatus.BLOCKED),
                    item.driver_id,
                    item.id_token_type,
                    gone,
                )
    elif isinstance(new, PolicyItem):
        before = of_kind(PolicyItem, old)
        if before is None or list_terms(before) != list_terms(new):
            _policy(changes, new, before, now)
    elif isinstance(new, ContinuationItem):
        if new.work == ContinuationItem.MEMBERS:
            _members_part(changes, new, now)
        elif len(changes.fan_outs) < delivery.PARTS_PER_INVOCATION:
            changes.fan_outs.append(new)
        else:
            new.put_off()
    elif isinstance(new, StationItem):
        # Waiting for its whole list with nothing in flight: new, moved to another policy (or to none:
        # an empty Full clears what it held), given other capabilities, or refused an update, unless it
        # refused too often in a row (then the next change, a reboot or an admin's edit tries again).
        if new.needs_full and not new.in_flight_id and int(new.failures) < MAX_REFUSALS:
            changes.full.add(new.station_id)


def list_terms(policy: PolicyItem) -> tuple[frozenset[str], frozenset[str], bool]:
    """What of a policy decides its list: its connections, those with hours of use, and whether everyone
    else may charge (then nobody is Blocked: whoever is not Accepted is asked about online)."""
    rules = Rules.parse(policy.connection_ids, policy.rules, None)
    return frozenset(rules.connection_ids), frozenset(rules.limited()), rules.everyone is not None


def _access_changed(old: MembershipItem | None, new: MembershipItem | None) -> bool:
    if old is None or new is None:
        return True
    return old.status != new.status or old.expires_at != new.expires_at


def _driver(changes: Changes, driver_id: str, now: datetime, connections: set[str] | None) -> None:
    """The entries of the driver's cards at every policy unlocked by `connections` (by default, the
    connections the driver is an active member of)."""
    read = datetime.now(UTC)
    items = list(Item.gsi1.query(f"DRIVER#{driver_id}"))
    cards = [(i.id_tag, i.id_token_type) for i in items if isinstance(i, CardItem)]
    memberships = [(m.connection_id, state(m)) for m in items if isinstance(m, MembershipItem)]
    if connections is None:
        connections = {c for c, m in memberships if m.effective_status(now) is Status.ACTIVE}
    for connection_id in connections:
        for unlock in changes.unlocked_by(connection_id):
            verdict = access(
                memberships,
                unlock.connection_ids,
                now,
                limited=unlock.limited_ids or (),
                everyone=bool(unlock.everyone),
            )
            # decided by the unlock and the driver as read: as of the older of the two reads
            decided = min(read, changes.unlocks_read.get(connection_id, read))
            for tag, token_type in cards:
                changes.entries[(unlock.policy_id, tag)] = (verdict, driver_id, token_type, decided)


# Drivers whose entries one invocation recomputes after a policy's edit; the rest are a ContinuationItem's
# (decision 0042). A query per driver, 16 at a time: about half a second at DynamoDB's latency, and the
# entries of a part written in 31 transactions (bench/station_fanout.py --members).
MEMBERS_PER_PART = 1_000


def _policy(changes: Changes, new: PolicyItem, old: PolicyItem | None, now: datetime) -> None:
    """A policy's connections changed: recompute the entry of every driver it may concern (those with an
    entry, then the active members of its connections, before and after), a part at a time."""
    sources = sorted(set(new.connection_ids) | set(old.connection_ids if old else []))
    run = new.updated_at.isoformat()
    first = ContinuationItem.next(new.policy_id, ContinuationItem.MEMBERS, run, 0, sources=sources)
    _members_part(changes, first, now, new)


def _members_part(
    changes: Changes, part: ContinuationItem, now: datetime, policy: PolicyItem | None = None
) -> None:
    """Recompute the entries of the next MEMBERS_PER_PART drivers of `part`; the part after it, if any
    remain, goes in `changes.parts`. Only a part's drivers are held at once. `policy`: the stream record's
    image, as the policy was written (at its `updated_at`); otherwise it is read here."""
    # When the policy was as this part sees it: its verdicts are as of then at the latest, so that an edit
    # written meanwhile, whose own part may read a driver before this one does, is not written over
    # (`_written_over`): with the stream's lanes, this part and that edit run side by side.
    policy_read = policy.updated_at if policy is not None else datetime.now(UTC)
    if policy is None:
        policy = batch_get([PolicyItem.key(part.policy_id)], consistent=True).get(
            PolicyItem.key(part.policy_id)
        )
        if policy is None:
            return  # the policy is gone: its list is read by no station
    sources, source, after = list(part.sources or []), int(part.source), part.after
    drivers: set[str] = set()
    while len(drivers) < MEMBERS_PER_PART and source <= len(sources):
        wanted = MEMBERS_PER_PART - len(drivers)
        if source == 0:  # every driver with an entry: one may lose access
            pk, _ = AllowEntryItem.key(policy.policy_id, "")
            query = AllowEntryItem.query(
                pk, AllowEntryItem.sk.startswith("TAG#"), limit=wanted, last_evaluated_key=after
            )
            drivers.update(e.driver_id for e in query)
        else:
            key = MembershipItem.status_key(sources[source - 1], Status.ACTIVE)
            query = MembershipItem.gsi2.query(key, limit=wanted, last_evaluated_key=after)
            drivers.update(m.driver_id for m in query)
        after = query.last_evaluated_key
        if not after:
            source += 1
    _recompute(changes, policy, sorted(drivers), now, policy_read)
    if source <= len(sources):
        more = {"sources": sources, "source": source, "after": after}
        changes.parts.append(
            ContinuationItem.next(part.policy_id, part.work, part.run, int(part.part) + 1, **more)
        )


def _recompute(
    changes: Changes, policy: PolicyItem, drivers: list[str], now: datetime, policy_read: datetime
) -> None:
    _, limited, everyone = list_terms(policy)

    def recompute(driver_id: str) -> tuple[str, Access, list[tuple[str, str]], datetime]:
        read = datetime.now(UTC)
        items = list(Item.gsi1.query(f"DRIVER#{driver_id}"))
        memberships = [(m.connection_id, state(m)) for m in items if isinstance(m, MembershipItem)]
        cards = [(i.id_tag, i.id_token_type) for i in items if isinstance(i, CardItem)]
        verdict = access(memberships, policy.connection_ids, now, limited=limited, everyone=everyone)
        return driver_id, verdict, cards, read

    # One query per driver, 16 at a time.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for driver_id, verdict, cards, read in pool.map(recompute, drivers):
            for tag, token_type in cards:
                # decided by the policy and the driver as read: as of the older of the two reads
                changes.entries[(policy.policy_id, tag)] = (
                    verdict,
                    driver_id,
                    token_type,
                    min(read, policy_read),
                )


def apply(changes: Changes) -> dict[str, int]:
    """Write the entries that differ from what is stored. Returns the sequence of every policy the batch
    touched, changed or not: a retried batch whose entries were written before a failed publish finds
    nothing to write, and must still deliver them."""
    by_policy: dict[str, list[Wanted]] = {}
    for (policy_id, tag), (verdict, driver_id, token_type, decided) in sorted(changes.entries.items()):
        by_policy.setdefault(policy_id, []).append((tag, verdict, driver_id, token_type, decided))
    sequences = _write(by_policy)
    for part in changes.parts:
        # After this part's entries: the next part starts once they are written, once only.
        part.start()
    return sequences


# Entries, their change items and the sequence they take (the policy's AllowListItem) are written in one
# transaction, conditioned on the sequence read: a reader never sees the sequence raised before its changes
# exist, and two writers of one policy never interleave their numbers (the later one reads again and
# retries). Every writer of a policy's entries raises its sequence, so an unchanged sequence also means
# unchanged entries. None of these items is of a kind the sync function's stream filter takes.
# The policies of a batch are read together (BatchGetItem) and written together: a transaction holds the
# next changes of several policies, each conditioned on its own sequence, up to DynamoDB's 100 items.
_PER_TRANSACTION = 33  # a policy's changes in one transaction: 3 items each (entry, new change, old change)
_ITEMS = 100  # in a transaction, DynamoDB's most
_TRIES = 10  # transactions refused to a policy (another batch wrote its list) before the batch is retried
# A policy refused waits before it is read again, a random time up to _BACKOFF doubled with each of its
# refusals, at most _BACKOFF_MOST ("full jitter"): invocations side by side (the stream's lanes) that write
# one policy's list would otherwise read and collide again at once, in step. At most 0.74 s in all.
_BACKOFF, _BACKOFF_MOST = 0.01, 0.1


Wanted = tuple[str, Access, str, str, datetime]  # idTag, access, driver, the card's type, when decided
Changed = tuple[str, Access, str, str, datetime, AllowEntryItem | None]  # ... and the entry stored, if any


@dataclass
class _Chunk:
    """Changes of one policy's list written in one transaction: the sequence they follow, and whether they
    are the list's first (which creates its item)."""

    policy_id: str
    seen: int
    first: bool
    changed: list[Changed]

    def items(self) -> int:
        return 1 + sum(2 if current is None else 3 for *_, current in self.changed)

    def deletes(self) -> int:
        return sum(1 for *_, current in self.changed if current is not None)

    def write(self, write: TransactWrite) -> None:
        policy_id, seen = self.policy_id, self.seen
        write.save(
            AllowListItem(*AllowListItem.key(policy_id), policy_id=policy_id, seq=seen + len(self.changed)),
            condition=AllowListItem.pk.does_not_exist() if self.first else AllowListItem.seq == seen,
        )
        for seq, (tag, verdict, driver_id, token_type, decided, current) in enumerate(
            self.changed, start=seen + 1
        ):
            # The entry and its change item say the same, the entry also whose card it is.
            said: dict[str, Any] = {
                "policy_id": policy_id,
                "id_tag": tag,
                "status": verdict.status,
                "expires_at": verdict.expires_at,
                "seq": seq,
                "id_token_type": token_type,
            }
            entry = AllowEntryItem(
                *AllowEntryItem.key(policy_id, tag), driver_id=driver_id, decided_at=decided, **said
            )
            entry.index()
            # On the entry as it was read too, not the list's sequence alone: a BatchGetItem reads item by
            # item, no snapshot, so the entry can be read before another writer's transaction and the list
            # after it; planned from that entry, an older verdict would pass the list's condition.
            write.save(
                entry,
                condition=AllowEntryItem.pk.does_not_exist()
                if current is None
                else AllowEntryItem.seq == current.seq,
            )
            write.save(AllowChangeItem(*AllowChangeItem.key(policy_id, seq), **said))
            if current is not None:
                write.delete(AllowChangeItem(*AllowChangeItem.key(policy_id, int(current.seq))))


def _write(wanted: dict[str, list[Wanted]]) -> dict[str, int]:
    """Write what differs of every policy's `wanted` entries; the sequence of each. A policy refused in a
    transaction (its list written meanwhile by another batch) is read and written again after a short wait;
    the other policies of that transaction are written again as planned."""
    sequences: dict[str, int] = {}
    refused = dict.fromkeys(wanted, 0)
    left = wanted
    while left:
        keys = [
            key
            for policy_id, of_policy in left.items()
            for key in (
                *AllowListItem.keys(policy_id),
                *(AllowEntryItem.key(policy_id, w[0]) for w in of_policy),
            )
        ]
        stored = batch_get(keys, consistent=True)
        queue = {p: _chunks(p, w, stored, sequences) for p, w in left.items() if PolicyItem.key(p) in stored}
        sequences.update((p, 0) for p in left if p not in queue)  # no such policy: no station reads its list
        left = {}
        while queue := {p: chunks for p, chunks in queue.items() if chunks}:
            batch = _packed(queue)
            blamed = _refused(batch)
            for chunk in batch:
                policy_id = chunk.policy_id
                if policy_id not in blamed:  # written, or else still valid: tried again as it is
                    if not blamed:
                        sequences[policy_id] = chunk.seen + len(chunk.changed)
                        queue[policy_id].pop(0)
                    continue
                refused[policy_id] += 1
                if refused[policy_id] == _TRIES:
                    raise RuntimeError(
                        f"the allow list of policy {policy_id} kept changing; the batch is retried"
                    )
                left[policy_id] = wanted[policy_id]
                del queue[policy_id]
        if left:
            # secrets' numbers, not random's: random's state would be the same in every environment restored
            # from a SnapStart snapshot, and so would the jitter
            most = min(_BACKOFF_MOST, _BACKOFF * 2 ** max(refused[p] for p in left))
            time.sleep(secrets.SystemRandom().uniform(0, most))
    return sequences


def _refused(batch: list[_Chunk]) -> set[str]:
    """Write the chunks in one transaction; the policies refused (none when it is written). The transaction's
    cancellation reasons name its items, in the order PyNamoDB sends them (every delete, then every put:
    pynamodb.connection.base.Connection.transact_write_items); without them, every policy is refused. A
    policy told apart wrongly costs refusals, never a wrong write: each chunk's own condition holds."""
    try:
        with transaction() as write:
            for chunk in batch:
                chunk.write(write)
    except TransactWriteError as error:
        owners = [c.policy_id for c in batch for _ in range(c.deletes())]
        owners += [c.policy_id for c in batch for _ in range(c.items() - c.deletes())]
        reasons = error.cancellation_reasons
        named = len(reasons) == len(owners)
        blamed = (
            {o for o, reason in zip(owners, reasons, strict=True) if reason is not None} if named else set()
        )
        return blamed or {c.policy_id for c in batch}
    return set()


def _chunks(policy_id: str, wanted: list[Wanted], stored: Found, sequences: dict[str, int]) -> list[_Chunk]:
    """The policy's entries that differ from `stored`, in transactions' worth that follow one another; its
    sequence as read goes in `sequences` (what it stays when nothing differs)."""
    seen = sequences[policy_id] = AllowListItem.sequence(stored, policy_id)
    first = AllowListItem.key(policy_id) not in stored
    changed = [
        (tag, verdict, driver_id, token_type, decided, current)
        for tag, verdict, driver_id, token_type, decided in wanted
        if _differs(current := stored.get(AllowEntryItem.key(policy_id, tag)), verdict, token_type)
        and not _written_over(current, decided)
    ]
    chunks = []
    for start in range(0, len(changed), _PER_TRANSACTION):
        chunks.append(
            _Chunk(policy_id, seen, first and start == 0, changed[start : start + _PER_TRANSACTION])
        )
        seen += len(chunks[-1].changed)
    return chunks


def _packed(queue: dict[str, list[_Chunk]]) -> list[_Chunk]:
    """The next chunk of as many policies as fit in one transaction (a policy's first always does)."""
    batch: list[_Chunk] = []
    for chunks in queue.values():
        if sum(c.items() for c in batch) + chunks[0].items() <= _ITEMS:
            batch.append(chunks[0])
    return batch


def _written_over(current: AllowEntryItem | None, decided: datetime) -> bool:
    """Whether the stored entry was decided from what was read after this verdict's reads: then this one is
    older and is not written. Batches run side by side (a table's shards, a mapping's lanes): one that read
    a driver before a removal could otherwise write Accepted over the removal's Blocked, and nothing would
    correct it. Writes between this read of the entry and the write raise the list's sequence, which the
    transaction is conditioned on, so they are read again. Lambda's clocks are synchronised to within
    milliseconds; gsi1 reads are eventually consistent, so a read that lags the index by that much is not
    told apart."""
    return current is not None and current.decided_at is not None and current.decided_at > decided


def _differs(current: AllowEntryItem | None, verdict: Access, token_type: str) -> bool:
    if current is None:
        return verdict.status is TagStatus.ACCEPTED  # never listed: nothing to revoke or delete
    return (
        current.status != verdict.status
        or current.expires_at != verdict.expires_at
        or (current.id_token_type or DEFAULT_CARD_TYPE) != token_type
    )
