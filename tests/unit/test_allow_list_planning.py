"""Allow-list planning: who is on a station's list, and which message brings the station there."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connections.memberships.state_machine import Membership, Status
from connections.stations.dialects import V16
from connections.stations.local_list import (
    Entry,
    Fetch,
    StationList,
    TagStatus,
    UpdateType,
    access,
    make_room,
    message,
    need,
    overflows,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ACTIVE, PENDING, REMOVED = Membership(Status.ACTIVE), Membership(Status.PENDING), Membership(Status.REMOVED)


def test_a_driver_with_an_active_membership_in_an_unlocking_connection_is_accepted():
    assert access([("staff", ACTIVE)], {"staff"}, NOW).status is TagStatus.ACCEPTED


@pytest.mark.parametrize("membership", [PENDING, REMOVED, Membership(Status.ACTIVE, NOW - timedelta(days=1))])
def test_no_active_membership_means_blocked(membership):
    assert access([("staff", membership)], {"staff"}, NOW).status is TagStatus.BLOCKED


def test_leaving_one_of_two_unlocking_connections_keeps_the_driver_on_the_list():
    # Given a driver in "staff" and "residents", which both unlock the station, who left "residents"
    memberships = [("staff", ACTIVE), ("residents", Membership(Status.LEFT))]
    # Then the driver is still accepted
    assert access(memberships, {"staff", "residents"}, NOW).status is TagStatus.ACCEPTED


def test_a_membership_in_another_connection_does_not_unlock():
    assert access([("guests", ACTIVE)], {"staff"}, NOW).status is TagStatus.BLOCKED


def test_expiry_is_the_latest_of_the_unlocking_memberships_and_none_wins():
    soon, later = NOW + timedelta(days=1), NOW + timedelta(days=30)
    assert access(
        [("a", Membership(Status.ACTIVE, soon)), ("b", Membership(Status.ACTIVE, later))], {"a", "b"}, NOW
    ) == (access([("b", Membership(Status.ACTIVE, later))], {"b"}, NOW))
    assert access([("a", Membership(Status.ACTIVE, soon)), ("b", ACTIVE)], {"a", "b"}, NOW).expires_at is None


def entries(seqs, status=TagStatus.ACCEPTED) -> list[Entry]:
    return [Entry(f"T{s}", status, None, s) for s in seqs]


def test_a_station_that_never_synced_gets_a_full():
    station = StationList(chunk=25)
    wanted = need(station, policy_seq=3)
    assert wanted.fetch is Fetch.TOP and wanted.limit == 25
    send = message(station, wanted, entries([3, 2, 1]), 3)  # fewer than the limit: no chunk follows
    assert send.update_type is UpdateType.FULL and send.version == 1
    assert send.then == replace(
        station, version=1, held_seq=3, held_count=3, needs_full=False, full_sent=3, floor=1
    )


def test_an_empty_full_clears_the_station():
    send = message(StationList(), need(StationList(), 0), [], 0)
    assert send.update_type is UpdateType.FULL and V16.send_local_list(send)["localAuthorizationList"] == []


def test_changes_go_as_a_differential_with_a_higher_version():
    station = StationList(version=4, held_seq=10, held_count=5, needs_full=False)
    wanted = need(station, policy_seq=12)
    assert (wanted.fetch, wanted.after) == (Fetch.CHANGED, 10)
    send = message(station, wanted, entries([11, 12]), 12)
    assert (send.update_type, send.version, send.then.held_seq) == (UpdateType.DIFFERENTIAL, 5, 12)


def test_nothing_to_send_when_in_sync_or_unsupported():
    assert need(StationList(version=2, held_seq=7, needs_full=False), 7).fetch is Fetch.NOTHING
    assert need(StationList(supported=False), 7).fetch is Fetch.NOTHING


def test_a_big_full_goes_as_a_full_chunk_then_differential_chunks():
    # Given a station taking 2 entries per message and a list of 5
    station, policy = StationList(chunk=2), list(range(5, 0, -1))
    sends = []
    while True:
        wanted = need(station, 5)
        if wanted.fetch is Fetch.NOTHING:
            break
        page = [e for e in entries(policy) if wanted.fetch is Fetch.TOP or e.seq < wanted.below][
            : wanted.limit + 1
        ]
        send = message(station, wanted, page, 5)
        sends.append(send)
        station = send.then
    assert [(s.update_type, [e.seq for e in s.entries]) for s in sends] == [
        (UpdateType.FULL, [5, 4]),
        (UpdateType.DIFFERENTIAL, [3, 2]),
        (UpdateType.DIFFERENTIAL, [1]),
    ]
    assert [s.version for s in sends] == [1, 2, 3]
    assert station.held_seq == 5 and station.full_below is None


def test_a_small_station_holds_the_most_recent_entries():
    station = StationList(chunk=2, capacity=3)
    wanted = need(station, 9)
    first = message(station, wanted, entries([9, 8, 7]), 9)
    assert first.then.full_below == 8
    wanted = need(first.then, 9)
    assert (wanted.fetch, wanted.limit, wanted.below) == (Fetch.BELOW, 1, 8)
    second = message(first.then, wanted, entries([7, 6]), 9)
    assert second.then.full_below is None and second.then.held_count == 3


def test_a_change_at_a_full_station_adds_it_and_deletes_the_oldest_entry_it_holds():
    # Given a station holding four entries, its capacity, changed last at 6..9
    station = StationList(version=3, held_seq=9, held_count=4, capacity=4, needs_full=False, floor=6)
    wanted = need(station, 10)
    changed = entries([10])
    assert overflows(station, wanted, changed)

    # When the planner asks what it holds
    room = make_room(station, wanted, changed)
    assert (room.fetch, room.after, room.limit) == (Fetch.HELD, 5, 4 + 25 + 1)
    send = message(station, wanted, changed, 10, held=entries([6, 7, 8, 9, 10]))

    # Then one Differential adds the change and deletes the oldest entry
    assert send.update_type is UpdateType.DIFFERENTIAL
    assert V16.send_local_list(send)["localAuthorizationList"] == [
        {"idTag": "T10", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "T6"},
    ]
    assert (send.then.held_seq, send.then.held_count, send.then.floor) == (10, 4, 7)


def test_a_full_station_that_holds_less_than_counted_deletes_nothing():
    # Given a station counted as full whose entries were partly updated since (counted twice)
    station = StationList(version=3, held_seq=9, held_count=4, capacity=4, needs_full=False, floor=6)
    wanted = need(station, 10)
    send = message(station, wanted, entries([10]), 10, held=entries([8, 9]))
    assert send.deleted == () and (send.then.held_count, send.then.floor) == (3, 8)


def test_a_listed_entry_changed_but_not_in_the_message_still_takes_room_at_a_full_station():
    # Given a full station holding T6..T9 (capacity 4, one addition per message), and two changes since:
    # a new idTag (10), then T7 revoked (11)
    station = StationList(version=3, held_seq=9, held_count=4, capacity=4, chunk=2, needs_full=False, floor=6)
    changed = [entries([10])[0], Entry("T7", TagStatus.BLOCKED, None, 11)]
    wanted = need(station, 11)
    room = make_room(station, wanted, changed)
    log = [*entries([6, 8, 9]), *changed]  # T7's change item moved to 11

    # When the message adds only the first change
    send = message(station, wanted, changed, 11, held=[e for e in log if e.seq > room.after])

    # Then it deletes the oldest entry all the same: T7 is still on the station, as it was
    assert [e.id_tag for e in send.entries] == ["T10"] and send.deleted == ("T6",)
    assert (send.then.held_seq, send.then.held_count) == (10, 4)


def test_an_entry_read_where_it_was_and_where_it_moved_to_counts_once():
    # Given a full station, and a read of what it holds that saw T7 both before and after it changed
    station = StationList(version=3, held_seq=9, held_count=4, capacity=4, chunk=4, needs_full=False, floor=6)
    changed = [*entries([10]), Entry("T7", TagStatus.BLOCKED, None, 11)]
    held = [*entries([6, 7, 8, 9]), *changed]

    # Then the message makes room for exactly one newcomer
    send = message(station, need(station, 11), changed, 11, held=held)
    assert send.deleted == ("T6",) and send.then.held_count == 4


@pytest.mark.parametrize(
    "station",
    [
        StationList(version=3, held_seq=9, held_count=3, capacity=4, chunk=1, needs_full=False),
        StationList(version=3, held_seq=9, held_count=1, capacity=1, needs_full=False),
    ],
    ids=["one-entry-messages", "more-changes-than-room"],
)
def test_a_full_station_that_cannot_make_room_in_one_message_gets_a_full(station):
    wanted = need(station, 11)
    assert overflows(station, wanted, entries([10, 11]))
    assert make_room(station, wanted, entries([10, 11])) is None


def test_a_station_holding_more_than_it_can_gets_a_full():
    station = StationList(version=3, held_seq=9, held_count=2, capacity=2, needs_full=False)
    wanted = need(station, 10)
    assert message(station, wanted, entries([10]), 10, held=entries([7, 8, 9])) is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 25])
@pytest.mark.parametrize("capacity", [None, 2, 4])
def test_a_station_always_converges_to_the_most_recent_entries(chunk, capacity):
    # Given a policy's change log (the latest change of each idTag) and a station that applies each
    # message as a charger would
    log = {f"T{s}": Entry(f"T{s}", TagStatus.ACCEPTED, None, s) for s in range(1, 8)}
    held: dict[str, Entry] = {}
    station = StationList(chunk=chunk, capacity=capacity)
    arriving = [
        Entry("T8", TagStatus.ACCEPTED, None, 8),
        Entry("T3", TagStatus.BLOCKED, None, 9),
        Entry("T9", TagStatus.ACCEPTED, None, 10),
    ]
    for _ in range(60):
        top = max(e.seq for e in log.values())
        ordered = sorted(log.values(), key=lambda e: e.seq)
        wanted = need(station, top)
        if wanted.fetch is Fetch.NOTHING:
            if not arriving:
                break
            change = arriving.pop(0)  # a change arrives once the station is in sync
            log[change.id_tag] = change
            continue
        send = None
        if wanted.fetch is Fetch.CHANGED:
            page = [e for e in ordered if e.seq > wanted.after][: wanted.limit]
            if overflows(station, wanted, page):
                room = make_room(station, wanted, page)
                if room is not None:
                    holding = [e for e in ordered if room.after < e.seq][: room.limit]
                    send = message(station, wanted, page, top, held=holding)
                if send is None:
                    station = replace(station, needs_full=True)
                    continue
        elif wanted.fetch is Fetch.TOP:
            page = list(reversed(ordered))[: wanted.limit + 1]
        else:
            page = [e for e in reversed(ordered) if e.seq < wanted.below][: wanted.limit + 1]
        send = send or message(station, wanted, page, top)
        if send is None:
            break
        if send.update_type is UpdateType.FULL:
            held = {}
        held.update({e.id_tag: e for e in send.entries})
        for id_tag in send.deleted:
            held.pop(id_tag)
        station = send.then
        assert len(send.entries) + len(send.deleted) <= chunk
        assert capacity is None or len(held) <= capacity, held
        if arriving and arriving[0].seq == 8:  # a change arrives while syncing
            change = arriving.pop(0)
            log[change.id_tag] = change
    # Then it holds the whole list, or as much of the most recent part as fits, each as it is now
    assert not arriving
    most_recent = sorted(log.values(), key=lambda e: -e.seq)[: capacity or len(log)]
    assert {t: held[t] for t in held if t in log} == {t: log[t] for t in held if t in log}
    assert set(held) >= {e.id_tag for e in most_recent}
    assert capacity is None or len(held) <= capacity
