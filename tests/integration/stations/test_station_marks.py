"""A station's mark (decision 0046) under races: changes written by invocations side by side, their
fan-outs marking a station whose message is in flight just before or after another's mark or the answer.
The mark only rises, a mark that lands after the answer does not stand for a delivery, and no race leaves
a change to nobody. Each race is staged by running another writer inside `delivery._mark`, just before
the mark it races."""

from collections.abc import Callable

from connections.platform.table import now
from connections.stations import allow_entries, delivery
from connections.stations.local_list import Access, TagStatus
from tests.support.stations import given_auto_member, given_depot, given_station, settle, stored_station

POLICY_TAGS = "ISO14443"


def written(policy_id: str, tag: str) -> int:
    """A change of the policy's list, as some sync invocation writes it: its sequence."""
    change = {(policy_id, tag): (Access(TagStatus.ACCEPTED), f"driver-{tag}", POLICY_TAGS, now())}
    return allow_entries.apply(allow_entries.Changes(change))[policy_id]


def in_flight_at_one_entry_a_message(sync):
    """A synced station taking one entry a message (SendLocalListMaxLength 1), with a Differential in
    flight (TAG-1): its messages stop exactly where the mark says."""
    organization, connection, policy = given_depot()
    station = given_station(organization, "CP-1", policy["policy_id"], send_local_list_max_length=1)
    settle(sync, station)
    given_auto_member(connection, "driver-1", "TAG-1")
    sync.drain()
    return policy["policy_id"], station, station.take_one("SendLocalList")


def marked_as_read_before(policy_id: str, seq: int) -> delivery.EntryReader:
    """The reader of an invocation that read the policy's sequence when it was `seq`."""
    reader = delivery.EntryReader()
    reader._latest[policy_id] = seq
    return reader


def fanned_out_with(monkeypatch, policy_id: str, seq: int, first: Callable) -> None:
    """The fan-out of the policy's change up to `seq`, with `first(station, seq, reader)` run just before
    each of its marks (the race it stages)."""
    mark = delivery._mark

    def staged(found, seq, reader):
        first(found, seq, reader)
        return mark(found, seq, reader)

    monkeypatch.setattr(delivery, "_mark", staged)
    delivery.send_next_lists({policy_id: seq}, set())
    monkeypatch.setattr(delivery, "_mark", mark)


def test_a_fan_out_racing_older_fan_outs_marks_the_station_all_the_same(sync, monkeypatch):
    # Given a station with a message in flight, and changes TAG-2..4 then TAG-5 written by invocations
    # side by side, the older ones having read the policy's sequence before TAG-5 existed
    policy_id, station, in_flight = in_flight_at_one_entry_a_message(sync)
    older = [written(policy_id, f"TAG-{n}") for n in (2, 3, 4)]
    last = written(policy_id, "TAG-5")

    # When each time just before TAG-5's fan-out marks the station, an older fan-out marks it first
    mark, racing = delivery._mark, list(older)

    def older_first(found, seq, reader):
        if seq == last and racing:
            theirs = racing.pop(0)
            assert mark(stored_station("CP-1"), theirs, marked_as_read_before(policy_id, theirs))

    fanned_out_with(monkeypatch, policy_id, last, older_first)

    # Then the mark reaches TAG-5 (a lower mark written meanwhile does not fail a higher one), and the
    # station's answers bring it every change
    assert stored_station("CP-1").pending_seq == last
    station.accept(in_flight)
    settle(sync, station)
    assert station.statuses() == {f"TAG-{n}": "Accepted" for n in range(1, 6)}


def test_a_mark_that_lands_after_the_answer_does_not_stand_for_a_delivery(sync, monkeypatch):
    # Given a station with a message in flight, and a change written
    policy_id, station, in_flight = in_flight_at_one_entry_a_message(sync)
    seq = written(policy_id, "TAG-2")

    # When the change's fan-out reads the station in flight, but the station's answer is handled whole
    # (released; nothing more to send, as far as its mark said) before the fan-out's mark
    answered = []

    def answer_first(found, seq, reader):
        if not answered:
            answered.append(True)
            station.accept(in_flight)
            assert station.take() == []

    fanned_out_with(monkeypatch, policy_id, seq, answer_first)

    # Then the mark fails (the request it was for is gone) and the fan-out sends the change itself
    settle(sync, station)
    assert station.statuses() == {"TAG-1": "Accepted", "TAG-2": "Accepted"}


def test_a_mark_planned_from_an_older_read_does_not_lower_one_raised_since(sync, monkeypatch):
    # Given a station with a message in flight, and two changes written since (TAG-2, then TAG-3)
    policy_id, station, in_flight = in_flight_at_one_entry_a_message(sync)
    low, high = written(policy_id, "TAG-2"), written(policy_id, "TAG-3")

    # When the later change's fan-out marks the station between the earlier one's read and its mark
    mark, raced = delivery._mark, []

    def later_first(found, seq, reader):
        if seq == low and not raced:
            raced.append(True)
            assert mark(stored_station("CP-1"), high, marked_as_read_before(policy_id, high))
            reader._latest[policy_id] = low  # read before TAG-3 was written

    fanned_out_with(monkeypatch, policy_id, low, later_first)

    # Then the mark stays at TAG-3, and the station ends with both changes
    assert stored_station("CP-1").pending_seq == high
    station.accept(in_flight)
    settle(sync, station)
    assert station.statuses() == {"TAG-1": "Accepted", "TAG-2": "Accepted", "TAG-3": "Accepted"}
