"""A charger at the OCPP gateway's MQTT end, for the tests and benches against `make run`'s stack: its MQTT
client connects with the charger's id (as the gateway does, so the broker announces it), reads
`<id>/out`, and answers on `<id>/in`."""

import json
import threading
import time

import paho.mqtt.client as mqtt
from jsonschema import FormatChecker
from ocpp.messages import MessageType, get_validator


def violation(kind: int, action: str, payload: dict) -> str | None:
    """Why the payload is not valid OCPP 1.6 for the action (date-times included); None when it is."""
    validator = get_validator(kind, action, "1.6").evolve(format_checker=FormatChecker())
    error = next(iter(validator.iter_errors(payload)), None)
    return f"{action} {payload}: {error.message}" if error else None


class Charger:
    """An OCPP 1.6 charger at the gateway's MQTT end: while online, its client (id: the charger's id, a
    clean session, as the gateway's) reads `<id>/out`, keeps the local list it is sent, and answers
    SendLocalList and GetLocalListVersion on `<id>/in`. Every frame either way is checked against the
    `ocpp` package's 1.6 schemas: what fails is kept in `violations` (for the test to assert it empty)."""

    def __init__(self, port: int, station_id: str) -> None:
        self.port, self.station_id = port, station_id
        self.version, self.entries = 0, {}
        self.received: list[str] = []  # the actions of the CALLs received
        self.violations: list[str] = []
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
        if found := violation(MessageType.Call, action, payload):
            self.violations.append(found)
            return
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
        if found := violation(MessageType.CallResult, action, answer):
            self.violations.append(found)
        client.publish(f"{self.station_id}/in", json.dumps([3, unique_id, answer]), qos=1)

    def status(self, card: str) -> str | None:
        with self._lock:
            return self.entries.get(card)
