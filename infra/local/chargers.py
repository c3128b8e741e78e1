"""Simulated OCPP 1.6J charging stations, as they look from the cloud behind the public AWS OCPP gateway
sample: each station publishes its frames (its CALLs and its replies) on `<stationId>/in` and receives
what the service publishes on `<stationId>/out`, QoS 1. Frames are OCPP-J arrays: CALL
`[2, id, action, payload]`, CALLRESULT `[3, id, payload]`, CALLERROR `[4, id, code, description, details]`.

A station keeps an OCPP local authorization list (listVersion, idTag -> idTagInfo) and answers
SendLocalList and GetLocalListVersion as a charger does; anything else is answered `NotImplemented`.
`would_accept` says whether a card would be accepted now: from the local list, else by an online
`Authorize`. On the local-only topic `_local/stations/<stationId>/ask` a station answers the same question
for `python -m infra.local.station_check` (see ASK_TOPIC).

Run some against a running `make run`: `python -m infra.local.chargers CP-1 CP-2 [--mqtt-port 1883]`.
"""

import argparse
import copy
import json
import logging
import os
import queue
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from jsonschema.exceptions import ValidationError as SchemaValidationError
from ocpp.messages import MessageType, get_validator

log = logging.getLogger(__name__)

OCPP_VERSION = "1.6"
VENDOR, MODEL = "Connections", "Simulator"
AUTHORIZE_TIMEOUT = 3.0
ID_TAG_MAX_LENGTH = 20
# Local only (never on IoT Core): {"idTag": ..., "replyTo": "<topic>"} -> on replyTo
# {"station", "idTag", "accepted", "source", "status", "listVersion", "entry"}.
ASK_TOPIC = "_local/stations/{station_id}/ask"


def in_topic(station_id: str) -> str:
    """Where the station publishes (the gateway's station -> cloud direction)."""
    return f"{station_id}/in"


def out_topic(station_id: str) -> str:
    """What the station receives (the gateway's cloud -> station direction)."""
    return f"{station_id}/out"


def ask_topic(station_id: str) -> str:
    return ASK_TOPIC.format(station_id=station_id)


def schema_error(message_type: int, action: str, payload) -> str | None:
    """Why payload does not match the ocpp package's v1.6 schema of action (its Response for a
    CALLRESULT), or None when it does."""
    try:
        get_validator(message_type, action, OCPP_VERSION).validate(payload)
    except SchemaValidationError as error:
        return error.message
    except OSError:
        return f"no OCPP {OCPP_VERSION} schema for {action}"
    return None


def parse_time(value: str) -> datetime:
    """An OCPP dateTime (RFC 3339); one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(id_tag: str) -> str:
    return id_tag.casefold()  # OCPP 1.6: an IdToken is a case-insensitive string


def _frame(*items) -> bytes:
    return json.dumps(list(items), separators=(",", ":")).encode()


@dataclass
class _Outgoing:
    """One CALL the station sent, until its CALLRESULT / CALLERROR arrives or it times out."""

    unique_id: str
    action: str
    deadline: float
    answered: threading.Event = field(default_factory=threading.Event)
    reply: list | None = None


class SimulatedStation:
    """One OCPP 1.6J charger on the local MQTT broker, with its own paho client and worker thread."""

    def __init__(
        self,
        station_id: str,
        mqtt_port: int,
        *,
        local_list_supported: bool = True,
        local_auth_list_max_length: int = 50,
        send_local_list_max_length: int = 25,
        host: str = "127.0.0.1",
        authorize_timeout: float = AUTHORIZE_TIMEOUT,
    ):
        if not station_id or any(c in station_id for c in "/+#") or station_id.startswith("$"):
            raise ValueError(f"{station_id!r} cannot be an MQTT topic level")
        self.station_id = station_id
        self.mqtt_port = mqtt_port
        self.host = host
        self.local_list_supported = local_list_supported
        self.local_auth_list_max_length = local_auth_list_max_length
        self.send_local_list_max_length = send_local_list_max_length
        self.authorize_timeout = authorize_timeout
        self._lock = threading.Lock()  # the list, the version, the registration
        self._version = 0
        self._entries: dict[str, tuple[str, dict]] = {}  # casefolded idTag -> (idTag as sent, idTagInfo)
        self._registration: str | None = None  # the status of the last BootNotification's answer
        self._boots = 0
        # OCPP-J: at most one outstanding CALL per direction. `_outgoing` is the station's own.
        self._calls = threading.Condition()
        self._outgoing: _Outgoing | None = None
        self._incoming: queue.Queue = queue.Queue()  # the service's CALLs, answered one at a time
        self._subscribed = threading.Event()
        self._client: mqtt.Client | None = None
        self._worker: threading.Thread | None = None
        self._stopped = threading.Event()
        # Every frame from the service that broke the OCPP 1.6 schemas: (action, problem). Tests assert it
        # stays empty, so every frame the service sends in them is checked.
        self.violations: list[tuple[str, str]] = []

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, timeout: float = 10) -> "SimulatedStation":
        """Connect, subscribe to `<id>/out` and the ask topic, then send BootNotification."""
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"station-{self.station_id}-{uuid.uuid4().hex[:6]}"
        )
        client.on_connect, client.on_subscribe, client.on_message = (
            self._on_connect,
            self._on_subscribe,
            self._on_message,
        )
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client = client
        self._stopped.clear()
        self._worker = threading.Thread(target=self._work, name=f"station-{self.station_id}", daemon=True)
        self._worker.start()
        client.connect(self.host, self.mqtt_port)
        client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise RuntimeError(
                f"station {self.station_id} could not subscribe on {self.host}:{self.mqtt_port}"
            )
        self.boot()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._incoming.put(None)
        if self._worker and self._worker is not threading.current_thread():
            self._worker.join(5)
        with self._calls:
            if self._outgoing:
                self._outgoing.answered.set()
            self._outgoing = None
            self._calls.notify_all()
        if self._client:
            self._client.disconnect()
            self._client.loop_stop()
        self._subscribed.clear()

    def boot(self) -> None:
        """Send BootNotification (on start and on every reboot). The answer is recorded, not waited for."""
        with self._lock:
            self._boots += 1
        self._send_call("BootNotification", {"chargePointVendor": VENDOR, "chargePointModel": MODEL})

    def reboot(self) -> None:
        """A reboot: the local list survives (OCPP keeps it across reboots); BootNotification again."""
        with self._lock:
            self._registration = None
        self.boot()

    def snapshot(self) -> dict:
        """The station's state, for tests: listVersion (-1: no local lists) and entries idTag -> idTagInfo."""
        with self._lock:
            return {
                "stationId": self.station_id,
                "listVersion": self._version if self.local_list_supported else -1,
                "entries": {tag: copy.deepcopy(info) for tag, info in self._entries.values()},
                "registration": self._registration,
                "boots": self._boots,
            }

    # -- authorization -----------------------------------------------------------------------------------

    def would_accept(self, id_tag: str, now: datetime | None = None) -> tuple[bool, str, str | None]:
        """(accepted, source, status) for a card presented now. source: "local_list" (listed: only an
        Accepted, unexpired entry is accepted, and a listed card is never asked online), "online" (not
        listed: the service's Authorize answer decides), "offline" (no answer in time), "error" (the
        service answered with a CALLERROR; status is its code) or "invalid_tag" (not an OCPP idTag)."""
        if not isinstance(id_tag, str) or not 0 < len(id_tag) <= ID_TAG_MAX_LENGTH:
            return False, "invalid_tag", None
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        entry = self._entry(id_tag)
        if entry is not None:
            status = entry["status"]
            if status != "Accepted":
                return False, "local_list", status
            if "expiryDate" in entry and parse_time(entry["expiryDate"]) <= now:
                return False, "local_list", "Expired"
            return True, "local_list", "Accepted"
        reply = self._call("Authorize", {"idTag": id_tag}, self.authorize_timeout)
        if reply is None:
            return False, "offline", None
        if reply[0] == MessageType.CallError:
            return False, "error", reply[2] if len(reply) > 2 else None
        payload = reply[2] if len(reply) > 2 else None
        problem = schema_error(MessageType.CallResult, "Authorize", payload)
        if problem:
            log.warning("%s: an invalid AuthorizeResponse (%s): %s", self.station_id, problem, payload)
            return False, "error", "FormationViolation"
        assert payload is not None  # the schema requires idTagInfo
        status = payload["idTagInfo"]["status"]
        return status == "Accepted", "online", status

    def _entry(self, id_tag: str) -> dict | None:
        with self._lock:
            found = self._entries.get(_key(id_tag))
            return copy.deepcopy(found[1]) if found else None

    # -- the local authorization list --------------------------------------------------------------------

    def _send_local_list(self, payload) -> str:
        if not self.local_list_supported:
            return "NotSupported"
        problem = schema_error(MessageType.Call, "SendLocalList", payload)
        if problem:
            log.info("%s: SendLocalList refused: %s", self.station_id, problem)
            return "Failed"
        version, update = payload["listVersion"], payload["updateType"]
        items = payload.get("localAuthorizationList", [])
        if len(items) > self.send_local_list_max_length:
            return "Failed"
        keys = [_key(item["idTag"]) for item in items]
        if len(set(keys)) != len(keys) or version < 0:
            return "Failed"  # an idTag twice in one request; a negative version
        try:
            for item in items:
                if "expiryDate" in item.get("idTagInfo", {}):
                    parse_time(item["idTagInfo"]["expiryDate"])
        except ValueError:
            return "Failed"
        with self._lock:
            if update == "Full":
                if any("idTagInfo" not in item for item in items) or (version == 0 and items):
                    return "Failed"  # a full list carries every idTagInfo; version 0 means empty
                entries = {}
            else:
                if version <= self._version:
                    return "VersionMismatch"
                entries = dict(self._entries)
            for key, item in zip(keys, items, strict=True):
                if "idTagInfo" in item:
                    entries[key] = (item["idTag"], copy.deepcopy(item["idTagInfo"]))
                else:
                    entries.pop(key, None)
            if len(entries) > self.local_auth_list_max_length:
                return "Failed"
            self._entries, self._version = entries, version
        return "Accepted"

    def _handle(self, unique_id: str, action: str, payload) -> bytes:
        """The reply frame to one of the service's CALLs."""
        if action == "SendLocalList":
            return _frame(MessageType.CallResult, unique_id, {"status": self._send_local_list(payload)})
        if action == "GetLocalListVersion":
            problem = schema_error(MessageType.Call, action, payload)
            if problem:
                return _frame(MessageType.CallError, unique_id, "FormationViolation", problem, {})
            return _frame(MessageType.CallResult, unique_id, {"listVersion": self.snapshot()["listVersion"]})
        return _frame(
            MessageType.CallError, unique_id, "NotImplemented", f"{action} is not implemented here", {}
        )

    # -- MQTT --------------------------------------------------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("%s: the broker refused the connection: %s", self.station_id, reason_code)
            return
        client.subscribe([(out_topic(self.station_id), 1), (ask_topic(self.station_id), 1)])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        if all(not code.is_failure for code in reason_codes):
            self._subscribed.set()
        else:
            log.warning("%s: subscription refused: %s", self.station_id, reason_codes)

    def _on_message(self, _client, _userdata, message) -> None:
        """On paho's network thread: never block here (the replies we wait for arrive on it)."""
        if message.topic == ask_topic(self.station_id):
            threading.Thread(target=self._answer_ask, args=(message.payload,), daemon=True).start()
            return
        try:
            frame = json.loads(message.payload)
        except ValueError:
            log.warning("%s: not JSON on %s: %r", self.station_id, message.topic, message.payload[:200])
            return
        if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
            log.warning("%s: not an OCPP-J frame: %r", self.station_id, frame)
            return
        if frame[0] == MessageType.Call:
            if len(frame) == 4 and isinstance(frame[2], str):
                self._check(MessageType.Call, frame[2], frame[3])
            self._incoming.put(frame)
        elif frame[0] in (MessageType.CallResult, MessageType.CallError):
            self._answered(frame)
        else:
            log.warning("%s: unknown message type %r", self.station_id, frame[0])

    def _publish(self, frame: bytes) -> None:
        if self._client and not self._stopped.is_set():
            self._client.publish(in_topic(self.station_id), frame, qos=1)

    def _work(self) -> None:
        """The service's CALLs, one at a time, each answered before the next is read."""
        while True:
            frame = self._incoming.get()
            if frame is None:
                return
            unique_id = frame[1]
            if len(frame) != 4 or not isinstance(frame[2], str):
                reply = _frame(MessageType.CallError, unique_id, "FormationViolation", "not a CALL", {})
            else:
                try:
                    reply = self._handle(unique_id, frame[2], frame[3])
                except Exception as error:  # noqa: BLE001 - a charger answers InternalError, it does not die
                    log.exception("%s: %s failed", self.station_id, frame[2])
                    reply = _frame(MessageType.CallError, unique_id, "InternalError", repr(error), {})
            self._publish(reply)

    # -- the station's own CALLs -------------------------------------------------------------------------

    def _send_call(self, action: str, payload: dict, timeout: float = AUTHORIZE_TIMEOUT) -> _Outgoing | None:
        """Publish a CALL once the previous one is answered or has timed out (one outstanding per side)."""
        with self._calls:
            while (
                self._outgoing is not None
                and not self._outgoing.answered.is_set()
                and time.monotonic() < self._outgoing.deadline
                and not self._stopped.is_set()
            ):
                self._calls.wait(self._outgoing.deadline - time.monotonic())
            if self._stopped.is_set():
                return None
            call = _Outgoing(uuid.uuid4().hex, action, time.monotonic() + timeout)
            self._outgoing = call
        self._publish(_frame(MessageType.Call, call.unique_id, action, payload))
        return call

    def _call(self, action: str, payload: dict, timeout: float) -> list | None:
        """Send a CALL and wait for its reply frame; None when none came in time."""
        call = self._send_call(action, payload, timeout)
        if call is None:
            return None
        call.answered.wait(max(0.0, call.deadline - time.monotonic()))
        with self._calls:
            if self._outgoing is call:
                self._outgoing = None
                self._calls.notify_all()
        return call.reply

    def _answered(self, frame: list) -> None:
        with self._calls:
            call = self._outgoing
            if call is None or call.unique_id != frame[1]:
                log.info("%s: a reply to no outstanding CALL (late?): %r", self.station_id, frame[:2])
                return
            call.reply = frame
            call.answered.set()
            self._outgoing = None
            self._calls.notify_all()
        if frame[0] == MessageType.CallResult:
            self._check(MessageType.CallResult, call.action, frame[2] if len(frame) > 2 else None)
        if call.action == "BootNotification" and frame[0] == MessageType.CallResult:
            payload = frame[2]
            problem = schema_error(MessageType.CallResult, "BootNotification", payload)
            if problem:
                log.warning("%s: an invalid BootNotificationResponse (%s)", self.station_id, problem)
                return
            with self._lock:
                self._registration = payload["status"]

    def _check(self, message_type: int, action: str, payload) -> None:
        problem = schema_error(message_type, action, payload)
        if problem:
            kind = action if message_type == MessageType.Call else f"{action}Response"
            self.violations.append((kind, problem))

    # -- the local-only question from station_check ------------------------------------------------------

    def _answer_ask(self, raw: bytes) -> None:
        try:
            ask = json.loads(raw)
            id_tag, reply_to = ask["idTag"], ask["replyTo"]
        except (ValueError, KeyError, TypeError):
            log.warning("%s: an unreadable ask: %r", self.station_id, raw[:200])
            return
        if not isinstance(reply_to, str) or not reply_to or any(c in reply_to for c in "+#"):
            log.warning("%s: an ask with no usable replyTo: %r", self.station_id, reply_to)
            return
        accepted, source, status = self.would_accept(id_tag)
        state = self.snapshot()
        entry = self._entry(id_tag) if isinstance(id_tag, str) and source != "invalid_tag" else None
        answer = {
            "station": self.station_id,
            "idTag": id_tag,
            "accepted": accepted,
            "source": source,
            "status": status,
            "listVersion": state["listVersion"],
            "entry": entry if source == "local_list" else None,
            "authorizeTimeout": self.authorize_timeout,
        }
        if self._client and not self._stopped.is_set():
            self._client.publish(reply_to, json.dumps(answer).encode(), qos=1)


def run_stations(specs: list[dict], mqtt_port: int) -> list[SimulatedStation]:
    """Start one station per spec: {"station_id", "local_list_supported"?, "local_auth_list_max_length"?,
    "send_local_list_max_length"?, "authorize_timeout"?}. If one cannot start, the others are stopped."""
    started: list[SimulatedStation] = []
    try:
        for spec in specs:
            options = dict(spec)
            station_id = options.pop("station_id", None) or options.pop("id")
            started.append(SimulatedStation(station_id, mqtt_port, **options).start())
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(stations: list[SimulatedStation]) -> None:
    for station in reversed(stations):
        try:
            station.stop()
        except Exception as error:  # noqa: BLE001 - stop the rest
            log.warning("while stopping %s: %r", station.station_id, error)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run simulated OCPP 1.6J stations on the local broker.")
    parser.add_argument("stations", nargs="+", metavar="STATION_ID")
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", 1883)))
    parser.add_argument("--no-local-list", action="store_true", help="stations without local lists")
    parser.add_argument("--local-auth-list-max-length", type=int, default=50)
    parser.add_argument("--send-local-list-max-length", type=int, default=25)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    specs = [
        {
            "station_id": station_id,
            "local_list_supported": not args.no_local_list,
            "local_auth_list_max_length": args.local_auth_list_max_length,
            "send_local_list_max_length": args.send_local_list_max_length,
        }
        for station_id in args.stations
    ]
    stations = run_stations(specs, args.mqtt_port)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(f"Stations {', '.join(args.stations)} on 127.0.0.1:{args.mqtt_port}; Ctrl-C stops.", flush=True)
    while not stopping.wait(0.5):  # in slices, as in infra.local: the signal may land on another thread
        pass
    stop_all(stations)


if __name__ == "__main__":
    main()
