"""The simulated chargers (infra/local/chargers.py, on the `ocpp` package's ChargePoint) over a real
WebSocket to the local OCPP endpoint (infra/local/ocpp_gateway.py) and a real MQTT broker: the test plays the
service, reading what the charger sends on `<id>/in` and publishing CALLs and replies on `<id>/out`. Every
frame both ways is checked against the package's schemas (`Charger.violations`)."""

import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest

from infra.local.chargers import Charger, run_chargers, stop_all, violations
from infra.local.iot import MqttBroker
from infra.local.ocpp_gateway import OcppGateway
from infra.local.seed import CAPABILITIES_201, charger_specs
from infra.template import ROOT
from tests.support.ocpp import ERROR_CODES
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def mqtt_port():
    port = free_port()
    broker = MqttBroker(port)
    broker.start()
    yield port
    broker.stop()


@pytest.fixture(scope="module")
def presence() -> list:
    """The lifecycle events the endpoint published: (topic, body)."""
    return []


@pytest.fixture(scope="module")
def endpoint(mqtt_port, presence):
    """The OCPP endpoint on that broker, for which every charger id is provisioned."""
    gateway = OcppGateway(free_port(), mqtt_port, lambda _id: True, lambda *event: presence.append(event))
    gateway.start()
    yield gateway.url
    gateway.stop()


class Service:
    """The service's end of the gateway convention: subscribes to `<id>/in`, publishes on `<id>/out`.
    Answers BootNotification (with a heartbeat interval), Heartbeat, transactions, and Authorize from
    `authorize` (token -> status; absent: no answer), in 1.6 or 2.0.1 as the charger asks."""

    def __init__(self, port: int, station_id: str, authorize: dict | None = None, interval: int = 300):
        self.station_id = station_id
        self.authorize = authorize or {}
        self.interval = interval
        self.frames: list[list] = []
        self._changed = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"service-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_connect = lambda c, *_: c.subscribe(f"{station_id}/in", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, _client, _userdata, message) -> None:
        assert message.topic == f"{self.station_id}/in"
        frame = json.loads(message.payload)
        with self._changed:
            self.frames.append(frame)
            self._changed.notify_all()
        if frame[0] != 2:
            return
        now = datetime.now(UTC).isoformat()
        action, payload = frame[2], frame[3]
        token = payload.get("idTag") or payload.get("idToken", {}).get("idToken")
        if action == "BootNotification":
            self.send([3, frame[1], {"status": "Accepted", "currentTime": now, "interval": self.interval}])
        elif action == "Heartbeat":
            self.send([3, frame[1], {"currentTime": now}])
        elif action == "Authorize" and token in self.authorize:
            info = "idTagInfo" if "idTag" in payload else "idTokenInfo"
            self.send([3, frame[1], {info: {"status": self.authorize[token]}}])
        elif action == "StartTransaction":
            self.send([3, frame[1], {"idTagInfo": {"status": "Accepted"}, "transactionId": 7}])
        elif action == "StopTransaction":
            self.send([3, frame[1], {}])
        elif action == "TransactionEvent":
            self.send([3, frame[1], {"idTokenInfo": {"status": "Accepted"}} if token else {}])

    def send(self, frame: list) -> None:
        self.client.publish(f"{self.station_id}/out", json.dumps(frame), qos=1)

    def wait_for(self, condition, timeout: float = 5.0):
        with self._changed:
            found = self._changed.wait_for(lambda: condition(self.frames), timeout)
        return found

    def call(self, action: str, payload, timeout: float = 5.0) -> list:
        """Send a CALL on `<id>/out`; the station's reply frame, matched by uniqueId."""
        unique_id = uuid.uuid4().hex
        self.send([2, unique_id, action, payload])
        reply = self.wait_for(
            lambda frames: next((f for f in frames if f[0] in (3, 4) and f[1] == unique_id), None), timeout
        )
        assert reply, f"no reply to {action}"
        return reply

    def send_local_list(self, version: int, update: str, entries: list[dict]) -> str:
        payload = {"listVersion": version, "updateType": update, "localAuthorizationList": entries}
        reply = self.call("SendLocalList", payload)
        assert reply[0] == 3
        return reply[2]["status"]

    def list_version(self) -> int:
        reply = self.call("GetLocalListVersion", {})
        assert reply[0] == 3
        return reply[2]["listVersion"]

    def station_calls(self, action: str) -> list[list]:
        with self._changed:
            return [f for f in self.frames if f[0] == 2 and f[2] == action]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(mqtt_port, endpoint):
    """connect(**capabilities) -> (a started 1.6 charger, the service watching it). Afterwards, every frame
    both ways must have been valid OCPP 1.6."""
    opened = []

    def _connect(authorize: dict | None = None, checked: bool = True, interval: int = 300, **capabilities):
        """checked=False: the test sends invalid frames on purpose and checks what is recorded itself."""
        station_id = f"CP-{uuid.uuid4().hex[:6]}"
        service = Service(mqtt_port, station_id, authorize, interval)
        station = Charger(
            station_id, endpoint, mqtt_port=mqtt_port, **{"authorize_timeout": 1.0, **capabilities}
        )
        opened.append((station, service, checked))
        station.start()
        assert service.wait_for(lambda frames: frames)  # its BootNotification
        return station, service

    yield _connect
    for station, service, checked in opened:
        station.stop()
        service.close()
        assert not checked or station.violations() == [], station.frames


def entry(tag: str, status: str = "Accepted", **info) -> dict:
    return {"idTag": tag, "idTagInfo": {"status": status, **info}}


def test_boot_notification_on_start_and_its_answer_is_taken(connect):
    station, service = connect()
    (boot,) = service.station_calls("BootNotification")
    assert boot[3] == {"chargePointVendor": "Connections", "chargePointModel": "Simulator"}
    deadline = time.monotonic() + 5
    while station.snapshot()["registration"] != "Accepted" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert station.snapshot()["registration"] == "Accepted"


def test_a_full_update_is_accepted_and_stored(connect):
    station, service = connect()
    assert service.list_version() == 0
    entries = [entry("AAA1"), entry("BBB2", "Blocked"), entry("CCC3", expiryDate="2099-01-01T00:00:00Z")]
    assert service.send_local_list(3, "Full", entries) == "Accepted"
    assert station.snapshot()["listVersion"] == 3
    assert station.snapshot()["entries"] == {e["idTag"]: e["idTagInfo"] for e in entries}
    assert service.list_version() == 3
    # A Full replaces everything, whatever its version.
    assert service.send_local_list(1, "Full", [entry("DDD4")]) == "Accepted"
    assert station.snapshot()["entries"] == {"DDD4": {"status": "Accepted"}}
    assert service.list_version() == 1


def test_a_differential_not_above_the_current_version_is_a_version_mismatch(connect):
    station, service = connect()
    assert service.send_local_list(5, "Full", [entry("AAA1")]) == "Accepted"
    assert service.send_local_list(5, "Differential", [entry("BBB2")]) == "VersionMismatch"
    assert service.send_local_list(4, "Differential", [entry("BBB2")]) == "VersionMismatch"
    assert station.snapshot()["entries"] == {"AAA1": {"status": "Accepted"}}
    assert service.list_version() == 5


def test_a_differential_deletes_updates_and_adds(connect):
    station, service = connect()
    assert service.send_local_list(1, "Full", [entry("AAA1"), entry("BBB2"), entry("CCC3")]) == "Accepted"
    change = [{"idTag": "AAA1"}, entry("bbb2", "Blocked"), entry("DDD4"), {"idTag": "NOTLISTED"}]
    assert service.send_local_list(2, "Differential", change) == "Accepted"
    assert station.snapshot()["listVersion"] == 2
    # idTags are case-insensitive in OCPP 1.6: "bbb2" updates BBB2.
    assert station.snapshot()["entries"] == {
        "bbb2": {"status": "Blocked"},
        "CCC3": {"status": "Accepted"},
        "DDD4": {"status": "Accepted"},
    }


def test_more_entries_than_send_local_list_max_length_fail(connect):
    station, service = connect(send_local_list_max_length=3)
    assert service.send_local_list(1, "Full", [entry(f"T{i}") for i in range(3)]) == "Accepted"
    assert service.send_local_list(2, "Full", [entry(f"U{i}") for i in range(4)]) == "Failed"
    assert service.send_local_list(2, "Differential", [entry(f"U{i}") for i in range(4)]) == "Failed"
    assert station.snapshot()["listVersion"] == 1 and len(station.snapshot()["entries"]) == 3


def test_exceeding_local_auth_list_max_length_fails_and_changes_nothing(connect):
    station, service = connect(local_auth_list_max_length=5, send_local_list_max_length=25)
    assert service.send_local_list(1, "Full", [entry(f"T{i}") for i in range(4)]) == "Accepted"
    before = station.snapshot()
    assert service.send_local_list(2, "Differential", [entry("X1"), entry("X2")]) == "Failed"
    assert service.send_local_list(2, "Full", [entry(f"U{i}") for i in range(6)]) == "Failed"
    assert station.snapshot() == before
    # Deleting one makes room: the size is counted after the update.
    assert (
        service.send_local_list(2, "Differential", [{"idTag": "T0"}, entry("X1"), entry("X2")]) == "Accepted"
    )
    assert len(station.snapshot()["entries"]) == 5


@pytest.mark.parametrize(
    "payload",
    [
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTag": "NOINFO"}]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A"), entry("a")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A", expiryDate="soon")]},
    ],
    ids=["full-without-idTagInfo", "idTag-twice", "bad-expiryDate"],
)
def test_a_send_local_list_it_cannot_take_fails_and_changes_nothing(connect, payload):
    station, service = connect()
    reply = service.call("SendLocalList", payload)
    assert reply[0] == 3 and reply[2] == {"status": "Failed"}
    assert station.snapshot()["listVersion"] == 0 and station.snapshot()["entries"] == {}


@pytest.mark.parametrize(
    "payload",
    [
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("X" * 21)]},
        {"listVersion": 1, "updateType": "Sometimes", "localAuthorizationList": []},
        {"listVersion": "1", "updateType": "Full", "localAuthorizationList": []},
        {"updateType": "Full", "localAuthorizationList": [entry("A")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A", "Maybe")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [], "extra": True},
    ],
    ids=[
        "idTag-too-long",
        "unknown-updateType",
        "version-not-integer",
        "no-version",
        "unknown-status",
        "extra",
    ],
)
def test_a_send_local_list_that_breaks_the_schema_is_a_callerror_and_changes_nothing(connect, payload):
    station, service = connect(checked=False)
    reply = service.call("SendLocalList", payload)
    assert reply[0] == 4 and reply[2] in ERROR_CODES, reply
    assert station.snapshot()["listVersion"] == 0 and station.snapshot()["entries"] == {}
    # The charger's record says which frame broke the schema, and only that one
    [problem] = station.violations()
    assert problem.startswith("received") and "SendLocalList" in problem


def test_a_station_without_local_lists(connect):
    station, service = connect(local_list_supported=False)
    assert service.send_local_list(1, "Full", [entry("AAA1")]) == "NotSupported"
    assert service.list_version() == -1
    assert station.snapshot()["entries"] == {}


def test_get_local_list_version_answers_the_version(connect):
    _station, service = connect()
    assert service.list_version() == 0
    assert service.send_local_list(7, "Full", [entry("AAA1")]) == "Accepted"
    assert service.list_version() == 7
    assert service.send_local_list(9, "Differential", [entry("BBB2")]) == "Accepted"
    assert service.list_version() == 9
    # An empty Full list empties the station: version 0.
    assert service.send_local_list(0, "Full", []) == "Accepted"
    assert service.list_version() == 0


def test_any_other_call_is_not_implemented(connect):
    _station, service = connect()
    reply = service.call("Reset", {"type": "Soft"})
    assert reply[0] == 4 and reply[2] == "NotImplemented"


def test_a_listed_tag_that_is_not_accepted_is_refused_locally_without_asking_online(connect):
    station, service = connect(authorize={"BLOCK1": "Accepted", "EXP1": "Accepted", "INV1": "Accepted"})
    listed = [entry("BLOCK1", "Blocked"), entry("EXP1", "Expired"), entry("INV1", "Invalid"), entry("OK1")]
    assert service.send_local_list(1, "Full", listed) == "Accepted"
    assert station.would_accept("BLOCK1") == (False, "local_list", "Blocked")
    assert station.would_accept("block1") == (False, "local_list", "Blocked")
    assert station.would_accept("EXP1") == (False, "local_list", "Expired")
    assert station.would_accept("INV1") == (False, "local_list", "Invalid")
    assert station.would_accept("OK1") == (True, "local_list", "Accepted")
    time.sleep(0.2)
    assert service.station_calls("Authorize") == []


def test_an_entry_past_its_expiry_date_is_refused(connect):
    station, service = connect(authorize={"OLD1": "Accepted"})
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        service.send_local_list(1, "Full", [entry("OLD1", expiryDate=past), entry("NEW1", expiryDate=future)])
        == "Accepted"
    )
    assert station.would_accept("OLD1") == (False, "local_list", "Expired")
    assert station.would_accept("NEW1") == (True, "local_list", "Accepted")
    assert station.would_accept("NEW1", now=datetime.now(UTC) + timedelta(days=2)) == (
        False,
        "local_list",
        "Expired",
    )
    time.sleep(0.2)
    assert service.station_calls("Authorize") == []


def test_an_unknown_tag_is_authorized_online(connect):
    station, service = connect(authorize={"GOOD1": "Accepted", "BAD1": "Invalid"})
    assert service.send_local_list(1, "Full", [entry("LISTED1")]) == "Accepted"
    assert station.would_accept("GOOD1") == (True, "online", "Accepted")
    assert station.would_accept("BAD1") == (False, "online", "Invalid")
    started = time.monotonic()
    assert station.would_accept("SILENT1") == (False, "offline", None)
    assert 0.9 <= time.monotonic() - started < 3
    asked = [call[3] for call in service.station_calls("Authorize")]
    assert asked == [{"idTag": "GOOD1"}, {"idTag": "BAD1"}, {"idTag": "SILENT1"}]
    # A late answer to the timed-out Authorize is ignored; the next question still works.
    service.send([3, service.station_calls("Authorize")[-1][1], {"idTagInfo": {"status": "Accepted"}}])
    assert station.would_accept("GOOD1") == (True, "online", "Accepted")


def test_a_reboot_keeps_the_list_and_boots_again(connect):
    station, service = connect()
    assert service.send_local_list(4, "Full", [entry("AAA1")]) == "Accepted"
    station.reboot()
    assert service.wait_for(
        lambda frames: len([f for f in frames if f[0] == 2 and f[2] == "BootNotification"]) == 2
    )
    assert station.snapshot()["listVersion"] == 4 and station.snapshot()["entries"] == {
        "AAA1": {"status": "Accepted"}
    }
    assert service.list_version() == 4


def connected(presence: list, station_id: str, times: int) -> bool:
    """Whether the endpoint announced `times` connections of this charger: only then is its `<id>/out`
    subscribed, so that a CALL the service publishes reaches it (a reconnect sends no frame to wait for)."""
    deadline = time.monotonic() + 5
    topic = f"$aws/events/presence/connected/{station_id}"
    while sum(t == topic for t, _ in list(presence)) < times:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_reconnect_without_reboot_keeps_the_list_and_sends_no_boot_notification(connect, presence):
    station, service = connect()
    assert service.send_local_list(4, "Full", [entry("AAA1")]) == "Accepted"
    station.reconnect()
    assert connected(presence, station.station_id, 2)
    assert service.list_version() == 4
    assert len(service.station_calls("BootNotification")) == 1 and station.snapshot()["boots"] == 1


def test_an_offline_charger_decides_from_its_list_alone_until_it_is_back(connect, presence):
    station, service = connect(authorize={"GOOD1": "Accepted"})
    assert service.send_local_list(1, "Full", [entry("AAA1")]) == "Accepted"
    station.go_offline()
    assert not station.online
    assert station.would_accept("AAA1") == (True, "local_list", "Accepted")
    assert station.would_accept("GOOD1") == (False, "offline", None)
    station.go_online()
    assert connected(presence, station.station_id, 2)
    assert station.online and station.would_accept("GOOD1") == (True, "online", "Accepted")
    assert service.list_version() == 1 and len(service.station_calls("BootNotification")) == 1


def test_a_lost_answer_is_done_but_never_arrives(connect):
    station, service = connect()
    station.lose_next_answer()
    service.send(
        [
            2,
            "lost-1",
            "SendLocalList",
            {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("AAA1")]},
        ]
    )
    deadline = time.monotonic() + 5
    while station.snapshot()["listVersion"] != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert station.snapshot()["entries"] == {"AAA1": {"status": "Accepted"}}
    # Only that answer is lost: the next CALL is answered
    assert service.list_version() == 1
    assert not any(frame[1] == "lost-1" for frame in service.frames)
    assert [json.loads(raw)[1] for direction, raw in station.frames if direction == "lost"] == ["lost-1"]


def test_a_transaction_is_started_and_stopped(connect):
    station, service = connect()
    assert station.start_transaction("AAA1") == {"idTagInfo": {"status": "Accepted"}, "transactionId": 7}
    [start] = service.station_calls("StartTransaction")
    assert start[3]["idTag"] == "AAA1" and start[3]["connectorId"] == 1
    assert station.stop_transaction(meter_stop=1200) == {}
    [stop] = service.station_calls("StopTransaction")
    assert stop[3]["transactionId"] == 7 and stop[3]["meterStop"] == 1200 and stop[3]["reason"] == "Local"
    with pytest.raises(RuntimeError):
        station.stop_transaction()


def test_heartbeats_follow_the_accepted_interval(connect):
    _station, service = connect(interval=1)
    assert service.wait_for(lambda frames: len([f for f in frames if f[0] == 2 and f[2] == "Heartbeat"]) >= 2)


def test_a_2_0_1_charger_authorizes_and_runs_a_transaction_in_2_0_1(connect):
    station, service = connect(authorize={"GOOD1": "Accepted"}, ocpp_version="2.0.1")
    [boot] = service.station_calls("BootNotification")
    assert boot[3] == {
        "chargingStation": {"model": "Simulator", "vendorName": "Connections"},
        "reason": "PowerUp",
    }
    assert station.would_accept("GOOD1") == (True, "online", "Accepted")
    assert service.station_calls("Authorize")[0][3] == {"idToken": {"idToken": "GOOD1", "type": "ISO14443"}}
    assert station.start_transaction("GOOD1") == {"idTokenInfo": {"status": "Accepted"}}
    assert station.stop_transaction() == {"idTokenInfo": {"status": "Accepted"}}
    started, ended = (call[3] for call in service.station_calls("TransactionEvent"))
    assert (started["eventType"], started["seqNo"], ended["eventType"], ended["seqNo"]) == (
        "Started",
        0,
        "Ended",
        1,
    )
    assert started["transactionInfo"]["transactionId"] == ended["transactionInfo"]["transactionId"]
    assert ended["transactionInfo"]["stoppedReason"] == "Local"


def test_run_chargers_and_stop_all(mqtt_port, endpoint):
    ids = [f"CP-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    services = [Service(mqtt_port, station_id) for station_id in ids]
    chargers = run_chargers(
        [{"station_id": ids[0]}, {"station_id": ids[1], "local_list_supported": False}], endpoint
    )
    try:
        for service in services:
            assert service.wait_for(lambda frames: frames)
        assert services[0].list_version() == 0 and services[1].list_version() == -1
    finally:
        stop_all(chargers)
    for service in services:
        service.close()
    assert [c.violations() for c in chargers] == [[], []]
    assert not any(c.online for c in chargers)


def check(station_id: str, card: str, port: int, timeout: float = 5) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "infra.local.station_check", "--station", station_id, "--card", card]
    command += ["--mqtt-port", str(port), "--timeout", str(timeout)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603


def test_station_check_answers_and_exits_0_1_2(connect, mqtt_port):
    station, service = connect(authorize={"ONLINE1": "Accepted", "ONLINE2": "Blocked"})
    assert service.send_local_list(2, "Full", [entry("04A2B3C4"), entry("BLOCKED1", "Blocked")]) == "Accepted"
    answers = {}
    threads = [
        threading.Thread(
            target=lambda card=card: answers.__setitem__(card, check(station.station_id, card, mqtt_port))
        )
        for card in ("04A2B3C4", "BLOCKED1", "ONLINE1", "ONLINE2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed, blocked, online, refused_online = (
        answers[c] for c in ("04A2B3C4", "BLOCKED1", "ONLINE1", "ONLINE2")
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.startswith("ACCEPTED") and "local list (version 2)" in listed.stdout
    assert blocked.returncode == 1 and blocked.stdout.startswith("REFUSED") and "Blocked" in blocked.stdout
    assert online.returncode == 0 and "Authorize with Accepted" in online.stdout
    assert refused_online.returncode == 1 and "Authorize with Blocked" in refused_online.stdout
    assert len(listed.stdout.strip().splitlines()) == 1
    offline = check(station.station_id, "SILENT1", mqtt_port)
    assert offline.returncode == 1 and "did not answer Authorize" in offline.stdout
    nobody = check("CP-NOT-RUNNING", "04A2B3C4", mqtt_port, timeout=1)
    assert nobody.returncode == 2 and nobody.stdout.startswith("NO ANSWER"), nobody.stdout + nobody.stderr
    # A station registered by hand has no charger until one is started: the answer says how
    assert "make charger STATION=CP-NOT-RUNNING" in nobody.stdout


def test_violations_check_each_frame_against_the_schema_of_its_version_and_call():
    boot = '[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'
    answer = '[3,"b1",{"status":"Accepted","currentTime":"2026-12-06T10:00:00Z","interval":300}]'
    assert violations([("sent", boot), ("received", answer)], "1.6") == []
    # In 2.0.1 the request breaks BootNotificationRequest's schema (the answer happens to fit its response)
    assert len(violations([("sent", boot), ("received", answer)], "2.0.1")) == 1
    # A CALLRESULT is checked against the response schema of the CALL it answers, from the other side
    assert violations([("sent", boot), ("received", '[3,"b1",{"status":"Maybe"}]')], "1.6")
    assert violations([("received", answer)], "1.6") == [f"received {answer}: answers no CALL"]
    assert violations([("sent", boot), ("sent", answer)], "1.6")
    # A CALLERROR carries a code of the version
    assert violations([("sent", boot), ("received", '[4,"b1","NotImplemented","",{}]')], "1.6") == []
    assert violations([("sent", boot), ("received", '[4,"b1","Oops","",{}]')], "1.6")
    assert violations([("sent", "not json")], "1.6")


def test_the_demo_has_a_charger_of_each_version():
    specs = charger_specs(
        [
            {"station_id": "A-1", "name": "Bay 1", "policy_id": "p"},
            {"station_id": "A-3", "name": "Bay 3", "policy_id": "p", **CAPABILITIES_201},
        ]
    )
    chargers = [Charger(url="ws://127.0.0.1:9000", **spec) for spec in specs]
    assert [c.ocpp_version for c in chargers] == ["1.6", "2.0.1"]
    assert chargers[1].list.bytes_per_message == CAPABILITIES_201["bytes_per_message"]
