"""Simulated chargers, OCPP 1.6J or 2.0.1, built on the `ocpp` package's ChargePoint (v16, v201) and
connected as real ones are: an OCPP-J WebSocket to `<endpoint>/<chargerId>` with the version's subprotocol
(`make run`'s infra/local/ocpp_gateway.py locally, the AWS OCPP gateway sample in AWS).

A charger keeps an OCPP local authorization list and answers SendLocalList (Full / Differential, version
checks, capacity: 1.6 `LocalAuthListMaxLength` and `SendLocalListMaxLength`, 2.0.1 `LocalAuthListCtrlr`
`Entries`, `ItemsPerMessage` and `BytesPerMessage`) and GetLocalListVersion; the package answers anything
else `NotImplemented`, and a CALL that breaks its schema a CALLERROR. It sends BootNotification when it
starts (again after Pending, after the answer's interval), Heartbeat at the accepted interval, Authorize for
a card that is not on its list, and, when told, a transaction's start, meter values and stop (queued while
offline, sent in order when back online, as OCPP chargers do).

`would_accept` says whether a card would be accepted now; on the local-only MQTT topic
`_local/stations/<chargerId>/ask` a charger answers the same question for `make check-card`
(infra/local/station_check.py): a simulator's back door, not OCPP. Every frame both ways is kept raw in
`frames`, and `violations()` checks each against the package's schemas for the charger's version.

Run one against a running `make run`: `python -m infra.local.chargers CP-1 [--ocpp-version 2.0.1]`.
"""

import argparse
import asyncio
import copy
import dataclasses
import json
import logging
import os
import signal
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from jsonschema.exceptions import ValidationError as SchemaValidationError
from ocpp import v16, v201
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import FormationViolationError, FormatViolationError, OCPPError
from ocpp.messages import MessageType, get_validator
from ocpp.routing import on
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)
logging.getLogger("ocpp").setLevel(logging.CRITICAL)  # it logs every frame; `frames` has them

VENDOR, MODEL = "Connections", "Simulator"
AUTHORIZE_TIMEOUT = 3.0
BOOT_RETRY = 30.0  # seconds before a BootNotification nobody answered is sent again
# Local only (never on IoT Core): {"idTag": ..., "replyTo": "<topic>"} -> on replyTo
# {"station", "idTag", "accepted", "source", "status", "listVersion", "entry", "message"}.
ASK_TOPIC = "_local/stations/{station_id}/ask"


def ask_topic(station_id: str) -> str:
    return ASK_TOPIC.format(station_id=station_id)


def parse_time(value: str) -> datetime:
    """An OCPP dateTime (RFC 3339); one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_sent(answer: dict) -> dict:
    """An answer as the central system worded it: the package hands it over re-keyed in snake_case."""
    return snake_to_camel_case(answer)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Dialect:
    """Where the two versions put the same things in a local list."""

    version: str
    subprotocol: str
    list_version: str  # GetLocalListVersion's and SendLocalList's version field
    info: str  # an entry's status object
    expiry: str  # its expiry field
    max_token_length: int

    def token(self, item: dict) -> str:
        return item["idTag"] if self.version == "1.6" else item["idToken"]["idToken"]


V16 = Dialect("1.6", "ocpp1.6", "listVersion", "idTagInfo", "expiryDate", 20)
V201 = Dialect("2.0.1", "ocpp2.0.1", "versionNumber", "idTokenInfo", "cacheExpiryDateTime", 36)
DIALECTS = {d.version: d for d in (V16, V201)}
# The CALLERROR codes of OCPP-J 1.6 (section 4.2.3) and of the OCPP 2.0.1 RPC framework (4.3).
_SHARED_CODES = {"NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError"}
ERROR_CODES = {
    "1.6": frozenset(
        _SHARED_CODES
        | {"FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation"}
        | {"TypeConstraintViolation", "GenericError"}
    ),
    "2.0.1": frozenset(
        _SHARED_CODES
        | {"FormatViolation", "PropertyConstraintViolation", "OccurrenceConstraintViolation"}
        | {"TypeConstraintViolation", "GenericError", "MessageTypeNotSupported", "RpcFrameworkError"}
    ),
}


def schema_problem(version: str, message_type: int, action: str, payload) -> str | None:
    """Why payload breaks the `ocpp` package's schema for action in version (its Response for a
    CALLRESULT), or None when it does not."""
    try:
        get_validator(message_type, action, version).validate(payload)
    except SchemaValidationError as error:
        return error.message
    except OSError:
        return f"no OCPP {version} schema for {action}"
    return None


def violations(frames: list[tuple[str, str]], version: str) -> list[str]:
    """Every frame of a conversation ((direction, raw) pairs) that breaks the version's schemas: a CALL
    against its request schema, a CALLRESULT against the response schema of the CALL it answers (matched by
    uniqueId, as OCPP-J does), a CALLERROR's code against the version's codes."""
    asked: dict[tuple[str, str], str] = {}  # (direction of the CALL, uniqueId) -> action
    found = []
    for direction, raw in frames:
        try:
            frame = json.loads(raw)
            kind, unique_id = frame[0], frame[1]
        except (ValueError, IndexError, KeyError, TypeError):
            found.append(f"{direction}: not an OCPP-J frame: {raw[:200]}")
            continue
        if kind == MessageType.Call and len(frame) == 4:
            asked[(direction, unique_id)] = frame[2]
            problem = schema_problem(version, kind, frame[2], frame[3])
        elif kind == MessageType.CallResult and len(frame) == 3:
            other = "received" if direction == "sent" else "sent"
            action = asked.get((other, unique_id))
            problem = "answers no CALL" if action is None else schema_problem(version, kind, action, frame[2])
        elif kind == MessageType.CallError and len(frame) == 5:
            problem = None if frame[2] in ERROR_CODES[version] else f"not an OCPP {version} error code"
        else:
            problem = "not an OCPP-J frame"
        if problem:
            found.append(f"{direction} {raw[:300]}: {problem}")
    return found


class LocalList:
    """A charger's local authorization list: its version, entries (token -> its status object) and what it
    can hold. Kept across reconnects and reboots, as OCPP requires."""

    def __init__(self, dialect: Dialect, entries: int, items_per_message: int, bytes_per_message: int | None):
        self.dialect = dialect
        self.capacity, self.items_per_message, self.bytes_per_message = (
            entries,
            items_per_message,
            bytes_per_message,
        )
        self.version = 0
        self.entries: dict[str, tuple[str, dict]] = {}  # casefolded token -> (token as sent, status object)

    def apply(self, payload: dict, frame_bytes: int) -> tuple[str, str | None]:
        """(status, why) for one SendLocalList request, applied only when Accepted."""
        d = self.dialect
        version, update = payload[d.list_version], payload["updateType"]
        items = payload.get("localAuthorizationList", [])
        if len(items) > self.items_per_message:
            return "Failed", f"more than {self.items_per_message} entries in one message"
        if self.bytes_per_message is not None and frame_bytes > self.bytes_per_message:
            return "Failed", f"{frame_bytes} bytes, more than {self.bytes_per_message} in one message"
        keys = [d.token(item).casefold() for item in items]  # tokens are case-insensitive
        if len(set(keys)) != len(keys):
            return "Failed", "a token twice in one message"
        try:
            for item in items:
                if d.expiry in item.get(d.info, {}):
                    parse_time(item[d.info][d.expiry])
        except ValueError:
            return "Failed", "an unreadable expiry"
        if update == "Full":
            if any(d.info not in item for item in items) or (version == 0 and items):
                return "Failed", "a Full carries every entry's status, and version 0 is the empty list"
            entries = {}
        else:
            if version <= self.version:
                return "VersionMismatch", None
            entries = dict(self.entries)
        for key, item in zip(keys, items, strict=True):
            if d.info in item:
                entries[key] = (d.token(item), copy.deepcopy(item[d.info]))
            else:
                entries.pop(key, None)
        if len(entries) > self.capacity:
            return "Failed", f"more than {self.capacity} entries"
        self.entries, self.version = entries, version
        return "Accepted", None

    def entry(self, token: str) -> dict | None:
        found = self.entries.get(token.casefold())
        return copy.deepcopy(found[1]) if found else None


class _Link:
    """The charger's end of one WebSocket: records every frame both ways and can lose one of its answers."""

    def __init__(self, websocket: ClientConnection, charger: "Charger"):
        self.websocket, self.charger = websocket, charger
        # The CALL being handled: (payload, frame bytes). The package hands handlers the payload re-keyed in
        # snake_case, and BytesPerMessage is about the frame on the wire; it handles each CALL before it
        # reads the next frame, so the last one received is the one being handled.
        self.call: tuple[dict, int] = ({}, 0)

    async def recv(self) -> str:
        raw = await self.websocket.recv()
        raw = raw if isinstance(raw, str) else raw.decode()
        self.charger.frames.append(("received", raw))
        frame = json.loads(raw)
        if isinstance(frame, list) and len(frame) == 4 and frame[0] == MessageType.Call:
            self.call = (frame[3], len(raw.encode()))
        return raw

    async def send(self, raw: str) -> None:
        if self.charger._lose_next_answer and json.loads(raw)[0] != MessageType.Call:
            self.charger._lose_next_answer = False
            self.charger.frames.append(("lost", raw))
            return
        self.charger.frames.append(("sent", raw))
        await self.websocket.send(raw)


class _V16(v16.ChargePoint):
    def __init__(self, charger: "Charger", link: _Link):
        super().__init__(charger.station_id, link, response_timeout=charger.authorize_timeout)
        self.charger, self.link = charger, link

    async def _handle_call(self, msg):
        try:
            return await super()._handle_call(msg)
        except FormatViolationError as error:
            # The package words a schema break in 2.0.1's code; OCPP-J 1.6 calls it FormationViolation.
            raise FormationViolationError(error.description, error.details) from error

    @on("SendLocalList")
    def send_local_list(self, **_) -> v16.call_result.SendLocalList:
        return v16.call_result.SendLocalList(status=self.charger._send_local_list(self.link)[0])

    @on("GetLocalListVersion")
    def get_local_list_version(self) -> v16.call_result.GetLocalListVersion:
        return v16.call_result.GetLocalListVersion(list_version=self.charger.snapshot()["listVersion"])


class _V201(v201.ChargePoint):
    def __init__(self, charger: "Charger", link: _Link):
        super().__init__(charger.station_id, link, response_timeout=charger.authorize_timeout)
        self.charger, self.link = charger, link

    @on("SendLocalList")
    def send_local_list(self, **_) -> v201.call_result.SendLocalList:
        status, why = self.charger._send_local_list(self.link)
        info = {"reason_code": "InvalidValue", "additional_info": why[:512]} if why else None
        return v201.call_result.SendLocalList(status=status, status_info=info)

    @on("GetLocalListVersion")
    def get_local_list_version(self, **_) -> v201.call_result.GetLocalListVersion:
        return v201.call_result.GetLocalListVersion(version_number=self.charger.snapshot()["listVersion"])


class ChargerOffline(Exception):
    """The charger has no connection to its central system."""


class Charger:
    """One simulated charger, on an asyncio loop of its own in a thread; its methods are for threads."""

    def __init__(
        self,
        station_id: str,
        url: str,
        *,
        ocpp_version: str = "1.6",
        mqtt_port: int | None = None,
        local_list_supported: bool = True,
        local_auth_list_max_length: int = 50,
        send_local_list_max_length: int = 25,
        bytes_per_message: int | None = None,
        authorize_timeout: float = AUTHORIZE_TIMEOUT,
        boot_retry: float = BOOT_RETRY,
        pending_retry: float | None = None,
    ):
        self.station_id, self.url, self.mqtt_port = station_id, url.rstrip("/"), mqtt_port
        self.dialect = DIALECTS[ocpp_version]
        self.ocpp_version = ocpp_version
        self.local_list_supported = local_list_supported
        self.authorize_timeout, self.boot_retry = authorize_timeout, boot_retry
        # Seconds before booting again after Pending; None: the answer's interval, as a real charger waits
        # (a test sets less rather than wait the service's minute).
        self.pending_retry = pending_retry
        self.list = LocalList(
            self.dialect, local_auth_list_max_length, send_local_list_max_length, bytes_per_message
        )
        self.frames: list[tuple[str, str]] = []  # ("sent" | "received" | "lost", raw frame), in order
        self.boots = 0
        self.registration: str | None = None  # the status of the last BootNotification's answer
        self.screen: str | None = None  # the last personalMessage the central system sent for a driver
        self.transaction: dict | None = None
        self.closed: tuple[int | None, str | None] | None = (
            None  # (code, reason) the endpoint last closed with
        )
        # Transaction messages made while offline, sent in order once back online (OCPP queues them): the
        # request, and for a 1.6 message the transaction whose id its start's answer gives.
        self.queued: list[tuple[object, dict]] = []
        self._lose_next_answer = False
        self._lock = threading.Lock()  # the list, between the loop and the threads that read it
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._point: _V16 | _V201 | None = None
        self._tasks: list[asyncio.Task] = []
        self._asks: mqtt.Client | None = None

    # -- lifecycle, for tests and `make charger` ------------------------------------------------------

    def start(self, timeout: float = 10) -> "Charger":
        """Connect, then send BootNotification (its answer is not waited for)."""
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"charger-{self.station_id}", daemon=True
        )
        self._thread.start()
        try:
            self._run(self._connect(boot=True), timeout)
        except BaseException:
            self.stop()
            raise
        if self.mqtt_port is not None:
            self._asks = self._listen_for_asks(self.mqtt_port)
        return self

    def stop(self) -> None:
        if self._asks:
            self._asks.loop_stop()
            self._asks.disconnect()
            self._asks = None
        if self._thread and self._thread.is_alive():
            self._run(self._disconnect(), 10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def reboot(self, lose_list: bool = False) -> None:
        """Power cycle: close the connection, forget what a reboot forgets (its registration, a running
        transaction; the local list only when lose_list, as after a replaced controller board), connect and
        send BootNotification."""
        self._run(self._disconnect())
        self.registration, self.transaction = None, None
        if lose_list:
            with self._lock:
                self.list.entries, self.list.version = {}, 0
        self._run(self._connect(boot=True))

    def reconnect(self) -> None:
        """A dropped connection, re-established without rebooting: no BootNotification, list kept."""
        self._run(self._disconnect())
        self._run(self._connect(boot=False))

    def go_offline(self) -> None:
        self._run(self._disconnect())

    def go_online(self) -> list[dict]:
        """Back from an outage: connect again (a charger that kept running does not boot), then send the
        transaction messages queued meanwhile, in order; their answers (camelCase)."""
        self._run(self._connect(boot=False))
        queued, self.queued = self.queued, []
        return [self._send(request, transaction) for request, transaction in queued]

    def lose_next_answer(self) -> None:
        """The next CALLRESULT or CALLERROR this charger sends never arrives (it is kept in `frames` as
        "lost"); what it answered is done all the same."""
        self._lose_next_answer = True

    @property
    def online(self) -> bool:
        return self._point is not None

    def snapshot(self) -> dict:
        """listVersion (-1: no local lists) and entries token -> status object, as the charger holds them."""
        with self._lock:
            return {
                "stationId": self.station_id,
                "listVersion": self.list.version if self.local_list_supported else -1,
                "entries": {token: copy.deepcopy(info) for token, info in self.list.entries.values()},
                "registration": self.registration,
                "boots": self.boots,
            }

    def violations(self) -> list[str]:
        """Frames of this charger's conversations that break its version's schemas (see `violations`)."""
        return violations([f for f in self.frames if f[0] != "lost"], self.ocpp_version)

    # -- authorization and transactions -------------------------------------------------------------------

    def would_accept(self, token: str, now: datetime | None = None) -> tuple[bool, str, str | None]:
        """(accepted, source, status) for a card presented now. source: "local_list" (listed: only an
        Accepted, unexpired entry is accepted, and a listed card is never asked online), "online" (not
        listed: the central system's Authorize answer decides), "offline" (no answer in time), "error" (a
        CALLERROR, status is its code) or "invalid_tag" (too long or empty for the version)."""
        if not isinstance(token, str) or not 0 < len(token) <= self.dialect.max_token_length:
            return False, "invalid_tag", None
        now = now or datetime.now(UTC)
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        entry = self.entry(token)
        if entry is not None:
            if entry["status"] != "Accepted":
                return False, "local_list", entry["status"]
            if self.dialect.expiry in entry and parse_time(entry[self.dialect.expiry]) <= now:
                return False, "local_list", "Expired"
            return True, "local_list", "Accepted"
        try:
            result = self._run(self._call(self._authorize_request(token)), self.authorize_timeout + 2)
        except (TimeoutError, ChargerOffline):
            return False, "offline", None
        except OCPPError as error:
            return False, "error", error.code
        info = result.id_tag_info if self.ocpp_version == "1.6" else result.id_token_info
        self.screen = (info.get("personal_message") or {}).get("content")
        return info["status"] == "Accepted", "online", info["status"]

    def entry(self, token: str) -> dict | None:
        with self._lock:
            return self.list.entry(token)

    def start_transaction(
        self, token: str, connector_id: int = 1, meter_start: int = 0, timestamp: str | None = None
    ) -> dict:
        """Start charging for token: 1.6 StartTransaction, 2.0.1 TransactionEvent Started (with the meter's
        reading). The answer, as the central system sent it (camelCase); {} while offline, the message
        queued until go_online."""
        stamp = timestamp or _now()
        if self.ocpp_version == "1.6":
            self.transaction = {"transactionId": None, "idTag": token}
            request = v16.call.StartTransaction(
                connector_id=connector_id, id_tag=token, meter_start=meter_start, timestamp=stamp
            )
            return self._send_or_queue(request)
        self.transaction = {"transactionId": str(uuid.uuid4()), "idToken": self._id_token(token), "seqNo": 0}
        return self._transaction_event("Started", "Authorized", connector_id, meter_start, stamp)

    def meter_values(self, wh: int, connector_id: int = 1, timestamp: str | None = None) -> dict:
        """The running transaction's energy register: 1.6 MeterValues, 2.0.1 TransactionEvent Updated."""
        if self.transaction is None:
            raise RuntimeError("no transaction is running")
        stamp = timestamp or _now()
        if self.ocpp_version == "1.6":
            request = v16.call.MeterValues(
                connector_id=connector_id,
                transaction_id=self.transaction["transactionId"],
                meter_value=[{"timestamp": stamp, "sampled_value": [{"value": str(wh)}]}],
            )
            return self._send_or_queue(request)
        return self._transaction_event("Updated", "MeterValuePeriodic", connector_id, wh, stamp)

    def stop_transaction(
        self, meter_stop: int = 1000, reason: str = "Local", timestamp: str | None = None
    ) -> dict:
        """Stop the running transaction: 1.6 StopTransaction, 2.0.1 TransactionEvent Ended."""
        if self.transaction is None:
            raise RuntimeError("no transaction is running")
        stamp = timestamp or _now()
        if self.ocpp_version == "1.6":
            request = v16.call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=stamp,
                transaction_id=self.transaction["transactionId"],
                reason=reason,
            )
            answer = self._send_or_queue(request)
        else:
            answer = self._transaction_event(
                "Ended", "StopAuthorized", 1, meter_stop, stamp, stopped_reason=reason
            )
        self.transaction = None
        return answer

    def send(self, request) -> dict:
        """Any request of the charger's version, as is (a test's repeats and reorderings): the answer."""
        return self._send(request, {})

    def _transaction_event(
        self, event: str, trigger: str, evse: int, wh: int, stamp: str, stopped_reason: str | None = None
    ) -> dict:
        assert self.transaction is not None
        info = {"transaction_id": self.transaction["transactionId"]}
        if stopped_reason:
            info["stopped_reason"] = stopped_reason
        request = v201.call.TransactionEvent(
            event_type=event,
            timestamp=stamp,
            trigger_reason=trigger,
            seq_no=self.transaction["seqNo"],
            transaction_info=info,
            id_token=self.transaction["idToken"],
            evse={"id": evse, "connector_id": 1},
            meter_value=[{"timestamp": stamp, "sampled_value": [{"value": wh}]}],
            offline=not self.online or None,
        )
        self.transaction["seqNo"] += 1
        return self._send_or_queue(request)

    def _send_or_queue(self, request) -> dict:
        if not self.online:
            self.queued.append((request, self.transaction or {}))
            return {}
        return self._send(request, self.transaction or {})

    def _send(self, request, transaction: dict) -> dict:
        """Send a request; a 1.6 message queued before its start's answer names the id that answer gave."""
        if (
            isinstance(request, v16.call.MeterValues | v16.call.StopTransaction)
            and request.transaction_id is None
        ):
            request = dataclasses.replace(request, transaction_id=transaction["transactionId"])
        result = self._run(self._call(request))
        if isinstance(request, v16.call.StartTransaction):
            transaction["transactionId"] = result.transaction_id
        return _as_sent({k: v for k, v in dataclasses.asdict(result).items() if v is not None})

    def _authorize_request(self, token: str):
        if self.ocpp_version == "1.6":
            return v16.call.Authorize(id_tag=token)
        return v201.call.Authorize(id_token=self._id_token(token))

    @staticmethod
    def _id_token(token: str) -> dict:
        return {"id_token": token, "type": "ISO14443"}  # an ordinary RFID card

    # -- the local list, called by the ChargePoint's handlers on the loop ---------------------------------

    def _send_local_list(self, link: _Link) -> tuple[str, str | None]:
        if not self.local_list_supported:
            return ("NotSupported", None) if self.ocpp_version == "1.6" else ("Failed", "no local list")
        payload, size = link.call
        with self._lock:
            return self.list.apply(payload, size)

    # -- the connection, on the loop ----------------------------------------------------------------------

    def _run(self, coroutine, timeout: float = 15):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _connect(self, boot: bool) -> None:
        websocket = await connect(
            f"{self.url}/{self.station_id}",
            subprotocols=[Subprotocol(self.dialect.subprotocol)],
            open_timeout=10,
        )
        link = _Link(websocket, self)
        point: _V16 | _V201 = _V16(self, link) if self.ocpp_version == "1.6" else _V201(self, link)
        self._point = point
        self._tasks = [asyncio.create_task(self._serve(point))]
        if boot:
            self._tasks.append(asyncio.create_task(self._boot(point)))

    async def _serve(self, point: "_V16 | _V201") -> None:
        try:
            await point.start()
        except ConnectionClosed:
            pass
        finally:
            websocket = point.link.websocket
            self.closed = (websocket.close_code, websocket.close_reason)
            if self._point is point:
                self._point = None

    async def _disconnect(self) -> None:
        point, tasks = self._point, self._tasks
        self._point, self._tasks = None, []
        for task in tasks:
            task.cancel()
        if point is not None:
            await point.link.websocket.close()

    async def _call(self, request):
        if self._point is None:
            raise ChargerOffline(self.station_id)
        return await self._point.call(request, suppress=False)

    async def _boot(self, point: "_V16 | _V201") -> None:
        """BootNotification until Accepted: again after Pending's interval, or after boot_retry unanswered;
        then Heartbeat at the accepted interval."""
        if self.ocpp_version == "1.6":
            request = v16.call.BootNotification(charge_point_model=MODEL, charge_point_vendor=VENDOR)
        else:
            request = v201.call.BootNotification(
                charging_station={"model": MODEL, "vendor_name": VENDOR}, reason="PowerUp"
            )
        self.boots += 1
        while True:
            try:
                result = await point.call(request, suppress=False)
            except (TimeoutError, OCPPError):
                await asyncio.sleep(self.boot_retry)
                continue
            self.registration = result.status
            if result.status == "Accepted":
                break
            retry = result.interval if self.pending_retry is None else self.pending_retry
            await asyncio.sleep(max(retry, 0.1))
        while result.interval > 0:
            await asyncio.sleep(result.interval)
            try:
                await point.call(
                    v16.call.Heartbeat() if self.ocpp_version == "1.6" else v201.call.Heartbeat()
                )
            except TimeoutError:
                continue

    # -- the local-only question from station_check --------------------------------------------------------

    def _listen_for_asks(self, mqtt_port: int) -> mqtt.Client:
        subscribed = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ask-{self.station_id}-{uuid.uuid4().hex[:6]}"
        )
        client.on_connect = lambda c, *_: c.subscribe(ask_topic(self.station_id), qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = lambda c, _u, message: threading.Thread(
            target=self._answer_ask, args=(c, message.payload), daemon=True
        ).start()  # not on paho's thread: Authorize is waited for
        client.connect("127.0.0.1", mqtt_port)
        client.loop_start()
        subscribed.wait(10)
        return client

    def _answer_ask(self, client: mqtt.Client, raw: bytes) -> None:
        try:
            ask = json.loads(raw)
            token, reply_to = ask["idTag"], ask["replyTo"]
        except (ValueError, KeyError, TypeError):
            log.warning("%s: an unreadable ask: %r", self.station_id, raw[:200])
            return
        if not isinstance(reply_to, str) or not reply_to or any(c in reply_to for c in "+#"):
            return
        accepted, source, status = self.would_accept(token)
        answer = {
            "station": self.station_id,
            "idTag": token,
            "accepted": accepted,
            "source": source,
            "status": status,
            "listVersion": self.snapshot()["listVersion"],
            "entry": self.entry(token) if source == "local_list" else None,
            "authorizeTimeout": self.authorize_timeout,
            "message": self.screen if source == "online" else None,
        }
        client.publish(reply_to, json.dumps(answer).encode(), qos=1)


def run_chargers(specs: list[dict], url: str, mqtt_port: int | None = None) -> list[Charger]:
    """Start one charger per spec: {"station_id", "ocpp_version"?, and Charger's keyword arguments}. If one
    cannot start, the others are stopped."""
    started: list[Charger] = []
    try:
        for spec in specs:
            options = dict(spec)
            started.append(Charger(options.pop("station_id"), url, mqtt_port=mqtt_port, **options).start())
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(chargers: list[Charger]) -> None:
    for charger in reversed(chargers):
        try:
            charger.stop()
        except Exception as error:  # noqa: BLE001 - stop the rest
            log.warning("while stopping %s: %r", charger.station_id, error)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run simulated OCPP chargers against make run's endpoint.")
    parser.add_argument("stations", nargs="+", metavar="STATION_ID")
    parser.add_argument("--ocpp-version", choices=sorted(DIALECTS), default="1.6")
    parser.add_argument("--ocpp-port", type=int, default=int(os.environ.get("OCPP_PORT", 9000)))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", 1883)))
    parser.add_argument("--no-local-list", action="store_true", help="chargers without local lists")
    parser.add_argument("--local-auth-list-max-length", type=int, default=50, help="(2.0.1: Entries)")
    parser.add_argument("--send-local-list-max-length", type=int, default=25, help="(2.0.1: ItemsPerMessage)")
    parser.add_argument("--bytes-per-message", type=int, help="2.0.1 BytesPerMessage")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    url = f"ws://127.0.0.1:{args.ocpp_port}"
    specs = [
        {
            "station_id": station_id,
            "ocpp_version": args.ocpp_version,
            "local_list_supported": not args.no_local_list,
            "local_auth_list_max_length": args.local_auth_list_max_length,
            "send_local_list_max_length": args.send_local_list_max_length,
            "bytes_per_message": args.bytes_per_message,
        }
        for station_id in args.stations
    ]
    try:
        chargers = run_chargers(specs, url, args.mqtt_port)
    except OSError as error:
        raise SystemExit(
            f"No OCPP endpoint at {url} ({error}): is `make run` going (OCPP_PORT as for it)?"
        ) from None
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    names = ", ".join(args.stations)
    print(f"OCPP {args.ocpp_version} charger(s) {names} connected to {url}; Ctrl-C stops.", flush=True)
    while not stopping.wait(0.5):  # in slices, as in infra.local: the signal may land on another thread
        gone = next((c for c in chargers if not c.online), None)
        if gone:
            stop_all(chargers)
            code, reason = gone.closed or (None, None)
            hint = (
                f" Provision it first: make provision STATION={gone.station_id} ORG=<id>."
                if code == 1008
                else ""
            )
            raise SystemExit(
                f"{gone.station_id}: the endpoint closed the connection ({code} {reason}).{hint}"
            )
    stop_all(chargers)


if __name__ == "__main__":
    main()
