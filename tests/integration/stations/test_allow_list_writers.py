"""Writers of one policy's allow list at once (the stream's lanes, a table's shards): every write is a
transaction conditioned on the list's sequence, so one of two writers is refused; it waits a short, jittered
while and reads again only the policies whose items were refused, the rest of its transaction written again
as it was (decision 0045)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from connections.stations import allow_entries
from connections.stations.local_list import Access, TagStatus
from tests.support.stations import entries_of, given_depot


def wanted(tag: str) -> allow_entries.Wanted:
    return (tag, Access(TagStatus.ACCEPTED), f"driver-{tag}", "ISO14443", datetime.now(UTC))


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
