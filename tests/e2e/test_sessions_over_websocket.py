"""Chargers built on the `ocpp` package's ChargePoint (1.6 and 2.0.1), over `make run`'s OCPP endpoint, run
charging sessions; what the service records of them (the session items) is read from the stack's table: a
member at the group's price and a driver who is none at everyone's, exact to the cent, a free connection,
messages repeated and reordered, and a queue sent after an outage."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from ocpp import v16, v201

from infra.local.chargers import Charger
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e

MEMBERS = {"price": {"currency": "EUR", "per_kwh": "0.25", "session_fee": "0.50"}}
EVERYONE = {"price": {"currency": "EUR", "per_kwh": "0.45", "per_hour": "1.20"}}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def card() -> str:
    return f"C{uuid.uuid4().hex[:11]}".upper()  # at most 20 characters, as a 1.6 idTag must be


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request) -> str:
    return request.param


def site(stack, version: str, members: dict) -> dict:
    """An organization whose open connection's members get `members`' price at its station, and everyone
    else with a card EVERYONE's; the station's charger online in `version`."""
    admin = unique("admin")
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Depot"})
    org = org["organization_id"]
    body = {"name": "Fleet", "public": True, "approval_mode": "auto"}
    status, connection, _ = stack.call("POST", f"/organizations/{org}/connections", user=admin, body=body)
    assert status == 201, connection
    body = {
        "name": "Bays",
        "connection_ids": [connection["connection_id"]],
        "members": {connection["connection_id"]: members},
        "everyone": EVERYONE,
    }
    status, policy, _ = stack.call("POST", f"/organizations/{org}/policies", user=admin, body=body)
    assert status == 201, policy
    station_id = unique("CP").upper()
    stack.provision(station_id, org)
    body = {
        "station_id": station_id,
        "name": "Bay 1",
        "policy_id": policy["policy_id"],
        "ocpp_version": version,
    }
    assert stack.call("POST", f"/organizations/{org}/stations", user=admin, body=body)[0] == 201
    charger = Charger(station_id, stack.ocpp_url, ocpp_version=version, authorize_timeout=5.0).start()
    assert wait_for(lambda: charger.snapshot()["registration"] == "Accepted", timeout=15)
    return {"org": org, "connection": connection, "station_id": station_id, "charger": charger}


def member(stack, connection: dict) -> str:
    driver, tag = unique("member"), card()
    assert stack.call("POST", "/me/cards", user=driver, body={"id_tag": tag})[0] == 201
    path = f"/connections/{connection['connection_id']}/memberships"
    status, answer, _ = stack.call("POST", path, user=driver, body={"code": connection["code"]})
    assert status == 201 and answer["status"] == "active", answer
    return tag


def stranger(stack) -> str:
    tag = card()
    assert stack.call("POST", "/me/cards", user=unique("stranger"), body={"id_tag": tag})[0] == 201
    return tag


def sessions(stack, station_id: str) -> list[dict]:
    """The station's sessions as stored, oldest transaction first."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{stack.moto_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto takes any
    )
    found = client.query(
        TableName="ConnectionsTable",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": {"S": f"STATION#{station_id}"}, ":sk": {"S": "SESSION#"}},
        ConsistentRead=True,
    )["Items"]
    read = TypeDeserializer()
    items = [{k: read.deserialize(v) for k, v in item.items()} for item in found]
    return sorted(items, key=lambda s: (s.get("started_at") or "", s["transaction_id"]))


def run(
    charger: Charger, tag: str, begin: datetime, start_wh: int, readings: list[int], minutes: int
) -> dict:
    started = charger.start_transaction(tag, meter_start=start_wh, timestamp=iso(begin))
    for i, wh in enumerate(readings):
        charger.meter_values(wh, timestamp=iso(begin + timedelta(minutes=i + 1)))
    charger.stop_transaction(meter_stop=readings[-1], timestamp=iso(begin + timedelta(minutes=minutes)))
    return started


def test_a_member_pays_the_groups_price_and_a_stranger_everyones_exact_to_the_cent(stack, version):
    place = site(stack, version, MEMBERS)
    charger, begin = place["charger"], datetime.now(UTC).replace(microsecond=0)
    mine, theirs = member(stack, place["connection"]), stranger(stack)
    # When each charges 12.345 kWh in 90 minutes
    for tag in (mine, theirs):
        assert (
            run(charger, tag, begin, 1000, [5000, 13_345], 90)[charger.dialect.info]["status"] == "Accepted"
        )
    # Then 0.50 + 12.345 x 0.25 = 3.58625 -> 3.59 for the member (everyone would pay 7.36), and for the
    # stranger 12.345 x 0.45 + 1.5 h x 1.20 = 7.35525 -> 7.36
    assert wait_for(lambda: len(sessions(stack, place["station_id"])) == 2, timeout=5)
    by_card = {s["id_tag"]: s for s in sessions(stack, place["station_id"])}
    assert {
        t: (s["status"], s["energy_wh"], s["cost"], s.get("everyone_cost")) for t, s in by_card.items()
    } == {
        mine: ("ended", Decimal(12_345), "3.59", "7.36"),
        theirs: ("ended", Decimal(12_345), "7.36", "7.36"),
    }
    assert by_card[mine]["group_connection_id"] == place["connection"]["connection_id"]
    assert by_card[mine]["group_name"] == "Fleet" and by_card[theirs].get("group_connection_id") is None
    assert charger.violations() == []
    charger.stop()


def test_a_free_connections_member_charges_for_nothing(stack, version):
    place = site(stack, version, {"price": {}})
    charger, begin = place["charger"], datetime.now(UTC).replace(microsecond=0)
    run(charger, member(stack, place["connection"]), begin, 0, [20_000], 120)
    assert wait_for(lambda: len(sessions(stack, place["station_id"])) == 1, timeout=5)
    (free,) = sessions(stack, place["station_id"])
    assert (free["status"], free["cost"], free["everyone_cost"]) == ("ended", "0", "11.40")  # 9 + 2.40
    assert charger.violations() == []
    charger.stop()


def test_the_same_messages_repeated_and_reordered_make_the_same_session(stack, version):
    place = site(stack, version, MEMBERS)
    charger, begin = place["charger"], datetime.now(UTC).replace(microsecond=0)
    tag = member(stack, place["connection"])
    at = [iso(begin + timedelta(minutes=m)) for m in (0, 30, 60)]
    if version == "1.6":
        start = v16.call.StartTransaction(connector_id=1, id_tag=tag, meter_start=0, timestamp=at[0])
        first, again = charger.send(start), charger.send(start)
        assert first == again  # the same transactionId for the same start
        tid = first["transactionId"]
        meter = v16.call.MeterValues(
            connector_id=1,
            transaction_id=tid,
            meter_value=[{"timestamp": at[1], "sampled_value": [{"value": "4000"}]}],
        )
        stop = v16.call.StopTransaction(meter_stop=8000, timestamp=at[2], transaction_id=tid, id_tag=tag)
        later = [meter, stop, meter, stop]
    else:
        token, tid = {"id_token": tag, "type": "ISO14443"}, str(uuid.uuid4())

        def event(kind: str, seq: int, wh: int) -> v201.call.TransactionEvent:
            return v201.call.TransactionEvent(
                event_type=kind,
                timestamp=at[seq],
                trigger_reason="MeterValuePeriodic",
                seq_no=seq,
                transaction_info={"transaction_id": tid},
                id_token=token,
                evse={"id": 1, "connector_id": 1},
                meter_value=[{"timestamp": at[seq], "sampled_value": [{"value": wh}]}],
            )

        later = [event("Started", 0, 0), event("Updated", 1, 4000), event("Ended", 2, 8000)] * 2
        random.Random(15).shuffle(later)
    for request in later:
        charger.send(request)
    # Then one session: 0.50 + 8 kWh x 0.25 = 2.50
    (recorded,) = sessions(stack, place["station_id"])
    assert (recorded["status"], recorded["energy_wh"], recorded["cost"], recorded["flags"]) == (
        "ended",
        Decimal(8000),
        "2.50",
        [],
    )
    assert recorded["started_at"].startswith(iso(begin).removesuffix("Z"))
    assert charger.violations() == []
    charger.stop()


def test_sessions_made_offline_are_recorded_when_the_queue_is_sent(stack, version):
    place = site(stack, version, MEMBERS)
    charger = place["charger"]
    tag, nobody = member(stack, place["connection"]), card()
    # Given a charger that lost its connection an hour ago and let two cards charge meanwhile, one that
    # belongs to nobody
    charger.go_offline()
    begin = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    run(charger, tag, begin, 0, [2000, 4000], 30)
    run(charger, nobody, begin + timedelta(minutes=31), 4000, [6000], 50)
    assert len(charger.queued) == 7
    # When it is back and sends its queue
    answers = charger.go_online()
    assert len(answers) == 7
    # Then both sessions are recorded as accepted offline; the unknown card flagged, at everyone's price
    recorded = sessions(stack, place["station_id"])
    assert [(s["id_tag"], s["authorized_by"], s["flags"], s["cost"]) for s in recorded] == [
        (tag, "offline", [], "1.50"),  # 0.50 + 4 kWh x 0.25
        (nobody, "offline", ["unknown_card"], "1.90"),  # 2 kWh x 0.45 + 50 min x 1.20 an hour
    ]
    assert charger.violations() == []
    charger.stop()
