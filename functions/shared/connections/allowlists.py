"""Allow-list entries from table changes: which idTags each access policy's list should hold.

A change to a membership, a card, a policy or a station arrives on the table's stream; `collect` works out
what each affected (policy, idTag) entry should now be, from the current state of the table (not from the
record's image), so duplicated, retried or reordered records give the same answer. `apply` writes only
the entries that differ, each stamped with the next sequence number of its policy.
"""

from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from connections.domain.allowlist import MAX_REFUSALS, Access, TagStatus, access
from connections.domain.membership import Status
from connections.domain.policy import Rules
from connections.memberships import state
from connections.store import (
    AllowEntryItem,
    CardItem,
    Item,
    MembershipItem,
    PolicyItem,
    StationItem,
    UnlockItem,
    batch_get,
    transaction,
)


@dataclass
class Changes:
    """What one stream batch changes: entries to set, and stations that need their whole list again."""

    entries: dict[tuple[str, str], tuple[Access, str]] = field(
        default_factory=dict
    )  # (policy, tag) -> access, driver
    full: set[str] = field(default_factory=set)


def image(record: dict, which: str) -> Item | None:
    raw = record.get("dynamodb", {}).get(which)
    return Item.from_raw_data(raw) if raw else None


def collect(record: dict, changes: Changes, now: datetime) -> None:
    old, new = image(record, "OldImage"), image(record, "NewImage")
    item = new or old
    if isinstance(item, MembershipItem):
        if _access_changed(old, new):
            _driver(changes, item.driver_id, now, connections={item.connection_id})
    elif isinstance(item, CardItem):
        _driver(changes, item.driver_id, now, connections=None)
        if new is None:
            for entry in AllowEntryItem.gsi2.query(f"TAG#{item.id_tag}"):
                changes.entries[(entry.policy_id, item.id_tag)] = (Access(TagStatus.BLOCKED), item.driver_id)
    elif isinstance(item, PolicyItem) and new is not None:
        if old is None or list_terms(old) != list_terms(new):
            _policy(changes, new, old, now)
    elif isinstance(item, StationItem) and new is not None:
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
    items = list(Item.gsi1.query(f"DRIVER#{driver_id}"))
    cards = [i.id_tag for i in items if isinstance(i, CardItem)]
    memberships = [(m.connection_id, state(m)) for m in items if isinstance(m, MembershipItem)]
    if connections is None:
        connections = {c for c, m in memberships if m.effective_status(now) is Status.ACTIVE}
    for connection_id in connections:
        for unlock in UnlockItem.query(f"CONN#{connection_id}", UnlockItem.sk.startswith("UNLOCKS#")):
            verdict = access(
                memberships,
                unlock.connection_ids,
                now,
                limited=unlock.limited_ids or (),
                everyone=bool(unlock.everyone),
            )
            for tag in cards:
                changes.entries[(unlock.policy_id, tag)] = (verdict, driver_id)


def _policy(changes: Changes, new: PolicyItem, old: PolicyItem | None, now: datetime) -> None:
    """A policy's connections changed: recompute the entry of every driver it may concern."""
    pk, _ = AllowEntryItem.key(new.policy_id, "")
    drivers = {e.driver_id for e in AllowEntryItem.query(pk, AllowEntryItem.sk.startswith("TAG#"))}
    for connection_id in set(new.connection_ids) | set(old.connection_ids if old else []):
        for member in MembershipItem.gsi2.query(MembershipItem.status_key(connection_id, Status.ACTIVE)):
            drivers.add(member.driver_id)
    _, limited, everyone = list_terms(new)
    for driver_id in drivers:
        items = list(Item.gsi1.query(f"DRIVER#{driver_id}"))
        memberships = [(m.connection_id, state(m)) for m in items if isinstance(m, MembershipItem)]
        verdict = access(memberships, new.connection_ids, now, limited=limited, everyone=everyone)
        for card in (i for i in items if isinstance(i, CardItem)):
            changes.entries[(new.policy_id, card.id_tag)] = (verdict, driver_id)


def apply(changes: Changes) -> dict[str, int]:
    """Write the entries that differ from what is stored. Returns the sequence of every policy the batch
    touched, changed or not: a retried batch whose entries were written before a failed publish finds
    nothing to write, and must still deliver them."""
    keys = [AllowEntryItem.key(p, t) for p, t in changes.entries]
    keys += [PolicyItem.key(p) for p in {p for p, _ in changes.entries}]
    stored: dict = {}
    for start in range(0, len(keys), 100):
        stored.update(batch_get(keys[start : start + 100]))
    by_policy: dict[str, list[tuple[str, Access, str]]] = {}
    for (policy_id, tag), (verdict, driver_id) in sorted(changes.entries.items()):
        current = stored.get(AllowEntryItem.key(policy_id, tag))
        if current and current.status == verdict.status and current.expires_at == verdict.expires_at:
            continue
        if current is None and verdict.status is not TagStatus.ACCEPTED:
            continue  # never listed: nothing to revoke or delete
        by_policy.setdefault(policy_id, []).append((tag, verdict, driver_id))
    sequences = {p.policy_id: int(p.seq) for p in stored.values() if isinstance(p, PolicyItem)}
    for policy_id, entries in by_policy.items():
        for start in range(0, len(entries), _PER_TRANSACTION):
            sequences[policy_id] = _write(policy_id, entries[start : start + _PER_TRANSACTION])
    return sequences


# Entries and the sequence they take are written in one transaction, conditioned on the sequence read:
# a reader never sees the sequence raised before its entries exist, and two writers of one policy never
# interleave their numbers (the later one reads again and retries).
_PER_TRANSACTION = 99  # with the policy's own update: DynamoDB's limit of 100 items


def _write(policy_id: str, entries: list[tuple[str, Access, str]]) -> int:
    for _ in range(10):
        policy = PolicyItem.get(*PolicyItem.key(policy_id), consistent_read=True)
        seen = int(policy.seq)
        try:
            with transaction() as write:
                write.update(
                    policy,
                    actions=[PolicyItem.seq.set(seen + len(entries))],
                    condition=PolicyItem.seq == seen,
                )
                for offset, (tag, verdict, driver_id) in enumerate(entries, start=1):
                    entry = AllowEntryItem(
                        *AllowEntryItem.key(policy_id, tag),
                        policy_id=policy_id,
                        id_tag=tag,
                        driver_id=driver_id,
                        status=verdict.status,
                        expires_at=verdict.expires_at,
                        seq=seen + offset,
                    )
                    entry.index()
                    write.save(entry)
            return seen + len(entries)
        except TransactWriteError:
            continue  # another batch wrote this policy's list meanwhile: take the next numbers
    raise RuntimeError(f"the allow list of policy {policy_id} kept changing; the batch will be retried")
