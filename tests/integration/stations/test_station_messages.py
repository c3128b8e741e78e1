"""What stations send on `<id>/in` (StationMessagesFunction): online Authorize, BootNotification and the
list reconciliation after it, the usual chatter; and the sweeps: requests left unanswered are sent again,
lapsed memberships become Expired and then Blocked at the stations."""

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest

from connections.stations import delivery
from connections.stations.local_list import MAX_REFUSALS
from functions.station_messages.app import handler as station_messages_handler
from tests.support.api import FakeLambdaContext
from tests.support.counting import DynamoDBCalls
from tests.support.memberships import (
    DRIVER,
    decide,
    given_active,
    given_connection,
    given_organization,
    my_membership,
)
from tests.support.stations import (
    Station,
    as_station_admin,
    backdate_in_flight,
    given_auto_member,
    given_card,
    given_depot,
    given_open_connection,
    given_policy,
    given_station,
    given_synced_station,
    list_payload,
    metric,
    move_expiry,
    parse_time,
    policy_seq,
    published,
    run_expiry,
    run_sweep,
    settle,
    station_view,
    statuses,
    stored_station,
)


def close_to_now(text: str) -> bool:
    return abs(parse_time(text) - datetime.now(UTC)) < timedelta(seconds=5)


# --- Authorize


def test_what_a_station_is_sent_in_answer_is_counted_with_its_bytes(sync, capsys):
    organization, _, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    capsys.readouterr()

    station.call("Heartbeat", {})

    answer = station.take_one()
    output = capsys.readouterr().out
    assert metric(output, "StationMessages") == [1.0]
    assert metric(output, "StationBytes") == [float(len(published()[-1][1]))], answer


def test_authorize_answers_as_the_policys_allow_list_says(sync):
    # Given a member, a removed member, a driver with a card who is no member, and a member who reverifies
    organization = given_organization()
    connection = given_connection(organization)
    reverifying = given_connection(organization, name="Guests", reverify_days=30)
    for driver, tag in (("member", "TAG-OK"), ("removed", "TAG-GONE"), ("stranger", "TAG-STRANGER")):
        given_card(driver, tag)
    given_card("guest", "TAG-GUEST")
    policy = given_policy(organization, [connection["connection_id"], reverifying["connection_id"]])
    given_active(connection, "member")
    given_active(connection, "removed")
    guest = given_active(reverifying, "guest")
    sync.drain()
    assert decide(connection, "removed", "remove").status == 200
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"TAG-OK": "Accepted", "TAG-GONE": "Blocked", "TAG-GUEST": "Accepted"}

    # When the station asks about each card
    answers = {
        tag: station.authorize(tag) for tag in ("TAG-OK", "TAG-GONE", "TAG-STRANGER", "UNKNOWN", "TAG-GUEST")
    }

    # Then
    assert answers["TAG-OK"] == {"status": "Accepted"}
    assert answers["TAG-GONE"] == {"status": "Blocked"}
    assert answers["TAG-STRANGER"] == {"status": "Invalid"}
    assert answers["UNKNOWN"] == {"status": "Invalid"}
    assert answers["TAG-GUEST"]["status"] == "Accepted"
    assert abs(parse_time(answers["TAG-GUEST"]["expiryDate"]) - parse_time(guest["expires_at"])) < timedelta(
        seconds=1
    )


def test_a_station_usable_by_everyone_accepts_any_registered_card(sync):
    # Given a station without a policy
    organization = given_organization()
    given_card(DRIVER, "TAG-1")
    station = given_station(organization, "CP-1")
    cleared = settle(sync, station)

    # When
    registered, unknown = station.authorize("TAG-1"), station.authorize("TAG-2")

    # Then
    assert registered == {"status": "Accepted"}
    assert unknown == {"status": "Invalid"}
    # and the only list it is ever sent is the empty one that clears whatever it held before
    assert [(f[2], f[3]["updateType"], f[3]["localAuthorizationList"]) for f in cleared] == [
        ("SendLocalList", "Full", [])
    ]
    assert station.take() == []
    assert station_view(organization, "CP-1")["sync"]["online_only"] is True


@pytest.mark.parametrize("with_policy", [True, False], ids=["policy", "usable-by-everyone"])
def test_authorize_is_case_insensitive_as_ocpp_id_tags_are(sync, with_policy):
    # Given a member's card, registered as 04A1B2C3
    organization = given_organization()
    connection = given_open_connection(organization)
    given_auto_member(connection, DRIVER, "04a1b2c3")
    policy = given_policy(organization, [connection["connection_id"]]) if with_policy else None
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"]) if policy else None
    station = station or given_station(organization, "CP-1")
    assert station.authorize("04A1B2C3") == {"status": "Accepted"}

    # When the charger reads the card's UID in lower case
    answer = station.authorize("04a1b2c3")

    # Then
    assert answer == {"status": "Accepted"}


def test_a_lapsed_membership_is_expired_online_and_blocked_once_the_expiry_sweep_ran(sync):
    # Given a member who must confirm again, whose date is about to pass, on a synced station
    organization = given_organization()
    connection = given_connection(organization, reverify_days=30)
    given_card(DRIVER, "TAG-1")
    given_active(connection, DRIVER)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    lapse = datetime.now(UTC) + timedelta(seconds=1.2)
    move_expiry(connection["connection_id"], DRIVER, lapse)
    (info,) = list_payload(sent := settle(sync, station)[0])[2].values()
    assert info["status"] == "Accepted"
    assert abs(parse_time(info["expiryDate"]) - lapse) < timedelta(milliseconds=1)
    assert sent[3]["updateType"] == "Differential"

    # When the date has passed
    time.sleep(max(0.0, (lapse - datetime.now(UTC)).total_seconds()) + 0.05)

    # Then the card is Expired online, while the stored membership is still active
    assert station.authorize("TAG-1") == {"status": "Expired"}

    # When the expiry sweep runs
    expired = run_expiry()
    sync.drain()

    # Then the membership is expired and the card is Blocked at the station, and online still Expired: the
    # reason the access check gives the driver
    assert expired == {"expired": 1}
    assert my_membership(connection).body["status"] == "expired"
    assert statuses(list_payload(station.take_one("SendLocalList"))[2]) == {"TAG-1": "Blocked"}
    assert station.authorize("TAG-1") == {"status": "Expired"}


# --- BootNotification and the list version


def test_a_boot_is_accepted_and_the_service_asks_for_the_list_version(sync):
    # Given a synced station
    organization, connection, policy = given_depot({DRIVER: "TAG-1"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When it boots
    result, question = station.boot()

    # Then
    assert result[2]["status"] == "Accepted"
    assert result[2]["interval"] > 0
    assert close_to_now(result[2]["currentTime"])
    assert question[0] == 2 and question[2:] == ["GetLocalListVersion", {}]
    assert station_view(organization, "CP-1")["sync"]["awaiting"] == "GetLocalListVersion"

    # When it answers the version the service recorded
    station.answer(question, {"listVersion": station.version})

    # Then it is sent its whole list all the same (the version cannot tell whether it is whole)
    full = station.take_one("SendLocalList")
    assert list_payload(full)[:2] == ("Full", station.version + 1)
    station.accept(full)
    sync.drain()
    assert station.take() == []
    assert station.statuses() == {"TAG-1": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_that_lost_its_list_and_took_a_differential_before_booting_gets_a_full(sync):
    # Given a station synced with three members, that reboots and loses its list (version 0)
    organization, connection, policy = given_depot(
        {f"driver-{tag}": tag for tag in ("TAG-A", "TAG-B", "TAG-C")}
    )
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    station.entries, station.version = {}, 0

    # When a fourth member joins before its BootNotification: it applies the Differential to its empty
    # list (its version is higher, as OCPP allows), and then boots and reports that version
    given_auto_member(connection, "driver-D", "TAG-D")
    settle(sync, station)
    assert station.statuses() == {"TAG-D": "Accepted"}
    _, question = station.boot()
    station.answer(question, {"listVersion": station.version})

    # Then it is sent its whole list, and only then counted in sync
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is False
    full = station.take_one("SendLocalList")
    assert list_payload(full)[0] == "Full"
    station.accept(full)
    assert station.statuses() == {tag: "Accepted" for tag in ("TAG-A", "TAG-B", "TAG-C", "TAG-D")}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


@pytest.mark.parametrize("held", [None, 0, 7], ids=["recorded-version", "lost-its-list", "other-version"])
def test_after_a_boot_a_station_gets_its_whole_list_with_what_changed_meanwhile(sync, held):
    # Given a synced station holding a member, that boots, and a driver who joins before it answers the
    # version question
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    _, question = station.boot()
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    assert station.take() == []

    # When it answers a version
    station.answer(question, {"listVersion": station.version if held is None else held})

    # Then it gets the whole list, the newcomer included
    full = station.take_one("SendLocalList")
    update_type, _, entries = list_payload(full)
    assert update_type == "Full"
    assert statuses(entries) == {"TAG-A": "Accepted", "TAG-B": "Accepted"}
    station.accept(full)
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_that_reports_no_local_list_after_a_boot_is_online_only(sync):
    # Given a synced station
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])

    # When it boots and says its list is disabled (-1)
    _, question = station.boot()
    station.answer(question, {"listVersion": -1})
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()

    # Then it is sent no list, and its driver is accepted online
    assert station.take() == []
    assert station_view(organization, "CP-1")["sync"]["online_only"] is True
    assert station.authorize("TAG-1") == {"status": "Accepted"}


def test_the_usual_chatter_is_answered_and_unknown_actions_are_refused():
    # Given
    organization = given_organization()
    station = given_station(organization, "CP-1")

    # When
    heartbeat = station.call("Heartbeat", {})
    status = station.call(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    )
    firmware = station.call("FirmwareStatusNotification", {"status": "Idle"})

    # Then (each answer checked against its Response schema by the fixture)
    answers = {frame[1]: frame for frame in station.take()}
    assert answers[heartbeat][0] == 3 and close_to_now(answers[heartbeat][2]["currentTime"])
    assert answers[status] == [3, status, {}]
    assert answers[firmware][0] == 4 and answers[firmware][2] == "NotImplemented"
    assert len(answers) == 3


def test_frames_from_strangers_and_garbage_are_ignored():
    # Given a registered station and one that is not
    organization = given_organization()
    station = given_station(organization, "CP-1")
    stranger = Station("CP-UNKNOWN")

    # When
    stranger.call("Heartbeat", {})
    for raw in (b"not json", b'{"an": "object"}', b"[2]", b'[9, "x", "Heartbeat", {}]'):
        station_messages_handler(
            {"station_id": "CP-1", "frame": base64.b64encode(raw).decode()}, FakeLambdaContext()
        )
    heartbeat = station.call("Heartbeat", {})

    # Then only the registered station's well-formed Heartbeat is answered
    assert stranger.take() == []
    assert [frame[1] for frame in station.take()] == [heartbeat]


# --- The sweep for unanswered requests


def test_a_request_left_unanswered_is_sent_again_with_a_new_unique_id(sync):
    # Given a synced station that has not answered the Differential bringing a new driver
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    first = station.take_one("SendLocalList")

    # When the sweep runs before the answer is due
    early = run_sweep()

    # Then nothing is resent
    assert early["resent"] == 0
    assert station.take() == []

    # When it runs after the timeout
    backdate_in_flight("CP-1", datetime.now(UTC) - delivery.ANSWER_TIMEOUT - timedelta(seconds=1))
    late = run_sweep()

    # Then the same request is sent again under a new unique id
    assert late["resent"] == 1
    again = station.take_one("SendLocalList")
    assert again[1] != first[1]
    assert again[2:] == first[2:]

    # When the station answers the first one after all
    station.answer(first, {"status": "Accepted"})

    # Then that stale answer changes nothing, and the answer to the resent one completes the delivery
    assert station_view(organization, "CP-1")["sync"]["awaiting"] == "SendLocalList"
    station.accept(again)
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True
    assert station.statuses() == {"TAG-1": "Accepted"}
    assert run_sweep()["resent"] == 0


@pytest.fixture
def dynamodb():
    counter = DynamoDBCalls().install()
    yield counter
    counter.uninstall()


# What a station's answer costs when its policy's list changed while its message was in flight: its item,
# its release (which returns the mark the change's fan-out left: decision 0046), then its next message: the
# entries it lacks, and the claim. No read of the policy's sequence.
ANSWER_THEN_NEXT = ["BatchGetItem", "UpdateItem", "Query", "UpdateItem"]


def test_a_change_written_while_a_station_answers_reaches_it_after_that_answer(sync, monkeypatch, dynamodb):
    # Given a synced station with a Differential in flight
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    first = station.take_one("SendLocalList")

    # When another driver joins, and its change reaches the sync function, just after the station's answer
    # was read and before the station is released: the fan-out finds the station in flight and marks it
    read = delivery.batch_get
    joined: list[list] = []

    def then_a_change(keys, consistent=False):
        found = read(keys, consistent)
        if not joined:
            answer_so_far = len(dynamodb.calls)
            joined.append([])
            given_auto_member(connection, "driver-2", "TAG-2")
            sync.drain()
            joined[0] = station.take()
            del dynamodb.calls[answer_so_far:]  # the change's own calls: not the answer's
        return found

    monkeypatch.setattr(delivery, "batch_get", then_a_change)
    dynamodb.reset()
    station.accept(first)

    # Then the fan-out sent nothing, and the answer sends the station the change all the same, in two calls
    # before its next message
    assert joined == [[]]
    assert dynamodb.operations() == ANSWER_THEN_NEXT
    station.accept(station.take_one("SendLocalList"))
    assert station.statuses() == {"TAG-1": "Accepted", "TAG-2": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_question_after_a_reconnection_keeps_what_the_lost_message_was_to_bring(sync, dynamodb):
    # Given a synced station whose Differential was lost with its socket, and a change marked on it since
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    station.take_one("SendLocalList")
    given_auto_member(connection, "driver-2", "TAG-2")
    sync.drain()
    assert station.take() == []

    # When it reconnects (the question of its list version takes the place of the lost message) and reports
    # the version it had
    (question,) = station.connected()
    dynamodb.reset()
    station.answer(question, {"listVersion": station.version})

    # Then it is sent both changes, in two calls before that message
    assert dynamodb.operations() == ANSWER_THEN_NEXT
    differential = station.take_one("SendLocalList")
    assert statuses(list_payload(differential)[2]) == {"TAG-1": "Accepted", "TAG-2": "Accepted"}


def test_a_station_moved_to_another_policy_while_in_flight_is_not_planned_from_the_old_policys_mark(sync):
    # Given a station in sync with a policy whose list is ahead of a second policy's, with a Differential in
    # flight, and later changes of its policy marked on it meanwhile
    organization, connection, policy = given_depot()
    visitors = given_open_connection(organization, name="Visitors")
    given_auto_member(visitors, "visitor", "TAG-V")
    second = given_policy(organization, [visitors["connection_id"]], name="Visitors")
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    in_flight = station.take_one("SendLocalList")
    for n in range(2, 5):
        given_auto_member(connection, f"driver-{n}", f"TAG-{n}")
    sync.drain()
    assert station.take() == []
    assert policy_seq(policy["policy_id"]) > policy_seq(second["policy_id"])

    # When the admin moves it to the second policy, and then it accepts the first policy's Differential
    moved = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-1", body={"policy_id": second["policy_id"]}
    )
    assert moved.status == 200
    sync.drain()
    station.accept(in_flight)

    # Then it is sent the second policy's list, and what must still reach it is counted in that policy's
    # sequence, not in the first's
    full = station.take_one("SendLocalList")
    assert list_payload(full)[0] == "Full"
    held = stored_station("CP-1")
    assert (held.pending_policy, held.pending_seq) == (second["policy_id"], policy_seq(second["policy_id"]))
    station.accept(full)
    settle(sync, station)
    assert station.statuses() == {"TAG-V": "Accepted"}


class Clock:
    """The delivery's clock (what it stamps, and what the sweep compares due times with), moved by hand."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


def test_a_station_that_keeps_answering_failed_is_tried_again_until_it_takes_its_list(sync, monkeypatch):
    # Given a synced station holding a member, and the sweep running every minute on a clock the test moves
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    clock = Clock()
    monkeypatch.setattr(delivery, "now", clock)
    started = clock.at

    def minutes(count: int, answer) -> list[datetime]:
        """Let `count` minutes pass, the station answering every SendLocalList with `answer`; when each
        was sent."""
        sent = []
        for _ in range(count):
            sync.drain()
            while frames := station.take():
                for frame in frames:
                    sent.append(clock.at)
                    answer(frame)
            clock.at += timedelta(minutes=1)
            run_sweep()
        return sent

    # When a driver joins and the station answers Failed to everything for two hours
    given_auto_member(connection, "driver-b", "TAG-B")
    failed = minutes(120, lambda frame: station.answer(frame, {"status": "Failed"}))

    # Then it is tried again and again, less and less often, never more than 15 minutes apart
    gaps = [later - earlier for earlier, later in zip([started, *failed], [*failed, clock.at], strict=True)]
    assert 10 < len(failed) < 30, failed
    assert max(gaps) <= timedelta(minutes=15), gaps
    # and its admins see that it is failing, since when and with what answer
    status = station_view(organization, "CP-1")["sync"]
    assert status["in_sync"] is False and status["failing"] is True
    assert status["last_refusal"] == "Failed"
    assert parse_time(status["failing_since"]) == started

    # When it takes its lists again
    recovered = minutes(16, station.accept)

    # Then it catches up within 15 minutes, with no admin's help
    assert recovered and recovered[0] - failed[-1] <= timedelta(minutes=15)
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted"}
    status = station_view(organization, "CP-1")["sync"]
    assert status["in_sync"] is True and status["failing"] is False
    assert status["last_refusal"] is None and status["failing_since"] is None


def test_a_reboot_gives_a_station_that_refused_too_often_another_full(sync):
    # Given a synced station that refused its updates until the service left it to the sweep
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, "driver-b", "TAG-B")
    sync.drain()
    for _ in range(MAX_REFUSALS):
        station.answer(station.take_one("SendLocalList"), {"status": "Failed"})
    assert station.take() == []

    # When it reboots having lost its list (a reboot is not a refusal)
    _, question = station.boot()
    station.answer(question, {"listVersion": 0})

    # Then it is sent its whole list again
    full = station.take_one("SendLocalList")
    assert list_payload(full)[0] == "Full"
    station.accept(full)
    assert station.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted"}
    assert station_view(organization, "CP-1")["sync"]["in_sync"] is True


def test_a_station_that_stays_silent_is_sent_again_less_and_less_often(sync):
    # Given a station that has not answered a request, already sent again once
    organization, connection, policy = given_depot()
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    given_auto_member(connection, DRIVER, "TAG-1")
    sync.drain()
    station.take_one("SendLocalList")
    timeout = delivery.ANSWER_TIMEOUT
    backdate_in_flight("CP-1", datetime.now(UTC) - timeout - timedelta(seconds=1))
    assert run_sweep()["resent"] == 1
    station.take_one("SendLocalList")

    # When it is still silent one timeout later, then two
    backdate_in_flight("CP-1", datetime.now(UTC) - timeout - timedelta(seconds=1))
    after_one = run_sweep()
    backdate_in_flight("CP-1", datetime.now(UTC) - 2 * timeout - timedelta(seconds=1))
    after_two = run_sweep()

    # Then the second resend waits twice as long as the first, and the wait never exceeds the cap
    assert (after_one["resent"], after_two["resent"]) == (0, 1)
    station.take_one("SendLocalList")
    sent = datetime.now(UTC)
    assert delivery.answer_due(sent, 2) - sent == 4 * timeout
    assert delivery.answer_due(sent, 30) - sent == delivery.MAX_BACKOFF
