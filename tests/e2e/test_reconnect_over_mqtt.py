"""A charger that reconnects without rebooting, against `make run`'s stack: its gateway's MQTT client comes
back with the charger's id, the broker announces it on `$aws/events/presence/connected/<id>`, and the
service asks its list version and sends what it missed while it was away."""

import json
import statistics
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from jsonschema import FormatChecker
from ocpp.messages import MessageType, get_validator

from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def check(kind: int, action: str, payload: dict) -> None:
    """The payload is valid OCPP 1.6 for the action (date-times included), or the charger's thread fails and
    the test with it (the frame goes unanswered)."""
    get_validator(kind, action, "1.6").evolve(format_checker=FormatChecker()).validate(payload)


class Charger:
    """An OCPP 1.6 charger at the gateway's MQTT end: while online, its client (id: the charger's id, a
    clean session, as the gateway's) reads `<id>/out`, keeps the local list it is sent, and answers
    SendLocalList and GetLocalListVersion on `<id>/in`. Every frame either way is checked against the
    `ocpp` package's 1.6 schemas."""

    def __init__(self, port: int, station_id: str) -> None:
        self.port, self.station_id = port, station_id
        self.version, self.entries = 0, {}
        self.received: list[str] = []  # the actions of the CALLs received
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def online(self) -> float:
        """Connect and subscribe; when it connected (time.monotonic)."""
        subscribed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.station_id)
        client.on_connect = lambda c, *_: c.subscribe(f"{self.station_id}/out", qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = self._on_message
        at = time.monotonic()
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        assert subscribed.wait(5)
        self._client = client
        return at

    def offline(self) -> None:
        assert self._client is not None
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None

    def _on_message(self, client, _userdata, message) -> None:
        frame = json.loads(message.payload)
        if frame[0] != 2:
            return  # answers to calls of its own: it makes none here
        unique_id, action, payload = frame[1], frame[2], frame[3]
        check(MessageType.Call, action, payload)
        with self._lock:
            self.received.append(action)
            if action == "SendLocalList":
                entries = {} if payload["updateType"] == "Full" else dict(self.entries)
                for entry in payload.get("localAuthorizationList", []):
                    if "idTagInfo" in entry:
                        entries[entry["idTag"]] = entry["idTagInfo"]["status"]
                    else:
                        entries.pop(entry["idTag"], None)
                self.entries, self.version = entries, payload["listVersion"]
                answer = {"status": "Accepted"}
            elif action == "GetLocalListVersion":
                answer = {"listVersion": self.version}
            else:
                return
        check(MessageType.CallResult, action, answer)
        client.publish(f"{self.station_id}/in", json.dumps([3, unique_id, answer]), qos=1)

    def status(self, card: str) -> str | None:
        with self._lock:
            return self.entries.get(card)


@pytest.fixture
def site(stack):
    """A members-only station whose charger is online and holds its first Full."""
    admin = unique("admin")
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Depot"})
    org = org["organization_id"]
    _, connection, _ = stack.call(
        "POST",
        f"/organizations/{org}/connections",
        user=admin,
        body={"name": "Fleet", "public": True, "approval_mode": "auto"},
    )
    _, policy, _ = stack.call(
        "POST",
        f"/organizations/{org}/policies",
        user=admin,
        body={"name": "Depot bays", "connection_ids": [connection["connection_id"]]},
    )
    station_id = unique("CP").upper()
    stack.provision(station_id, org)
    status, _, _ = stack.call(
        "POST",
        f"/organizations/{org}/stations",
        user=admin,
        body={"station_id": station_id, "name": "Bay 1", "policy_id": policy["policy_id"]},
    )
    assert status == 201
    charger = Charger(stack.mqtt_port, station_id)
    charger.online()

    def view() -> dict:
        _, station, _ = stack.call("GET", f"/organizations/{org}/stations/{station_id}", user=admin)
        return station["sync"]

    assert wait_for(lambda: charger.version >= 1 and view()["in_sync"], timeout=10), "no first Full"
    yield {"connection": connection, "charger": charger, "view": view}


def join(stack, connection: dict, driver: str, card: str) -> None:
    assert stack.call("POST", "/me/cards", user=driver, body={"id_tag": card})[0] == 201
    path = f"/connections/{connection['connection_id']}/memberships"
    assert stack.call("POST", path, user=driver, body={})[0] == 201


def test_a_charger_back_online_without_rebooting_gets_what_it_missed_within_seconds(stack, site):
    charger, caught_up = site["charger"], []
    for round_ in range(5):
        # Given the charger offline while a driver joins (the Differential is lost: nobody reads it)
        charger.offline()
        card = f"R{round_}{uuid.uuid4().hex[:8]}".upper()
        join(stack, site["connection"], unique("driver"), card)
        assert wait_for(lambda: site["view"]()["awaiting"] == "SendLocalList", timeout=5)
        assert charger.status(card) is None

        # When it reconnects, without a BootNotification
        received = len(charger.received)
        connected_at = charger.online()

        # Then it is asked its version and gets the card, within seconds rather than at the next sweep
        assert wait_for(lambda card=card: charger.status(card) == "Accepted", timeout=5), charger.entries
        caught_up.append(time.monotonic() - connected_at)
        assert charger.received[received:] == ["GetLocalListVersion", "SendLocalList"]
        assert wait_for(lambda: site["view"]()["in_sync"], timeout=2)
    p50, most = statistics.median(caught_up), max(caught_up)
    print(f"reconnect -> card on the list: p50 {p50:.3f} s, max {most:.3f} s")
    assert max(caught_up) < 2
