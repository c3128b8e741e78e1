"""Sessions recorded from what stations send on `<id>/in` (StationMessagesFunction), against moto: what a
transaction becomes, its price, repeats and order, and the DynamoDB calls each message costs."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from connections.platform.table import Item
from connections.sessions.items import NO_START, UNKNOWN_CARD, SessionItem
from connections.stations.dialects import V16_VERSION, V201_VERSION
from connections.stations.items import StationItem
from functions.station_messages.app import handler as station_messages_handler
from tests.support.api import FakeLambdaContext
from tests.support.counting import DynamoDBCalls
from tests.support.memberships import given_organization
from tests.support.stations import (
    OCPP,
    Station,
    as_station_admin,
    given_auto_member,
    given_card,
    given_open_connection,
    given_policy,
    given_station,
    settle,
)

MEMBERS = {"price": {"currency": "EUR", "per_kwh": "0.25", "session_fee": "0.50"}}
EVERYONE = {"price": {"currency": "EUR", "per_kwh": "0.45", "per_hour": "1.20"}}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def session(station_id: str, transaction_id) -> SessionItem:
    return SessionItem.get(*SessionItem.key(station_id, str(transaction_id)), consistent_read=True)


@pytest.fixture
def depot(sync):
    """A station of a policy whose members pay less than everyone else: a member (TAG-M), a driver who is
    none (TAG-S)."""
    organization = given_organization()
    connection = given_open_connection(organization, name="Fleet")
    given_auto_member(connection, "member", "TAG-M")
    given_card("stranger", "TAG-S")
    rules = {"members": {connection["connection_id"]: MEMBERS}, "everyone": EVERYONE}
    policy = given_policy(organization, [connection["connection_id"]], rules=rules)

    def station(station_id: str, version: str = V16_VERSION) -> Station:
        made = given_station(organization, station_id, policy["policy_id"], ocpp_version=version)
        settle(sync, made)
        return made

    station.connection = connection  # type: ignore[attr-defined]
    station.organization = organization  # type: ignore[attr-defined]
    return station


def start_16(station: Station, tag: str, when: datetime, meter: int = 0, connector: int = 1) -> dict:
    unique = station.call(
        "StartTransaction",
        {"connectorId": connector, "idTag": tag, "meterStart": meter, "timestamp": iso(when)},
    )
    return station.take_one()[2] if unique else {}


def test_a_16_member_and_stranger_pay_their_groups_prices_exact_to_the_cent(depot):
    station = depot("CP-1")
    begin = datetime.now(UTC).replace(microsecond=0)
    member = start_16(station, "TAG-M", begin, meter=1000)
    stranger = start_16(station, "TAG-S", begin, meter=5000, connector=2)
    station.call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": member["transactionId"],
            "meterValue": [
                {
                    "timestamp": iso(begin + timedelta(minutes=1)),
                    "sampledValue": [{"value": "2.2", "unit": "kWh"}],
                }
            ],
        },
    )
    for answer, stop_wh in ((member, 13_345), (stranger, 12_500)):
        station.call(
            "StopTransaction",
            {
                "transactionId": answer["transactionId"],
                "meterStop": stop_wh,
                "timestamp": iso(begin + timedelta(minutes=90)),
                "idTag": "TAG-M",
            },
        )
    station.take()

    mine, theirs = session("CP-1", member["transactionId"]), session("CP-1", stranger["transactionId"])
    # 0.50 + 12.345 kWh x 0.25 = 3.58625 -> 3.59; everyone: 12.345 x 0.45 + 1.5 h x 1.20 = 7.35525 -> 7.36
    assert (mine.status, mine.energy_wh, mine.cost, mine.everyone_cost) == ("ended", 12_345, "3.59", "7.36")
    assert (mine.driver_id, mine.group_connection_id, mine.group_name) == (
        "member",
        depot.connection["connection_id"],
        "Fleet",
    )
    assert (mine.authorized_by, mine.id_tag, mine.connector_id, mine.flags) == ("local_list", "TAG-M", 1, [])
    # 7.5 kWh x 0.45 + 1.5 h x 1.20 = 5.175 -> 5.18
    assert (theirs.driver_id, theirs.group_connection_id, theirs.cost) == ("stranger", None, "5.18")
    assert theirs.authorized_by == "online"  # not on the list: the service answered
    # and a driver's sessions are apart from what the map and the access check read of the driver
    assert [type(i).__name__ for i in Item.gsi1.query("DRIVER#member")] == ["CardItem", "MembershipItem"]
    assert [i.transaction_id for i in Item.gsi1.query("DRIVER#member#SESSIONS")] == [mine.transaction_id]


def test_a_16_start_sent_twice_gets_the_same_transaction_id_and_one_session(depot):
    station = depot("CP-1")
    begin = datetime.now(UTC).replace(microsecond=0)
    first, again = start_16(station, "TAG-M", begin), start_16(station, "TAG-M", begin)
    other = start_16(station, "TAG-M", begin + timedelta(seconds=1))
    assert first == again and other["transactionId"] == first["transactionId"] + 1
    assert [
        s.transaction_id for s in SessionItem.query("STATION#CP-1", SessionItem.sk.startswith("SESSION#"))
    ] == [
        str(first["transactionId"]),
        str(other["transactionId"]),
    ]


def test_a_16_stop_for_a_start_never_seen_is_recorded_and_flagged(depot):
    station = depot("CP-1")
    stop = {"transactionId": 999, "meterStop": 500, "timestamp": iso(datetime.now(UTC))}
    station.call("StopTransaction", stop)
    station.call("StopTransaction", stop)
    assert len(station.take()) == 2
    item = session("CP-1", 999)
    assert (item.status, item.flags, item.cost, item.authorized_by) == ("ended", [NO_START], None, "unknown")


def test_a_queued_16_start_of_an_unknown_card_is_recorded_as_accepted_offline_and_flagged(depot):
    station = depot("CP-1")
    hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    answer = start_16(station, "NOBODY", hours_ago)
    assert answer["idTagInfo"] == {"status": "Invalid"}
    item = session("CP-1", answer["transactionId"])
    assert (item.authorized_by, item.driver_id, item.flags) == ("offline", None, [UNKNOWN_CARD])
    assert item.price.per_kwh == "0.45"  # everyone else's price


def test_201_events_duplicated_and_out_of_order_make_one_session(depot):
    station = depot("CP-2", V201_VERSION)
    begin = datetime.now(UTC).replace(microsecond=0)

    def event(kind: str, seq: int, minutes: int, wh: int, **info) -> dict:
        return {
            "eventType": kind,
            "timestamp": iso(begin + timedelta(minutes=minutes)),
            "triggerReason": "MeterValuePeriodic",
            "seqNo": seq,
            "transactionInfo": {"transactionId": "tx-201", **info},
            "idToken": {"idToken": "TAG-M", "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [
                {"timestamp": iso(begin + timedelta(minutes=minutes)), "sampledValue": [{"value": wh}]}
            ],
        }

    started, updated = event("Started", 0, 0, 100), event("Updated", 1, 30, 4100, chargingState="Charging")
    ended = event("Ended", 2, 60, 8100, stoppedReason="EVDisconnected")
    for payload in (updated, ended, updated, started, ended, started):
        station.call("TransactionEvent", payload)
    answers = station.take()
    assert all(a[2]["idTokenInfo"]["status"] == "Accepted" for a in answers) and len(answers) == 6

    item = session("CP-2", "tx-201")
    # 0.50 + 8 kWh x 0.25 = 2.50
    assert (item.status, item.started_at, item.energy_wh, item.cost, item.seq_nos) == (
        "ended",
        begin,
        8000,
        "2.50",
        [0, 1, 2],
    )
    assert (item.evse_id, item.stop_reason, item.charging_state, item.flags) == (
        1,
        "EVDisconnected",
        "Charging",
        [],
    )


@pytest.fixture
def counted():
    calls = DynamoDBCalls().install()
    yield calls
    calls.uninstall()


def test_each_transaction_message_of_either_version_costs_at_most_three_dynamodb_calls(depot, counted):
    # Given a member (whose card is on the stations' lists) and a stranger (whose is not), at a 1.6 and a
    # 2.0.1 station
    station, station_201 = depot("CP-1"), depot("CP-2", V201_VERSION)
    begin = datetime.now(UTC).replace(microsecond=0)
    calls: dict[str, list[str]] = {}

    def sent(name: str, at: Station, action: str, payload: dict) -> None:
        counted.reset()
        at.call(action, payload)
        calls[name] = counted.operations()
        at.take()

    # When each authorizes and sends a session's messages in either version
    for who, tag in (("member", "TAG-M"), ("stranger", "TAG-S")):
        sent(f"{who} authorize", station, "Authorize", {"idTag": tag})
        counted.reset()
        tid = start_16(station, tag, begin)["transactionId"]
        calls[f"{who} start"] = counted.operations()
        meter = [{"timestamp": iso(begin), "sampledValue": [{"value": "10"}]}]
        sent(
            f"{who} meter",
            station,
            "MeterValues",
            {"connectorId": 1, "transactionId": tid, "meterValue": meter},
        )
        stop = {"transactionId": tid, "meterStop": 20, "timestamp": iso(begin), "idTag": tag}
        sent(f"{who} stop", station, "StopTransaction", stop)
        for seq, kind in enumerate(("Started", "Updated", "Ended")):
            event = {
                "eventType": kind,
                "timestamp": iso(begin + timedelta(minutes=seq)),
                "triggerReason": "MeterValuePeriodic",
                "seqNo": seq,
                "transactionInfo": {"transactionId": f"tx-{who}"},
                "idToken": {"idToken": tag, "type": "ISO14443"},
                "evse": {"id": 1, "connectorId": 1},
            }
            sent(f"{who} 2.0.1 {kind}", station_201, "TransactionEvent", event)

    # Then the station's item with what the message names (its session, its card, a start's earlier self
    # and the station's counter), the card's policy with its list entry and the driver's memberships of
    # the policy's connections, one write; a meter reading only writes its session
    read, write, transact = "BatchGetItem", "PutItem", "TransactWriteItems"
    each = {
        "authorize": [read, read],
        "start": [read, read, transact],
        "meter": [read, write],
        "stop": [read, read, write],
        "2.0.1 Started": [read, read, write],
        "2.0.1 Updated": [read, read, write],
        "2.0.1 Ended": [read, read, write],
    }
    assert calls == {f"{who} {what}": ops for who in ("member", "stranger") for what, ops in each.items()}


def test_a_station_whose_copy_of_its_policys_connections_is_stale_still_prices_the_drivers_group(
    depot, counted
):
    # Given a station, and then its policy given a second connection whose members pay nothing, joined by
    # the stranger: the station's copy of its policy's connections lacks it
    station = depot("CP-1")
    organization = depot.organization
    free = given_open_connection(organization, name="Friends")
    given_auto_member(free, "stranger")
    policy_id = StationItem.get(*StationItem.key("CP-1")).policy_id
    members = {
        depot.connection["connection_id"]: MEMBERS,
        free["connection_id"]: {"price": {"currency": "EUR"}},
    }
    edited = as_station_admin(
        "PATCH",
        f"/organizations/{organization}/policies/{policy_id}",
        body={"connection_ids": list(members), "members": members},
    )
    assert edited.status == 200, edited.body
    begin = datetime.now(UTC).replace(microsecond=0)

    # When the stranger starts a session, and then another
    counted.reset()
    first = start_16(station, "TAG-S", begin)
    stale = counted.operations()
    counted.reset()
    second = start_16(station, "TAG-S", begin + timedelta(minutes=1), connector=2)
    fresh = counted.operations()

    # Then both are the free group's, the first at the cost of reading the missing membership and
    # correcting the copy, the next in 3 calls again
    for answer in (first, second):
        item = session("CP-1", answer["transactionId"])
        assert answer["idTagInfo"]["status"] == "Accepted"
        assert (item.group_connection_id, item.group_name, item.price.per_kwh) == (
            free["connection_id"],
            "Friends",
            "0",
        )
    assert stale == ["BatchGetItem", "BatchGetItem", "BatchGetItem", "UpdateItem", "TransactWriteItems"]
    assert fresh == ["BatchGetItem", "BatchGetItem", "TransactWriteItems"]


def test_a_16_transaction_id_this_service_never_issued_does_not_block_later_starts(depot):
    # Given a charger moved from another system that reports a session this service never numbered
    station = depot("CP-1")
    begin = datetime.now(UTC).replace(microsecond=0)
    meter = [{"timestamp": iso(begin), "sampledValue": [{"value": "700"}]}]
    station.call("MeterValues", {"connectorId": 1, "transactionId": 2, "meterValue": meter})
    station.take()

    # When sessions start until the station's counter reaches that number
    ids = [start_16(station, "TAG-M", begin + timedelta(seconds=n))["transactionId"] for n in range(3)]

    # Then each start gets a number of its own, past the one taken, and the reported session is kept
    assert ids == [1, 3, 4]
    reported = session("CP-1", 2)
    assert (reported.started_at, reported.meter_last_wh, reported.id_tag) == (None, 700, None)


def broken(station: Station, action: str, payload: dict) -> str:
    """A CALL that breaks its schema, sent as a faulty charger would (Station.call checks what it sends)."""
    unique_id = uuid.uuid4().hex
    OCPP.station_calls[unique_id] = action  # the service's answer is still checked against the version's
    raw = json.dumps([2, unique_id, action, payload]).encode()
    event = {"station_id": station.station_id, "frame": base64.b64encode(raw).decode()}
    station_messages_handler(event, FakeLambdaContext())
    return unique_id


def test_a_transaction_message_the_service_cannot_read_is_refused_and_nothing_recorded(depot):
    station, station_201 = depot("CP-1"), depot("CP-2", V201_VERSION)
    missing = broken(station, "StopTransaction", {"transactionId": 5, "timestamp": iso(datetime.now(UTC))})
    wrong = broken(
        station_201,
        "TransactionEvent",
        {
            "eventType": "Began",
            "timestamp": "yesterday",
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "tx-1"},
        },
    )
    null_card = broken(
        station,
        "StartTransaction",
        {"connectorId": 1, "idTag": None, "meterStart": 0, "timestamp": iso(datetime.now(UTC))},
    )
    (refused, refused_null), (refused_201,) = station.take(), station_201.take()
    assert refused[:3] == [4, missing, "FormationViolation"] and "meterStop" in refused[3]
    assert refused_null[:3] == [4, null_card, "FormationViolation"]
    assert refused_201[:3] == [4, wrong, "FormatViolation"] and "Began" in refused_201[3]
    assert list(SessionItem.query("STATION#CP-1", SessionItem.sk.startswith("SESSION#"))) == []
    assert list(SessionItem.query("STATION#CP-2", SessionItem.sk.startswith("SESSION#"))) == []


def test_a_201_authorize_that_also_carries_a_16_card_field_is_decided_on_its_own_card(depot):
    # The service does not check a charger's frames against the schema: a stray idTag beside the idToken
    station = depot("CP-2", V201_VERSION)
    token = {"idToken": "TAG-S", "type": "ISO14443"}  # registered, not on the list: decided online
    asked = broken(station, "Authorize", {"idToken": token, "idTag": "NOBODY"})
    (answer,) = station.take()
    assert answer[:2] == [3, asked] and answer[2]["idTokenInfo"]["status"] == "Accepted"
