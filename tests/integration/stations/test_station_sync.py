"""Allow lists reaching stations: table changes made through the real API handlers, the table's stream read
from moto and delivered to the StationSyncFunction through the template's FilterCriteria, SendLocalList
frames read from moto's IoT data backend, and the station's answers sent through StationMessagesFunction."""

from datetime import timedelta

import pytest

from connections.platform.table import now
from connections.stations import allow_entries, delivery
from connections.stations.items import AllowListItem, PolicyItem
from tests.support.memberships import (
    DRIVER,
    as_driver,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
)
from tests.support.stations import (
    as_station_admin,
    entries_of,
    given_auto_member,
    given_card,
    given_depot,
    given_open_connection,
    given_policy,
    given_station,
    given_synced_station,
    list_payload,
    parse_time,
    policy_view,
    remove_card,
    settle,
    station_view,
    statuses,
    stored_station,
)


def given_employees_and_guests() -> tuple[str, dict, dict]:
    """An organization with two open connections, Employees and Guests, of one member each (TAG-E, TAG-G)."""
    organization = given_organization()
    employees = given_open_connection(organization, "Employees")
    guests = given_open_connection(organization, "Guests")
    given_auto_member(employees, "employee", "TAG-E")
    given_auto_member(guests, "guest", "TAG-G")
    return organization, employees, guests


def test_a_new_station_of_a_policy_receives_its_whole_list_and_is_then_in_sync(sync):
    # Given a policy whose connection has two members
    organization, connection, policy = given_depot({"driver-a": "TAG-A", "driver-b": "TAG-B"})
    sync.drain()

    # When the station is registered
    station = given_station(organization, "CP-1", policy["policy_id"])
    sync.drain()

    # Then its first message is a Full of version 1 with both members
    first = station.take_one("SendLocalList")
    update_type, version, entries = list_payload(first)
    assert (update_type, version) == ("Full", 1)
    assert statuses(entries) == {"TAG-A": "Accepted", "TAG-B": "Accepted"}

    # When it accepts
    station.accept(first)

    # Then it is in sync with the policy's sequence, and nothing more is sent
    sync.drain()
    assert station.take() == []
    status = station_view(organization, "CP-1")["sync"]
    assert status["in_sync"] is True
    assert status["list_version"] == 1
    assert status["held_sequence"] == policy_view(organization, policy["policy_id"])["list_sequence"] == 2


def test_a_driver_approved_with_two_cards_reaches_the_station_in_one_differential(sync):
    # Given a synced station and a driver with two cards who asks to join
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_card(DRIVER, "TAG-1")
    given_card(DRIVER, "TAG-2")
    given_pending(connection, DRIVER)

    # When a pending request is all there is
    sync.drain()

    # Then nothing changes at the station
    assert station.take() == []
    assert entries_of(policy["policy_id"]) == {}

    # When the admin approves
    assert decide(connection, DRIVER, "approve").status == 200
    sync.drain()

    # Then
    update_type, version, entries = list_payload(station.take_one("SendLocalList"))
    assert (update_type, version) == ("Differential", 2)
    assert statuses(entries) == {"TAG-1": "Accepted", "TAG-2": "Accepted"}


@pytest.mark.parametrize(
    ("change", "kind"), [("approve", "membership"), ("add a card", "card"), ("remove", "membership")]
)
def test_a_change_to_the_list_invokes_the_sync_function_once_with_that_change_alone(sync, change, kind):
    # Given a synced station, and a driver with a card who asks to join (a member, but for the approval)
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_card(DRIVER, "TAG-1")
    given_pending(connection, DRIVER)
    if change != "approve":
        assert decide(connection, DRIVER, "approve").status == 200
    settle(sync, station)
    before = len(sync.delivered)

    # When the list changes
    match change:
        case "approve" | "remove":
            assert decide(connection, DRIVER, change).status == 200
        case "add a card":
            given_card(DRIVER, "TAG-2")
    sync.drain()

    # Then the function ran once, for that change's record: writing the entries raised the list's sequence,
    # and that write is not one more record that passes the filter only for the function to find nothing
    batches = sync.delivered[before:]
    assert [[r["dynamodb"]["NewImage"]["kind"]["S"] for r in batch] for batch in batches] == [[kind]]
    assert list_payload(station.take_one("SendLocalList"))[0] == "Differential"
    assert station_view(organization, "CP-1")["sync"]["wanted_sequence"] == (1 if change == "approve" else 2)


def test_a_card_added_later_reaches_the_station_too(sync):
    # Given a member with one card on a synced station
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When the driver registers another card
    given_card(DRIVER, "tag-2")
    sync.drain()

    # Then only that card is sent
    update_type, version, entries = list_payload(station.take_one("SendLocalList"))
    assert (update_type, version) == ("Differential", 2)
    assert statuses(entries) == {"TAG-2": "Accepted"}


def test_a_removed_card_is_sent_as_blocked(sync):
    # Given a member with two cards on a synced station
    organization, connection, policy = given_depot({DRIVER: ("TAG-1", "TAG-2")})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"TAG-1": "Accepted", "TAG-2": "Accepted"}

    # When the driver removes one
    assert remove_card(DRIVER, "TAG-1").status == 200
    sync.drain()

    # Then the station is told it is Blocked, and the other card stays
    update_type, _, entries = list_payload(sent := station.take_one("SendLocalList"))
    assert update_type == "Differential"
    assert statuses(entries) == {"TAG-1": "Blocked"}
    station.accept(sent)
    assert station.statuses() == {"TAG-1": "Blocked", "TAG-2": "Accepted"}


def test_a_removed_member_is_blocked_not_deleted(sync):
    # Given a member with a card on a synced station
    organization = given_organization()
    connection = given_connection(organization)
    given_card(DRIVER, "TAG-1")
    given_active(connection, DRIVER)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When the admin removes the member
    assert decide(connection, DRIVER, "remove").status == 200
    sync.drain()

    # Then the entry is kept, with idTagInfo Blocked (an entry without idTagInfo would delete it)
    frame = station.take_one("SendLocalList")
    assert frame[3]["updateType"] == "Differential"
    assert frame[3]["localAuthorizationList"] == [{"idTag": "TAG-1", "idTagInfo": {"status": "Blocked"}}]
    assert entries_of(policy["policy_id"])["TAG-1"][0] == "Blocked"


def test_a_membership_that_must_be_confirmed_again_carries_its_expiry_date(sync):
    # Given a connection whose members confirm every 30 days
    organization = given_organization()
    connection = given_connection(organization, reverify_days=30)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_card(DRIVER, "TAG-1")

    # When the driver is approved
    approved = given_active(connection, DRIVER)
    sync.drain()

    # Then the entry expires when the membership does
    (info,) = list_payload(station.take_one("SendLocalList"))[2].values()
    assert info["status"] == "Accepted"
    assert abs(parse_time(info["expiryDate"]) - parse_time(approved["expires_at"])) < timedelta(seconds=1)


def test_a_member_of_two_unlocking_connections_stays_accepted_when_leaving_one(sync):
    # Given a policy unlocked by two connections, and a driver who is a member of both
    organization = given_organization()
    employees = given_open_connection(organization, "Employees")
    residents = given_open_connection(organization, "Residents")
    given_auto_member(employees, DRIVER, "TAG-1")
    assert as_driver("POST", f"/connections/{residents['connection_id']}/memberships", body={}).status == 201
    policy = given_policy(organization, [employees["connection_id"], residents["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"TAG-1": "Accepted"}
    seq_before = entries_of(policy["policy_id"])["TAG-1"][1]

    # When the driver leaves one
    assert as_driver("DELETE", f"/me/memberships/{employees['connection_id']}").body["status"] == "left"
    sync.drain()

    # Then the station hears nothing: the card is still Accepted
    assert station.take() == []
    assert entries_of(policy["policy_id"])["TAG-1"] == ("Accepted", seq_before)

    # When the driver leaves the other one too
    assert as_driver("DELETE", f"/me/memberships/{residents['connection_id']}").body["status"] == "left"
    sync.drain()

    # Then the card is Blocked
    assert statuses(list_payload(station.take_one("SendLocalList"))[2]) == {"TAG-1": "Blocked"}


def test_changing_a_policys_connections_revokes_and_grants_at_its_stations(sync):
    # Given a policy unlocked by one connection, and a member of another
    organization, employees, guests = given_employees_and_guests()
    policy = given_policy(organization, [employees["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"TAG-E": "Accepted"}

    # When the admin makes the policy the guests' instead
    answer = as_station_admin(
        "PATCH",
        f"/organizations/{organization}/policies/{policy['policy_id']}",
        body={"connection_ids": [guests["connection_id"]]},
    )
    assert answer.status == 200
    settle(sync, station)

    # Then
    assert station.statuses() == {"TAG-E": "Blocked", "TAG-G": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_changes_wait_while_a_request_is_in_flight_and_then_go_in_one_message(sync):
    # Given a synced station that has not answered the message bringing a first member
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, "driver-a", "TAG-A")
    sync.drain()
    in_flight = station.take_one("SendLocalList")

    # When two more drivers join meanwhile
    given_auto_member(connection, "driver-b", "TAG-B")
    given_auto_member(connection, "driver-c", "TAG-C")
    sync.drain()

    # Then nothing more is sent to the station
    assert station.take() == []
    assert station_view(organization, "CP-1")["sync"]["awaiting"] == "SendLocalList"

    # When the station answers
    station.accept(in_flight)

    # Then the next message carries both changes
    update_type, version, entries = list_payload(station.take_one("SendLocalList"))
    assert (update_type, version) == ("Differential", list_payload(in_flight)[1] + 1)
    assert statuses(entries) == {"TAG-B": "Accepted", "TAG-C": "Accepted"}


@pytest.mark.parametrize(
    ("refusal", "shown"),
    [
        pytest.param([3, {"status": "VersionMismatch"}], "VersionMismatch", id="VersionMismatch"),
        pytest.param([3, {"status": "Failed"}], "Failed", id="Failed"),
        pytest.param(
            [4, "InternalError", "list storage full", {}], "InternalError: list storage full", id="CALLERROR"
        ),
    ],
)
def test_a_refused_differential_is_followed_by_a_full(sync, refusal, shown):
    # Given a synced station holding one member
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When the next Differential is refused
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    differential = station.take_one("SendLocalList")
    assert list_payload(differential)[0] == "Differential"
    station.send([refusal[0], differential[1], *refusal[1:]])

    # Then the service sends the whole list, and its admins see the refusal until the station accepts
    full = station.take_one("SendLocalList")
    update_type, version, entries = list_payload(full)
    assert update_type == "Full"
    assert version > 1
    assert statuses(entries) == {"TAG-A": "Accepted", "TAG-B": "Accepted"}
    status = station_view(organization, "CP-1")["sync"]
    assert (status["failing"], status["last_refusal"]) == (True, shown)
    station.accept(full)
    status = station_view(organization, "CP-1")["sync"]
    assert (status["in_sync"], status["failing"], status["last_refusal"]) == (True, False, None)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param([3, {"status": "NotSupported"}], id="NotSupported"),
        pytest.param([4, "NotImplemented", "no local list", {}], id="CALLERROR-NotImplemented"),
    ],
)
def test_a_station_without_a_local_list_gets_no_more_lists(sync, answer):
    # Given two stations of a policy; one says it has no local list
    organization, connection, policy = given_depot()
    online_only = given_station(organization, "CP-1", policy["policy_id"])
    other = given_station(organization, "CP-2", policy["policy_id"])
    sync.drain()
    first = online_only.take_one("SendLocalList")
    online_only.send([answer[0], first[1], *answer[1:]])
    settle(sync, other)

    # When a driver joins
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()

    # Then only the other station is sent the change
    assert statuses(list_payload(other.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}
    assert online_only.take() == []
    status = station_view(organization, "CP-1")["sync"]
    assert status["online_only"] is True and status["in_sync"] is True
    assert online_only.authorize("TAG-1") == {"status": "Accepted"}


def test_a_long_list_is_cut_to_the_stations_send_local_list_max_length(sync):
    # Given a policy with five members
    organization, connection, policy = given_depot({f"driver-{n}": f"TAG-{n}" for n in range(5)})
    sync.drain()

    # When a station that takes two entries per message is registered and acknowledges each message
    station = given_station(organization, "CP-1", policy["policy_id"], send_local_list_max_length=2)
    sent = settle(sync, station)

    # Then it got a Full of two, then Differentials of two and one, and holds everyone
    assert [(f[3]["updateType"], f[3]["listVersion"], len(f[3]["localAuthorizationList"])) for f in sent] == [
        ("Full", 1, 2),
        ("Differential", 2, 2),
        ("Differential", 3, 1),
    ]
    assert station.statuses() == {f"TAG-{n}": "Accepted" for n in range(5)}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True

    # When three more join at once
    given_auto_member(connection, "driver-5", "TAG-5")
    given_auto_member(connection, "driver-6", "TAG-6")
    given_auto_member(connection, "driver-7", "TAG-7")
    more = settle(sync, station)

    # Then no message is longer than two entries either
    assert more and all(len(f[3]["localAuthorizationList"]) <= 2 for f in more)
    assert station.statuses() == {f"TAG-{n}": "Accepted" for n in range(8)}


def test_a_small_station_holds_the_most_recently_changed_entries(sync):
    # Given a policy whose five members joined one after the other
    organization, connection, policy = given_depot()
    for tag in ("TAG-C", "TAG-A", "TAG-E", "TAG-B", "TAG-D"):
        given_auto_member(connection, f"driver-{tag}", tag)
        sync.drain()

    # When a station that holds three entries is registered
    station = given_station(organization, "CP-1", policy["policy_id"], local_auth_list_max_length=3)
    sent = settle(sync, station)

    # Then it holds the three who joined last
    assert [f[3]["updateType"] for f in sent] == ["Full"]
    assert station.statuses() == {"TAG-E": "Accepted", "TAG-B": "Accepted", "TAG-D": "Accepted"}
    # and the others are accepted online
    assert station.authorize("TAG-C") == {"status": "Accepted"}

    # When a sixth driver joins
    given_auto_member(connection, "driver-F", "TAG-F")
    more = settle(sync, station)

    # Then the station still holds three, the newest three: one Differential adds the newcomer and deletes
    # the oldest, rather than a whole Full
    assert all(len(f[3]["localAuthorizationList"]) <= 3 for f in sent + more)
    assert [f[3]["localAuthorizationList"] for f in more] == [
        [{"idTag": "TAG-F", "idTagInfo": {"status": "Accepted"}}, {"idTag": "TAG-E"}]
    ]
    assert station.statuses() == {"TAG-F": "Accepted", "TAG-D": "Accepted", "TAG-B": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


@pytest.mark.parametrize("chunk", [25, 2], ids=["long-messages", "two-entry-messages"])
@pytest.mark.parametrize("members", [4, 5], ids=["filling-up", "full"])
def test_a_full_station_is_never_sent_more_than_it_holds_when_changes_arrive_while_it_answers(
    sync, members, chunk
):
    # Given a station that holds 5 entries, synced with the policy's members, that has not yet answered
    # the Differential bringing one more
    organization = given_organization()
    connection = given_open_connection(organization)
    tags = [f"TAG-{n}" for n in range(members + 1)]
    for tag in tags[:members]:
        given_auto_member(connection, f"driver-{tag}", tag)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_station(
        organization,
        "CP-1",
        policy["policy_id"],
        local_auth_list_max_length=5,
        send_local_list_max_length=chunk,
    )
    settle(sync, station)
    given_auto_member(connection, f"driver-{tags[-1]}", tags[-1])
    sync.drain()
    in_flight = station.take_one("SendLocalList")

    # When meanwhile a driver joins and then a listed member leaves
    given_auto_member(connection, "driver-new", "TAG-NEW")
    sync.drain()
    assert decide(connection, f"driver-{tags[1]}", "remove").status == 200
    sync.drain()
    assert station.take() == []

    # Then once it answers, every message fits in the station (`accept` checks), and it holds the five
    # most recent changes: the leaver Blocked, the newcomer Accepted
    station.accept(in_flight)
    for frame in station.take():
        station.accept(frame)
    settle(sync, station)
    held = station.statuses()
    assert len(held) == 5 and held[tags[1]] == "Blocked" and held["TAG-NEW"] == "Accepted"
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_moved_to_another_policy_gets_the_new_list(sync):
    # Given two policies with one member each, and a synced station of the first
    organization, employees, guests = given_employees_and_guests()
    first = given_policy(organization, [employees["connection_id"]], name="Staff")
    second = given_policy(organization, [guests["connection_id"]], name="Visitors")
    station = given_synced_station(sync, organization, "CP-1", first["policy_id"])
    assert station.statuses() == {"TAG-E": "Accepted"}

    # When the admin moves it to the second policy
    moved = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-1", body={"policy_id": second["policy_id"]}
    )
    sent = settle(sync, station)

    # Then it gets the second policy's whole list
    assert moved.status == 200 and moved.body["sync"]["in_sync"] is False
    assert [list_payload(f)[:2] for f in sent] == [("Full", 2)]
    assert station.statuses() == {"TAG-G": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_given_a_smaller_message_size_gets_its_list_again_in_chunks(sync):
    # Given a synced station holding three members
    organization, connection, policy = given_depot(
        {f"driver-{tag}": tag for tag in ("TAG-1", "TAG-2", "TAG-3")}
    )
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When the admin says it takes one entry per message
    answer = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-1", body={"send_local_list_max_length": 1}
    )
    sent = settle(sync, station)

    # Then the list is sent again, one entry at a time
    assert answer.status == 200 and answer.body["capabilities"]["send_local_list_max_length"] == 1
    assert [(f[3]["updateType"], len(f[3]["localAuthorizationList"])) for f in sent] == [
        ("Full", 1),
        ("Differential", 1),
        ("Differential", 1),
    ]
    assert station.statuses() == {"TAG-1": "Accepted", "TAG-2": "Accepted", "TAG-3": "Accepted"}


def test_a_station_that_keeps_refusing_is_not_sent_full_lists_forever(sync):
    # Given a station that answers Failed to everything
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    station = given_station(organization, "CP-1", policy["policy_id"])

    # When the service and the station go on for a while
    sent = []
    for _ in range(3 * delivery.MAX_REFUSALS):
        sync.drain()
        frames = station.take()
        if not frames:
            break
        for frame in frames:
            sent.append(frame)
            station.answer(frame, {"status": "Failed"})

    # Then the service stopped after MAX_REFUSALS Fulls in a row, leaving the next try to the sweep
    assert [f[3]["updateType"] for f in sent] == ["Full"] * delivery.MAX_REFUSALS
    assert stored_station("CP-1").gsi3pk == delivery.shard(delivery.RETRY, "CP-1")


def test_a_station_moved_to_another_policy_while_a_request_is_in_flight_gets_the_new_list(sync):
    # Given two policies with one member each, and a station of the first with its Full in flight
    organization, employees, guests = given_employees_and_guests()
    first = given_policy(organization, [employees["connection_id"]], name="Staff")
    second = given_policy(organization, [guests["connection_id"]], name="Visitors")
    station = given_station(organization, "CP-1", first["policy_id"])
    sync.drain()
    old_full = station.take_one("SendLocalList")

    # When the admin moves the station to the second policy, and then the station accepts the old Full
    moved = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-1", body={"policy_id": second["policy_id"]}
    )
    assert moved.status == 200 and moved.body["policy_id"] == second["policy_id"]
    sync.drain()
    station.accept(old_full)
    settle(sync, station)

    # Then the station ends up with the second policy's list
    assert station.statuses() == {"TAG-G": "Accepted"}


def test_a_station_made_usable_by_everyone_does_not_keep_refusing_revoked_cards(sync):
    # Given a station whose list holds a removed member's card as Blocked
    organization, connection, policy = given_depot({"driver-a": "TAG-A", "driver-b": "TAG-B"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert decide(connection, "driver-b", "remove").status == 200
    settle(sync, station)
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Blocked"}

    # When the admin makes the station usable by everyone
    answer = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-1", body={"usable_by_everyone": True}
    )
    assert answer.status == 200 and answer.body["policy_id"] is None
    settle(sync, station)

    # Then the card is accepted online, and the station's own list does not refuse it either
    assert station.authorize("TAG-B") == {"status": "Accepted"}
    assert station.statuses().get("TAG-B") in (None, "Accepted")


def test_a_denied_or_withdrawn_request_never_reaches_the_station(sync):
    # Given a synced station and two drivers with cards who ask to join
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    for driver, tag in (("driver-a", "TAG-A"), ("driver-b", "TAG-B"), ("driver-c", "TAG-C")):
        given_card(driver, tag)
        given_pending(connection, driver)

    # When one is denied, one withdraws and one is approved
    assert decide(connection, "driver-a", "deny").status == 200
    assert as_driver("DELETE", f"/me/memberships/{connection['connection_id']}", sub="driver-b").status == 200
    assert decide(connection, "driver-c", "approve").status == 200
    sync.drain()

    # Then only the approved driver is sent, and no entry exists for the others
    assert statuses(list_payload(station.take_one("SendLocalList"))[2]) == {"TAG-C": "Accepted"}
    assert set(entries_of(policy["policy_id"])) == {"TAG-C"}


def test_every_station_of_the_policy_receives_the_change(sync):
    # Given two synced stations of a policy and one of another
    organization = given_organization()
    connection = given_open_connection(organization)
    other_connection = given_open_connection(organization, "Others")
    policy = given_policy(organization, [connection["connection_id"]])
    other_policy = given_policy(organization, [other_connection["connection_id"]], name="Other")
    first = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    second = given_synced_station(sync, organization, "CP-2", policy["policy_id"])
    elsewhere = given_synced_station(sync, organization, "CP-3", other_policy["policy_id"])

    # When a driver joins the policy's connection
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()

    # Then
    for station in (first, second):
        assert statuses(list_payload(station.take_one("SendLocalList"))[2]) == {"TAG-1": "Accepted"}
    assert elsewhere.take() == []
    assert stored_station("CP-3").in_flight_id is None


def test_a_list_whose_sequence_an_older_table_kept_on_the_policy_continues_from_there(sync):
    # Given a synced station whose list was written when the policy item carried the list's sequence
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    policy_id = policy["policy_id"]
    AllowListItem.get(*AllowListItem.key(policy_id)).delete()
    PolicyItem(*PolicyItem.key(policy_id)).update(actions=[PolicyItem.seq.set(1)])
    sync.drain()
    assert station_view(organization, "CP-1")["sync"] | {"acknowledged_at": None} == {
        "wanted_sequence": 1,
        "held_sequence": 1,
        "list_version": 1,
        "acknowledged_at": None,
        "in_sync": True,
        "awaiting": None,
        "online_only": False,
        "failing": False,
        "last_refusal": None,
        "failing_since": None,
        "stale_since": None,
    }

    # When another driver joins
    given_auto_member(connection, "driver-b", "TAG-B")
    accepted = settle(sync, station)

    # Then the new entry takes the next number (the older entry's change is kept), and only it is sent
    assert entries_of(policy_id) == {"TAG-A": ("Accepted", 1), "TAG-B": ("Accepted", 2)}
    assert [(list_payload(f)[0], statuses(list_payload(f)[2])) for f in accepted] == [
        ("Differential", {"TAG-B": "Accepted"})
    ]
    assert policy_view(organization, policy_id)["list_sequence"] == 2
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_verdict_read_before_a_removal_is_not_written_after_the_removals_own(sync):
    # Given a member whose card is on the policy's list
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    sync.drain()
    assert entries_of(policy["policy_id"])["TAG-1"][0] == "Accepted"

    # When one invocation reads the driver while still a member (a card record, say), then another, side by
    # side or on another shard, handles the removal and writes it, before the first writes what it read
    late = allow_entries.Changes()
    allow_entries._driver(late, DRIVER, now(), connections=None)
    assert decide(connection, DRIVER, "remove").status == 200
    sync.drain()
    assert entries_of(policy["policy_id"])["TAG-1"][0] == "Blocked"
    allow_entries.apply(late)

    # Then the removal stands: the older verdict is not written over it
    assert entries_of(policy["policy_id"])["TAG-1"][0] == "Blocked"
