"""Writers of one policy's allow list at once (the stream's lanes, a table's shards): every write is a
transaction conditioned on the list's sequence, so one of two writers is refused; it waits a short, jittered
while and reads again only the policies whose items were refused, the rest of its transaction written again
as it was (decision 0045)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from connections.platform.table import Found
from connections.stations import allow_entries
from connections.stations.items import AllowEntryItem, ContinuationItem, PolicyItem
from connections.stations.local_list import Access, TagStatus
from tests.support.stations import entries_of, given_depot

TYPE = "ISO14443"


def wanted(tag: str) -> allow_entries.Wanted:
    return (tag, Access(TagStatus.ACCEPTED), f"driver-{tag}", TYPE, datetime.now(UTC))


def test_a_list_written_between_the_read_and_the_write_is_read_again_alone_after_a_short_wait(monkeypatch):
    # Given two policies whose new entries one batch writes in one transaction
    first, second = given_depot().policy["policy_id"], given_depot().policy["policy_id"]
    read, asked, waits = allow_entries.batch_get, [], []

    def another_writer_between(keys, consistent=False):
        found = read(keys, consistent)
        asked.append({key.pk.removeprefix("POLICY#") for key in keys})
        if len(asked) == 1:
            # another batch writes the first policy's list after this one read it
            monkeypatch.setattr(allow_entries, "batch_get", read)
            allow_entries._write({first: [wanted("TAG-OTHER")]})
            monkeypatch.setattr(allow_entries, "batch_get", another_writer_between)
        return found

    monkeypatch.setattr(allow_entries, "batch_get", another_writer_between)
    monkeypatch.setattr(allow_entries.time, "sleep", waits.append)

    # When the batch writes both
    sequences = allow_entries._write({first: [wanted("TAG-1")], second: [wanted("TAG-2")]})

    # Then its transaction is refused for the first policy only: after a short wait that one is read again
    # alone, and the second's entries are written as planned
    assert asked == [{first, second}, {first}]
    assert len(waits) == 1 and 0 <= waits[0] <= allow_entries._BACKOFF_MOST
    assert sequences == {first: 2, second: 1}
    assert entries_of(first) == {"TAG-OTHER": ("Accepted", 1), "TAG-1": ("Accepted", 2)}
    assert entries_of(second) == {"TAG-2": ("Accepted", 1)}


WRITERS, TAGS = 4, 5


def test_writers_of_one_list_at_once_lose_nothing_and_number_every_change_once():
    policy = given_depot().policy["policy_id"]

    def write(writer: int) -> None:
        allow_entries._write({policy: [wanted(f"TAG-{writer}-{n}") for n in range(TAGS)]})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))

    entries = entries_of(policy)
    assert sorted(entries) == sorted(f"TAG-{w}-{n}" for w in range(WRITERS) for n in range(TAGS))
    assert sorted(seq for _, seq in entries.values()) == list(range(1, WRITERS * TAGS + 1))


def test_an_entry_read_before_another_writers_transaction_and_its_list_after_is_not_written_over(monkeypatch):
    # Given a driver Accepted until a date, decided some time ago
    policy = given_depot().policy["policy_id"]
    t0 = datetime.now(UTC) - timedelta(seconds=10)
    renewed_at, removed_at = t0 + timedelta(seconds=1), t0 + timedelta(seconds=2)
    allow_entries._write(
        {policy: [("TAG-1", Access(TagStatus.ACCEPTED, t0 + timedelta(days=30)), "d", TYPE, t0)]}
    )
    read = allow_entries.batch_get

    def torn(keys, consistent=False):
        # A BatchGetItem reads item by item: the entry before another writer's transaction (a removal,
        # decided later), the list's sequence after it
        before = read(keys, consistent)
        monkeypatch.setattr(allow_entries, "batch_get", read)
        allow_entries._write({policy: [("TAG-1", Access(TagStatus.BLOCKED), "d", TYPE, removed_at)]})
        after = read(keys, consistent)
        rest = [after.get(key) for key in keys if not isinstance(after.get(key), AllowEntryItem)]
        return Found([*(item for item in rest if item is not None), *before.of(AllowEntryItem)], keys)

    # When a renewal decided before the removal is written from such a read
    monkeypatch.setattr(allow_entries, "batch_get", torn)
    renewed = Access(TagStatus.ACCEPTED, t0 + timedelta(days=365))
    allow_entries._write({policy: [("TAG-1", renewed, "d", TYPE, renewed_at)]})

    # Then the removal stands, and the list has one change for the card
    stored = AllowEntryItem.get(*AllowEntryItem.key(policy, "TAG-1"), consistent_read=True)
    assert stored.status == "Blocked"
    assert list(entries_of(policy)) == ["TAG-1"]


def test_a_members_part_of_an_older_edit_is_not_written_over_a_newer_edits_verdict(sync, monkeypatch):
    # Given a member of the policy's connection, Accepted
    depot = given_depot({"driver-1": "TAG-1"})
    sync.drain()
    policy_id, connection_id = depot.policy["policy_id"], depot.connection["connection_id"]
    older = ContinuationItem.next(
        policy_id, ContinuationItem.MEMBERS, "older-edit", 1, sources=[connection_id], source=1
    )
    read, newest = allow_entries.batch_get, None

    def newer_edit_between(keys, consistent=False):
        # The older edit's part reads the policy; then a newer edit removes the connection and its own
        # part reads the driver (Blocked) and writes, before the older part reads the driver
        found = read(keys, consistent)
        monkeypatch.setattr(allow_entries, "batch_get", read)
        before = PolicyItem.get(*PolicyItem.key(policy_id), consistent_read=True)
        after = PolicyItem.get(*PolicyItem.key(policy_id), consistent_read=True)
        after.connection_ids, after.updated_at = [], datetime.now(UTC)
        after.save()
        newer = allow_entries.Changes()
        allow_entries._policy(newer, after, before, datetime.now(UTC))
        allow_entries.apply(newer)
        nonlocal newest
        newest = AllowEntryItem.get(*AllowEntryItem.key(policy_id, "TAG-1"), consistent_read=True).decided_at
        return found

    # When the older edit's part runs side by side with the newer edit
    monkeypatch.setattr(allow_entries, "batch_get", newer_edit_between)
    changes = allow_entries.Changes()
    allow_entries._members_part(changes, older, datetime.now(UTC))
    allow_entries.apply(changes)

    # Then the newer edit's verdict stands: the older part's is as of its policy, read before the edit
    stored = AllowEntryItem.get(*AllowEntryItem.key(policy_id, "TAG-1"), consistent_read=True)
    assert (stored.status, stored.decided_at) == ("Blocked", newest)
