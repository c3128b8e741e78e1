"""Stations of either OCPP version: a 2.0.1 station is sent its list and answered in 2.0.1 words, a 1.6
one in 1.6 words, from the same allow entries; a 2.0.1 driver refused online reads why on the charger;
the session calls of both versions are answered as the specifications require; a charger provisioned but
not registered yet is told to retry its boot. Every frame either way is checked against the `ocpp`
package's schemas for the station's version (the fixture)."""

import json
from datetime import UTC, datetime, timedelta

from ocpp.messages import MessageType

from functions.station_map.app import handler as map_handler
from infra.provision import provision
from tests.support.api import call
from tests.support.memberships import (
    checked,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
)
from tests.support.stations import (
    V16,
    V201,
    Station,
    add_card,
    as_station_admin,
    given_auto_member,
    given_card,
    given_depot,
    given_policy,
    given_station,
    list_payload,
    move_expiry,
    published,
    settle,
    station_view,
)

LONG_CARD = "EMAID-DE-ACM-C12345678-9-ABCDEFGHIJK"  # 36 characters: longer than a 1.6 idTag may be
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def sent_lists(station_id: str, since: int) -> list[bytes]:
    """Every SendLocalList frame published to the station since `since`, as published."""
    return [
        payload
        for topic, payload in published()[since:]
        if topic == f"{station_id}/out" and json.loads(payload)[2:3] == ["SendLocalList"]
    ]


# --- Lists in the station's words


def test_a_201_station_gets_a_full_then_differentials_with_each_cards_type(sync):
    # Given a member with an RFID card and a key code
    organization, connection, policy = given_depot({"driver-a": "TAG-A"})
    given_typed_card("driver-a", "KEY-1234", "KeyCode")

    # When a 2.0.1 station of the policy is registered
    station = given_station(organization, "CP-201", policy["policy_id"], ocpp_version=V201)
    first = settle(sync, station)

    # Then it gets a Full in 2.0.1 words, each card with its type
    assert [list_payload(f)[0] for f in first] == ["Full"]
    assert first[0][3]["versionNumber"] == 1 and "listVersion" not in first[0][3]
    assert station.statuses() == {"TAG-A": "Accepted", "KEY-1234": "Accepted"}
    assert station.types == {"tag-a": "ISO14443", "key-1234": "KeyCode"}
    assert station_view(organization, "CP-201")["ocpp_version"] == V201

    # When another driver joins, and the first leaves
    given_auto_member(connection, "driver-b", "TAG-B")
    assert decide(connection, "driver-a", "remove").status == 200
    later = settle(sync, station)

    # Then the changes come as Differentials
    assert {list_payload(f)[0] for f in later} == {"Differential"}
    assert station.statuses() == {"TAG-A": "Blocked", "KEY-1234": "Blocked", "TAG-B": "Accepted"}
    assert station.version == later[-1][3]["versionNumber"]
    assert station_view(organization, "CP-201")["sync"]["in_sync"] is True


def given_typed_card(driver: str, id_tag: str, kind: str) -> None:
    answer = add_card(driver, id_tag, id_token_type=kind)
    assert answer.status == 201 and answer.body["id_token_type"] == kind, answer.body


def test_a_policy_with_a_16_and_a_201_station_holds_the_same_cards_but_a_card_too_long_for_16(sync):
    # Given members with ordinary cards, and one whose card id is longer than a 1.6 idTag (36 characters)
    organization, connection, policy = given_depot({"driver-a": "TAG-A", "driver-b": "TAG-B"})
    given_auto_member(connection, "driver-c", LONG_CARD)

    # When a 1.6 and a 2.0.1 station share the policy
    old = given_station(organization, "CP-16", policy["policy_id"])
    new = given_station(organization, "CP-201", policy["policy_id"], ocpp_version=V201)
    settle(sync, old, new)
    given_auto_member(connection, "driver-d", "TAG-D")
    settle(sync, old, new)

    # Then both hold the same entries, except the long card: a 1.6 charger can neither read nor list it
    assert new.statuses() == {
        "TAG-A": "Accepted",
        "TAG-B": "Accepted",
        LONG_CARD: "Accepted",
        "TAG-D": "Accepted",
    }
    assert old.statuses() == {"TAG-A": "Accepted", "TAG-B": "Accepted", "TAG-D": "Accepted"}
    # and the 2.0.1 charger accepts the long card online too
    assert new.authorize(LONG_CARD)["status"] == "Accepted"

    # When an admin moves the 1.6 station to 2.0.1
    answer = as_station_admin(
        "PATCH", f"/organizations/{organization}/stations/CP-16", body={"ocpp_version": V201}
    )
    assert answer.status == 200 and answer.body["ocpp_version"] == V201
    moved = Station("CP-16", ocpp_version=V201)
    (full,) = settle(sync, moved)

    # Then it gets its whole list again, in 2.0.1 words, the long card included
    assert list_payload(full)[0] == "Full"
    assert moved.statuses() == new.statuses()


def test_small_items_and_bytes_per_message_are_respected(sync):
    # Given a 2.0.1 station that takes 3 entries and 400 bytes a message, and 10 members whose entries take
    # about 110 bytes each (a message of 3 would be about 450 bytes)
    members = {f"driver-{n}": f"TAG-{n:02d}-{'X' * 20}" for n in range(10)}
    organization, connection, policy = given_depot(members)
    sync.drain()  # their entries written: the stream's lanes keep no order between keys (decision 0045)
    since = len(published())

    # When it is registered, and two more members join
    station = given_station(
        organization,
        "CP-SMALL",
        policy["policy_id"],
        ocpp_version=V201,
        send_local_list_max_length=3,
        bytes_per_message=400,
    )
    settle(sync, station)
    given_auto_member(connection, "driver-x", "TAG-X")
    given_auto_member(connection, "driver-y", "TAG-Y")
    settle(sync, station)

    # Then it holds everyone, and no message it was sent had more than 400 bytes: the bytes, not the
    # items, cut its Full to 2 entries a message
    assert len(station.statuses()) == 12 and set(station.statuses().values()) == {"Accepted"}
    frames = sent_lists("CP-SMALL", since)
    assert frames and all(len(f) <= 400 for f in frames), [len(f) for f in frames]
    sizes = [len(json.loads(f)[3].get("localAuthorizationList", [])) for f in frames]
    assert sizes[:5] == [2] * 5 and max(sizes) == 2 and sum(sizes) == 12, sizes


def test_a_card_too_large_for_the_stations_bytes_is_refused_on_the_station_not_sent_in_a_loop(sync):
    # Given a 2.0.1 station whose messages hold at most 220 bytes, and a member whose card entry needs more
    organization, connection, policy = given_depot({"driver-a": LONG_CARD})
    since = len(published())

    # When it is registered
    station = given_station(
        organization, "CP-TINY", policy["policy_id"], ocpp_version=V201, bytes_per_message=220
    )
    settle(sync, station)

    # Then nothing is sent, and its admins read why
    assert sent_lists("CP-TINY", since) == []
    sync_status = station_view(organization, "CP-TINY")["sync"]
    assert sync_status["failing"] is True and sync_status["in_sync"] is False
    assert LONG_CARD in sync_status["last_refusal"] and "BytesPerMessage" in sync_status["last_refusal"]
    # and it is not tried again by itself (the stream and the sweep leave it be)
    sync.drain()
    assert station.take() == []

    # When an admin gives it its real BytesPerMessage
    path = f"/organizations/{organization}/stations/CP-TINY"
    assert as_station_admin("PATCH", path, body={"bytes_per_message": 4096}).status == 200
    settle(sync, station)

    # Then it gets its list
    assert station.statuses() == {LONG_CARD: "Accepted"}
    assert station_view(organization, "CP-TINY")["sync"]["failing"] is False


# --- Online answers


def access_check(station_id: str, driver: str) -> dict:
    answer = checked(call(map_handler, "GET", f"/stations/{station_id}/access", sub=driver))
    assert answer.status == 200, answer.body
    return answer.body


def test_a_driver_refused_online_reads_why_on_a_201_charger_as_the_access_check_says_it(sync):
    # Given Acme Corp's station for Employees (at all hours) and Night shift (tomorrow only)
    organization = given_organization("Acme Corp")
    employees = given_connection(organization, name="Employees")
    night = given_connection(organization, name="Night shift")
    tomorrow = DAYS[(datetime.now(UTC).weekday() + 1) % 7]
    rules = {night["connection_id"]: {"hours": [{"days": [tomorrow], "start": "00:00", "end": "24:00"}]}}
    policy = given_policy(
        organization, [employees["connection_id"], night["connection_id"]], rules={"members": rules}
    )
    drivers = {
        "stranger": "STRANGER",
        "pending": "PENDING1",
        "removed": "REMOVED1",
        "member": "MEMBER01",
        "expired": "EXPIRED1",
        "night": "NIGHT001",
    }
    for driver, card in drivers.items():
        given_card(driver, card)
    given_pending(employees, "pending")
    given_active(employees, "removed")
    decide(employees, "removed", "remove")
    given_active(employees, "member")
    given_active(employees, "expired")
    given_active(night, "night")
    move_expiry(employees["connection_id"], "expired", datetime.now(UTC) - timedelta(days=1))
    station = given_station(
        organization, "HQ-1", policy["policy_id"], ocpp_version=V201, latitude=52.5, longitude=13.4
    )
    settle(sync, station)

    # When each driver's card is presented, and a card nobody registered
    answers = {driver: station.authorize(card) for driver, card in drivers.items()}
    unknown = station.authorize("NOBODY01")

    # Then each status is the access check's reason, and a refusal carries the access check's sentence
    assert {d: a["status"] for d, a in answers.items()} == {
        "stranger": "NotAtThisLocation",
        "pending": "NotAtThisLocation",
        "removed": "Blocked",
        "member": "Accepted",
        "expired": "Expired",
        "night": "NotAtThisTime",
    }
    for driver, answer in answers.items():
        check = access_check("HQ-1", driver)
        assert answer["status"] == check["ocpp_status"], driver
        if driver == "member":
            assert "personalMessage" not in answer
        else:
            assert answer["personalMessage"] == {
                "format": "UTF8",
                "language": "en",
                "content": check["message"],
            }
    assert answers["stranger"]["personalMessage"]["content"] == (
        "This station is reserved for members of Employees or Night shift at Acme Corp."
        " Ask Acme Corp for their connection code."
    )
    assert unknown["status"] == "Unknown"
    assert unknown["personalMessage"]["content"].startswith("Your card is not registered.")


def test_a_transaction_event_with_a_card_is_answered_as_authorize_and_without_one_with_nothing(sync):
    # Given a 2.0.1 station of a policy with one member
    organization, _, policy = given_depot({"driver-a": "TAG-A"})
    station = given_station(organization, "CP-201", policy["policy_id"], ocpp_version=V201)
    settle(sync, station)
    event = {
        "eventType": "Started",
        "timestamp": "2026-01-01T08:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1"},
        "evse": {"id": 1, "connectorId": 1},
    }

    # When it reports transactions started with the member's card, a stranger's, and an update without one
    member = station.call("TransactionEvent", {**event, **station.card("TAG-A")})
    stranger = station.call("TransactionEvent", {**event, **station.card("NOBODY01")})
    update = station.call(
        "TransactionEvent",
        {**event, "eventType": "Updated", "triggerReason": "MeterValuePeriodic", "seqNo": 1},
    )

    # Then each is answered, the cards with the decision Authorize gives
    answers = {frame[1]: frame[2] for frame in station.take()}
    assert (
        answers[member]
        == {"idTokenInfo": station.authorize("TAG-A")}
        == {"idTokenInfo": {"status": "Accepted"}}
    )
    assert answers[stranger]["idTokenInfo"] == station.authorize("NOBODY01")
    assert answers[stranger]["idTokenInfo"]["status"] == "Unknown"
    assert answers[update] == {}


def test_the_201_chatter_is_answered_and_the_rest_is_not_implemented(sync):
    organization = given_organization()
    station = given_station(organization, "CP-201", ocpp_version=V201)
    settle(sync, station)

    heartbeat = station.call("Heartbeat", {})
    status = station.call(
        "StatusNotification",
        {"timestamp": "2026-01-01T08:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
    )
    notify = station.call(
        "NotifyEvent",
        {
            "generatedAt": "2026-01-01T08:00:00Z",
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": "2026-01-01T08:00:00Z",
                    "trigger": "Delta",
                    "actualValue": "Available",
                    "eventNotificationType": "HardWiredNotification",
                    "component": {"name": "Connector"},
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        },
    )
    firmware = station.call("FirmwareStatusNotification", {"status": "Idle"})

    answers = {frame[1]: frame for frame in station.take()}
    assert answers[heartbeat][0] == MessageType.CallResult and "currentTime" in answers[heartbeat][2]
    assert answers[status] == [3, status, {}] and answers[notify] == [3, notify, {}]
    assert answers[firmware][0] == MessageType.CallError and answers[firmware][2] == "NotImplemented"


# --- OCPP 1.6 sessions


def test_a_16_transaction_is_started_and_stopped_as_the_specification_requires(sync):
    # Given a 1.6 station of a policy with one member
    organization, _, policy = given_depot({"driver-a": "TAG-A"})
    station = given_station(organization, "CP-16", policy["policy_id"])
    settle(sync, station)
    start = {"connectorId": 1, "meterStart": 0, "timestamp": "2026-01-01T08:00:00Z"}

    # When the member starts a session, and a stranger another
    first = station.call("StartTransaction", {**start, "idTag": "TAG-A"})
    second = station.call("StartTransaction", {**start, "idTag": "NOBODY01"})
    started = {frame[1]: frame[2] for frame in station.take()}

    # Then each is answered with the decision Authorize gives and its own integer transactionId
    assert started[first]["idTagInfo"] == station.authorize("TAG-A") == {"status": "Accepted"}
    assert started[second]["idTagInfo"] == station.authorize("NOBODY01") == {"status": "Invalid"}
    ids = [started[first]["transactionId"], started[second]["transactionId"]]
    assert all(isinstance(i, int) for i in ids) and ids[1] > ids[0]

    # When it sends meter values and stops them, with and without the card, and some vendor's data
    stop = {"meterStop": 1200, "timestamp": "2026-01-01T09:00:00Z"}
    meter = station.call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": ids[0],
            "meterValue": [{"timestamp": "2026-01-01T08:30:00Z", "sampledValue": [{"value": "600"}]}],
        },
    )
    with_card = station.call("StopTransaction", {**stop, "transactionId": ids[0], "idTag": "TAG-A"})
    without = station.call("StopTransaction", {**stop, "transactionId": ids[1]})
    vendor = station.call("DataTransfer", {"vendorId": "com.example", "messageId": "x"})

    # Then
    answers = {frame[1]: frame[2] for frame in station.take()}
    assert answers[meter] == {}
    assert answers[with_card] == {"idTagInfo": {"status": "Accepted"}}
    assert answers[without] == {}
    assert answers[vendor] == {"status": "UnknownVendorId"}

    # and another station's transactionIds are its own: (station, transactionId) names one session
    other = given_station(organization, "CP-16B", policy["policy_id"])
    settle(sync, other)
    other_start = other.call("StartTransaction", {**start, "idTag": "TAG-A"})
    (answer,) = other.take()
    assert answer[1] == other_start and isinstance(answer[2]["transactionId"], int)


# --- Boot before registration


def test_a_provisioned_charger_is_pending_until_registered_then_accepted_and_sent_its_list(sync):
    # Given a charger provisioned for an organization that has not registered it, and one nobody provisioned
    organization, _, policy = given_depot({"driver-a": "TAG-A"})
    provision("CP-NEW", organization)
    for version in (V16, V201):
        waiting, stranger = (
            Station("CP-NEW", ocpp_version=version),
            Station("CP-NOBODY", ocpp_version=version),
        )

        # When each boots
        (answer,) = waiting.boot()
        stranger.call(
            "BootNotification",
            {"chargePointVendor": "Acme", "chargePointModel": "AC22"}
            if version == V16
            else {"reason": "PowerUp", "chargingStation": {"model": "AC22", "vendorName": "Acme"}},
        )

        # Then the provisioned one is told to retry later, and the other gets nothing
        assert answer[2]["status"] == "Pending" and answer[2]["interval"] > 0, answer
        assert stranger.take() == []

    # When its organization registers it (as 2.0.1) and it boots again
    station = given_station(organization, "CP-NEW", policy["policy_id"], ocpp_version=V201)
    settle(sync, station)
    answer, question = station.boot()

    # Then it is accepted and asked for its list's version, then sent a Full
    assert answer[2]["status"] == "Accepted"
    assert question[2] == "GetLocalListVersion"
    station.answer(question, {"versionNumber": station.version})
    (full,) = settle(sync, station)
    assert list_payload(full)[0] == "Full" and station.statuses() == {"TAG-A": "Accepted"}


def test_a_card_is_an_iso14443_card_unless_told_and_never_no_authorization():
    assert add_card("driver-a", "04A1B2C3").body["id_token_type"] == "ISO14443"
    refused = add_card("driver-a", "04A1B2C4", id_token_type="NoAuthorization")
    assert refused.status == 422 and "id_token_type" in refused.body["fields"], refused.body
