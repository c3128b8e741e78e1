"""The simulated OCPP 1.6J station over a real MQTT broker: the test plays the service, reading what the
station publishes on `<id>/in` and publishing CALLs and replies on `<id>/out`. Every frame the station
publishes is checked against the ocpp package's v1.6 schemas."""

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from ocpp.messages import Call, CallResult, validate_payload

from infra.local.chargers import SimulatedStation, run_stations, stop_all
from infra.local.iot import MqttBroker
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


class Service:
    """The service's end of the gateway convention: subscribes to `<id>/in`, publishes on `<id>/out`.
    Answers BootNotification, and Authorize from `authorize` (idTag -> status; absent: no answer)."""

    def __init__(self, port: int, station_id: str, authorize: dict | None = None):
        self.station_id = station_id
        self.authorize = authorize or {}
        self.frames: list[list] = []
        self.my_calls: dict[str, str] = {}  # uniqueId -> action of the CALLs this service sent
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
        if frame[0] == 2 and frame[2] == "BootNotification":
            now = datetime.now(UTC).isoformat()
            self.send([3, frame[1], {"status": "Accepted", "currentTime": now, "interval": 300}])
        elif frame[0] == 2 and frame[2] == "Authorize" and frame[3]["idTag"] in self.authorize:
            self.send([3, frame[1], {"idTagInfo": {"status": self.authorize[frame[3]["idTag"]]}}])

    def send(self, frame: list) -> None:
        self.client.publish(f"{self.station_id}/out", json.dumps(frame), qos=1)

    def wait_for(self, condition, timeout: float = 5.0):
        with self._changed:
            found = self._changed.wait_for(lambda: condition(self.frames), timeout)
        return found

    def call(self, action: str, payload, timeout: float = 5.0) -> list:
        """Send a CALL on `<id>/out`; the station's reply frame, matched by uniqueId."""
        unique_id = uuid.uuid4().hex
        self.my_calls[unique_id] = action
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

    def check_every_frame(self) -> None:
        """Each CALL against its action's schema; each CALLRESULT against the Response of the CALL it
        answers; each CALLERROR against OCPP-J's shape and 1.6's error codes."""
        with self._changed:
            frames = list(self.frames)
        for frame in frames:
            if frame[0] == 2:
                assert len(frame) == 4
                asyncio.run(validate_payload(Call(frame[1], frame[2], frame[3]), "1.6"))
            elif frame[0] == 3:
                assert len(frame) == 3 and frame[1] in self.my_calls, frame
                asyncio.run(validate_payload(CallResult(frame[1], frame[2], self.my_calls[frame[1]]), "1.6"))
            else:
                assert frame[0] == 4 and len(frame) == 5, frame
                assert frame[1] in self.my_calls and frame[2] in ERROR_CODES, frame
                assert isinstance(frame[3], str) and isinstance(frame[4], dict)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(mqtt_port):
    """connect(**capabilities) -> (a started station, the service watching it)."""
    opened = []

    def _connect(authorize: dict | None = None, **capabilities):
        station_id = f"CP-{uuid.uuid4().hex[:6]}"
        service = Service(mqtt_port, station_id, authorize)
        station = SimulatedStation(station_id, mqtt_port, **{"authorize_timeout": 1.0, **capabilities})
        opened.append((station, service))
        station.start()
        assert service.wait_for(lambda frames: frames)  # its BootNotification
        return station, service

    yield _connect
    for station, service in opened:
        station.stop()
        service.check_every_frame()
        service.close()


def entry(tag: str, status: str = "Accepted", **info) -> dict:
    return {"idTag": tag, "idTagInfo": {"status": status, **info}}


def test_boot_notification_on_start_and_its_answer_is_taken(connect):
    station, service = connect()
    (boot,) = service.station_calls("BootNotification")
    assert boot[3] == {"chargePointVendor": "Connections", "chargePointModel": "Simulator"}
    asyncio.run(validate_payload(Call(boot[1], boot[2], boot[3]), "1.6"))
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
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("X" * 21)]},
        {"listVersion": 1, "updateType": "Sometimes", "localAuthorizationList": []},
        {"listVersion": "1", "updateType": "Full", "localAuthorizationList": []},
        {"updateType": "Full", "localAuthorizationList": [entry("A")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A", "Maybe")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A"), entry("a")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A", expiryDate="soon")]},
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [], "extra": True},
    ],
    ids=[
        "full-without-idTagInfo",
        "idTag-too-long",
        "unknown-updateType",
        "version-not-integer",
        "no-version",
        "unknown-status",
        "idTag-twice",
        "bad-expiryDate",
        "extra-field",
    ],
)
def test_an_invalid_send_local_list_fails_and_changes_nothing(connect, payload):
    station, service = connect()
    reply = service.call("SendLocalList", payload)
    assert reply[0] == 3 and reply[2] == {"status": "Failed"}
    assert station.snapshot()["listVersion"] == 0 and station.snapshot()["entries"] == {}


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


def test_run_stations_and_stop_all(mqtt_port):
    ids = [f"CP-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    services = [Service(mqtt_port, station_id) for station_id in ids]
    stations = run_stations(
        [{"station_id": ids[0]}, {"station_id": ids[1], "local_list_supported": False}], mqtt_port
    )
    try:
        for service in services:
            assert service.wait_for(lambda frames: frames)
        assert services[0].list_version() == 0 and services[1].list_version() == -1
    finally:
        stop_all(stations)
    for service in services:
        service.check_every_frame()
        service.close()


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


def test_frames_that_break_the_schema_are_recorded_as_violations(connect):
    # Given a station that has only seen valid frames
    station, service = connect()
    assert service.send_local_list(1, "Full", [entry("AAA1")]) == "Accepted"
    assert station.violations == []
    # When the service sends one that breaks the OCPP 1.6 schema
    service.call("SendLocalList", {"listVersion": 2, "updateType": "Sometimes"})
    # Then the station records it, which is what the end-to-end tests assert is empty
    assert [action for action, _ in station.violations] == ["SendLocalList"]
