"""Helpers for the station-side integration tests: the station admin API, the table stream delivered to
the StationSyncFunction the way its event source mapping does, and the station's end of IoT Core.

- `sync_stream` replays the table's DynamoDB stream from moto to functions/station_sync/app.handler as
  its event source mapping does (infra.local.streams.Replayer: Lambda's record shape, the template's
  FilterCriteria and BatchSize).
- What the functions publish through boto3's iot-data client lands in moto's in-process IoT data backend
  (`published_payloads`, a list of (topic, payload)); `Station` reads what was published on `<id>/out`
  and plays the charger by calling functions/station_messages/app.handler with the IoT rule's event
  {"station_id", "frame": base64 of the raw OCPP-J frame}.
- `OCPP` checks every frame either side sends against the `ocpp` package's JSON schemas for the station's
  OCPP version, 1.6 or 2.0.1 (date-times included). A CALLRESULT names no action, so the ledger remembers
  every CALL's uniqueId -> action and checks the result against <Action>Response.json.
"""

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from botocore.exceptions import EndpointConnectionError
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iotdata.models import iotdata_backends
from ocpp.messages import MessageType, get_validator

from connections.memberships.items import MembershipItem
from connections.stations import delivery, iot
from connections.stations.items import AllowChangeItem, AllowEntryItem, StationItem
from functions.expire_memberships.app import handler as expire_handler
from functions.manage_stations.app import handler as stations_handler
from functions.station_messages.app import handler as station_messages_handler
from functions.station_messages.sweep import handler as sweep_handler
from functions.station_sync.app import handler as sync_handler
from infra.local.streams import Replayer, StreamReader, mapping_of
from infra.provision import provision
from tests.support.api import Answer, FakeLambdaContext, call
from tests.support.memberships import (
    ADA,
    as_driver,
    checked,
    given_connection,
    given_organization,
    request_membership,
    sub_of,
)
from tests.support.ocpp import ERRORS_BY_VERSION

V16, V201 = "1.6", "2.0.1"
RFID = "ISO14443"  # an ordinary card's OCPP 2.0.1 idToken type
UNIQUE_ID_MAX = 36  # OCPP-J: the uniqueId is at most 36 characters
_FORMATS = FormatChecker()  # rfc3339-validator is installed: "format": "date-time" is checked too


# --- Schema checks of every frame, in the OCPP version of its station


class OcppLedger:
    """Every CALL either side sent in the current test (uniqueId -> action), to check each CALLRESULT or
    CALLERROR against the CALL it answers; `mark` is where the test's publishes start; `versions` the OCPP
    version of each station (1.6 unless a `Station` said otherwise)."""

    def __init__(self) -> None:
        self.service_calls: dict[str, str] = {}
        self.station_calls: dict[str, str] = {}
        self.versions: dict[str, list[tuple[int, str]]] = {}  # station -> (from which publish, version)
        self.mark = 0

    def start(self) -> None:
        self.__init__()
        self.mark = len(published())

    def speaks(self, station_id: str, version: str) -> None:
        """The station speaks `version` from the next publish on (an admin may change it)."""
        self.versions.setdefault(station_id, []).append((len(published()), version))

    def version(self, station_id: str, at: int | None = None) -> str:
        """The station's version when the publish `at` (None: the next one) was made."""
        at = len(published()) if at is None else at
        return next((v for since, v in reversed(self.versions.get(station_id, [])) if since <= at), V16)

    def check_from_service(self, topic: str, frame, at: int | None = None) -> None:
        assert topic.endswith("/out") and topic.count("/") == 1, f"published on {topic!r}, not <id>/out"
        version = self.version(topic.removesuffix("/out"), at)
        self._check(frame, version, calls=self.service_calls, answering=self.station_calls, sender="service")

    def check_from_station(self, frame, station_id: str = "") -> None:
        version = self.version(station_id)
        self._check(frame, version, calls=self.station_calls, answering=self.service_calls, sender="station")

    @staticmethod
    def _check(frame, version: str, *, calls: dict, answering: dict, sender: str) -> None:
        assert isinstance(frame, list) and len(frame) >= 3, f"{sender} sent a non-frame: {frame!r}"
        kind, unique_id = frame[0], frame[1]
        assert isinstance(unique_id, str) and 1 <= len(unique_id) <= UNIQUE_ID_MAX, frame
        if kind == MessageType.Call:
            assert len(frame) == 4 and isinstance(frame[2], str), frame
            _validate(MessageType.Call, frame[2], frame[3], frame, version)
            calls[unique_id] = frame[2]
        elif kind == MessageType.CallResult:
            assert len(frame) == 3, frame
            assert unique_id in answering, f"{sender} answered a CALL nobody sent: {frame!r}"
            _validate(MessageType.CallResult, answering[unique_id], frame[2], frame, version)
        elif kind == MessageType.CallError:
            assert len(frame) == 5, frame
            assert unique_id in answering, f"{sender} answered a CALL nobody sent: {frame!r}"
            assert frame[2] in ERRORS_BY_VERSION[version], f"not an OCPP {version} error code: {frame!r}"
            assert isinstance(frame[3], str) and isinstance(frame[4], dict), frame
        else:
            raise AssertionError(f"{sender} sent a frame of unknown type: {frame!r}")

    def check_everything_published(self) -> None:
        """Every frame published since `start`, whether the test read it or not, is valid OCPP in its
        station's version."""
        for at, (topic, payload) in enumerate(published()[self.mark :], start=self.mark):
            self.check_from_service(topic, json.loads(payload), at)


def _validate(kind: int, action: str, payload, frame, version: str) -> None:
    try:
        validator = get_validator(kind, action, version)
    except OSError:
        raise AssertionError(f"no OCPP {version} schema for {action}: {frame!r}") from None
    try:
        validator.evolve(format_checker=_FORMATS).validate(payload)
    except ValidationError as error:
        raise AssertionError(f"{frame!r} is not valid OCPP {version} {action}: {error.message}") from None


OCPP = OcppLedger()  # started again by the stations' conftest for each test


# --- IoT Core, as moto keeps it


def _iot_backend():
    region = os.environ.get("AWS_REGION", "us-east-1")
    return iotdata_backends[DEFAULT_ACCOUNT_ID][region]


def published() -> list[tuple[str, bytes]]:
    """Everything published through iot-data since moto started: (topic, payload)."""
    return _iot_backend().published_payloads


# --- The StationSyncFunction's event source mapping, by hand


def sync_stream() -> Replayer:
    """The table's stream from its start, to the sync function as its event source mapping delivers it;
    every batch delivered is kept (`delivered`)."""
    mapping = mapping_of("StationSyncFunction")
    assert mapping.partial_failures
    stream = StreamReader.of_table(os.environ["TABLE_NAME"])
    return Replayer(mapping, stream, lambda event: sync_handler(event, FakeLambdaContext()), delivered=[])


# --- The station's end of IoT Core


class Station:
    """A charger behind the AWS OCPP gateway, played by the test: reads what the service published on
    `<id>/out`, and sends frames to the StationMessagesFunction as the IoT rule on `+/in` does. It keeps
    an OCPP local list as a charger does when it accepts a SendLocalList (`accept`), and refuses one
    that would leave it holding more than `capacity` entries (its LocalAuthListMaxLength). It speaks
    `ocpp_version` (1.6 or 2.0.1): every frame either way is checked against that version's schemas."""

    def __init__(self, station_id: str, capacity: int | None = None, ocpp_version: str = V16) -> None:
        self.station_id = station_id
        self.capacity = capacity
        self.ocpp_version = ocpp_version
        OCPP.speaks(station_id, ocpp_version)
        self._read = len(published())
        self.version = 0
        self.entries: dict[str, dict] = {}  # idTag (case-folded) -> idTagInfo (in 2.0.1: idTokenInfo)
        self.types: dict[str, str] = {}  # 2.0.1: idToken (case-folded) -> its type

    def take(self) -> list[list]:
        """Every frame published to this station since the last take, in order."""
        everything = published()
        start, self._read = self._read, len(everything)
        frames = []
        for at, (topic, payload) in enumerate(everything[start:], start=start):
            if topic == f"{self.station_id}/out":
                frame = json.loads(payload)
                OCPP.check_from_service(topic, frame, at)
                frames.append(frame)
        return frames

    def take_one(self, action: str | None = None) -> list:
        frames = self.take()
        assert len(frames) == 1, f"{self.station_id} expected one frame, got {frames}"
        if action:
            assert frames[0][0] == MessageType.Call and frames[0][2] == action, frames[0]
        return frames[0]

    def send(self, frame: list) -> None:
        OCPP.check_from_station(frame, self.station_id)
        raw = json.dumps(frame).encode()
        station_messages_handler(
            {"station_id": self.station_id, "frame": base64.b64encode(raw).decode()}, FakeLambdaContext()
        )

    def connected(self, timestamp: int | None = None, station_id: str | None = None) -> list[list]:
        """IoT Core's presence event for its (new) connection through the gateway, as the topic rule on
        `$aws/events/presence/connected/+` passes it (`timestamp`: epoch ms, now by default); what the
        service published to it in return."""
        at = timestamp if timestamp is not None else int(time.time() * 1000)
        event = {
            "clientId": station_id or self.station_id,
            "timestamp": at,
            "eventType": "connected",
            "sessionIdentifier": str(uuid.uuid4()),
            "principalIdentifier": "12345678901234567890123456789012",
            "versionNumber": 1,
            "ipAddress": "192.0.2.10",
        }
        station_messages_handler(event, FakeLambdaContext())
        return self.take()

    def call(self, action: str, payload: dict) -> str:
        unique_id = uuid.uuid4().hex
        self.send([MessageType.Call, unique_id, action, payload])
        return unique_id

    def answer(self, frame: list, payload: dict) -> None:
        self.send([MessageType.CallResult, frame[1], payload])

    def accept(self, frame: list) -> None:
        """Apply a SendLocalList to the local list, as a charger does, and answer Accepted. A message the
        charger would have to refuse for want of room fails the test: the service must never send one."""
        update_type, version, listed = list_payload(frame)
        entries = {} if update_type == "Full" else dict(self.entries)
        for tag, info in listed.items():
            if info is not None:
                entries[tag.casefold()] = info
            else:
                entries.pop(tag.casefold(), None)
        assert self.capacity is None or len(entries) <= self.capacity, (
            f"{self.station_id} holds {len(self.entries)} of {self.capacity} entries and would answer"
            f" Failed to {frame[3]}"
        )
        for entry in frame[3].get("localAuthorizationList", []):
            if "idToken" in entry:
                self.types[entry["idToken"]["idToken"].casefold()] = entry["idToken"]["type"]
        self.entries, self.version = entries, version
        self.answer(frame, {"status": "Accepted"})

    def statuses(self) -> dict[str, str]:
        """The local list: idTag (upper case) -> status."""
        return {tag.upper(): info["status"] for tag, info in self.entries.items()}

    def card(self, id_tag: str, kind: str = RFID) -> dict:
        """How this station names a card in a call: {"idTag"} in 1.6, {"idToken": {idToken, type}} in
        2.0.1 (`kind` its type)."""
        if self.ocpp_version == V201:
            return {"idToken": {"idToken": id_tag, "type": kind}}
        return {"idTag": id_tag}

    def authorize(self, id_tag: str, kind: str = RFID) -> dict:
        """An online Authorize; the idTagInfo (2.0.1: idTokenInfo) of the service's CALLRESULT (its only
        answer)."""
        unique_id = self.call("Authorize", self.card(id_tag, kind))
        (answer,) = self.take()
        assert answer[0] == MessageType.CallResult and answer[1] == unique_id, answer
        return answer[2]["idTokenInfo" if self.ocpp_version == V201 else "idTagInfo"]

    def boot(self) -> list[list]:
        """A BootNotification; what the service published in return (its CALLRESULT first)."""
        unique_id = self.call("BootNotification", BOOT[self.ocpp_version])
        frames = self.take()
        assert frames and frames[0][0] == MessageType.CallResult and frames[0][1] == unique_id, frames
        return frames


BOOT = {
    V16: {"chargePointVendor": "Acme", "chargePointModel": "AC22"},
    V201: {"reason": "PowerUp", "chargingStation": {"model": "AC22", "vendorName": "Acme"}},
}


def list_payload(frame: list) -> tuple[str, int, dict[str, dict]]:
    """A SendLocalList CALL, of either version, as (updateType, listVersion, idTag -> idTagInfo): a 2.0.1
    versionNumber, idToken.idToken and idTokenInfo read as their 1.6 counterparts."""
    assert frame[0] == MessageType.Call and frame[2] == "SendLocalList", frame
    payload = frame[3]
    listed = payload.get("localAuthorizationList", [])
    if "versionNumber" in payload:
        entries = {e["idToken"]["idToken"]: e.get("idTokenInfo") for e in listed}
        version = payload["versionNumber"]
    else:
        entries = {e["idTag"]: e.get("idTagInfo") for e in listed}
        version = payload["listVersion"]
    assert len(entries) == len(listed), "an idTag twice in one message"
    return payload["updateType"], version, entries


def statuses(entries: dict[str, dict | None]) -> dict[str, str | None]:
    return {tag: info["status"] if info else None for tag, info in entries.items()}


# --- The station admin API (functions/manage_stations/app.py) and the driver's cards


def as_station_admin(method: str, path: str, *, email: str = ADA, **kwargs) -> Answer:
    kwargs.setdefault("sub", sub_of(email))
    return checked(call(stations_handler, method, path, email=email, **kwargs))


def given_policy(
    organization_id: str, connection_ids: list[str], name: str = "Depot", rules: dict | None = None, **kwargs
) -> dict:
    """A policy; `rules` adds its rules for drivers (visible_to, members, everyone)."""
    answer = as_station_admin(
        "POST",
        f"/organizations/{organization_id}/policies",
        body={"name": name, "connection_ids": connection_ids, **(rules or {})},
        **kwargs,
    )
    assert answer.status == 201, answer.body
    return answer.body


def given_station(organization_id: str, station_id: str, policy_id: str | None = None, **fields) -> Station:
    """A registered station (as `Station`, reading what is published to it from now on)."""
    station = Station(station_id, fields.get("local_auth_list_max_length"), fields.get("ocpp_version", V16))
    provision(station_id, organization_id)
    body = {"station_id": station_id, "name": f"Charger {station_id}", **fields}
    if policy_id:
        body["policy_id"] = policy_id
    answer = as_station_admin("POST", f"/organizations/{organization_id}/stations", body=body)
    assert answer.status == 201, answer.body
    return station


def station_view(organization_id: str, station_id: str) -> dict:
    answer = as_station_admin("GET", f"/organizations/{organization_id}/stations/{station_id}")
    assert answer.status == 200, answer.body
    return answer.body


def policy_view(organization_id: str, policy_id: str) -> dict:
    answer = as_station_admin("GET", f"/organizations/{organization_id}/policies/{policy_id}")
    assert answer.status == 200, answer.body
    return answer.body


def add_card(driver: str, id_tag: str, **kwargs) -> Answer:
    return as_driver("POST", "/me/cards", sub=driver, body={"id_tag": id_tag, **kwargs})


def given_card(driver: str, id_tag: str) -> None:
    answer = add_card(driver, id_tag)
    assert answer.status == 201, answer.body


def remove_card(driver: str, id_tag: str) -> Answer:
    return as_driver("DELETE", f"/me/cards/{id_tag}", sub=driver)


def given_open_connection(organization_id: str, name: str = "Residents") -> dict:
    """A public connection that approves every request at once."""
    return given_connection(organization_id, name=name, public=True, approval_mode="auto")


def given_auto_member(connection: dict, driver: str, *cards: str) -> None:
    """A driver with `cards` who joins an auto-approving connection (active at once)."""
    for id_tag in cards:
        given_card(driver, id_tag)
    answer = request_membership(connection, driver)
    assert answer.status == 201 and answer.body["status"] == "active", answer.body


class Depot(NamedTuple):
    organization: str  # its organization_id
    connection: dict
    policy: dict


def given_depot(members: dict[str, str | tuple[str, ...]] | None = None) -> Depot:
    """The station tests' usual world: Ada's organization, an open connection whose `members` (driver ->
    card or cards) have joined, and a policy over that connection (its stations are the test's to add)."""
    organization = given_organization()
    connection = given_open_connection(organization)
    for driver, cards in (members or {}).items():
        given_auto_member(connection, driver, *((cards,) if isinstance(cards, str) else cards))
    return Depot(organization, connection, given_policy(organization, [connection["connection_id"]]))


# --- The other station functions, and what the table holds


def metric(output: str, name: str) -> list[float]:
    """The values of metric `name` in the EMF lines a function printed."""
    values = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            values += json.loads(line).get(name, [])
    return values


def run_sweep() -> dict:
    return sweep_handler({}, FakeLambdaContext())


def run_expiry() -> dict:
    return expire_handler({}, FakeLambdaContext())


def entries_of(policy_id: str) -> dict[str, tuple[str, int]]:
    """A policy's stored allow list: idTag -> (status, seq). Checks on the way that its change log holds
    exactly the latest change of every entry, which is what deliveries read."""
    pk, _ = AllowEntryItem.key(policy_id, "")
    found = AllowEntryItem.query(pk, AllowEntryItem.sk.startswith("TAG#"), consistent_read=True)
    entries = {e.id_tag: (e.status, int(e.seq)) for e in found}
    log = AllowChangeItem.query(AllowChangeItem.partition(policy_id), consistent_read=True)
    assert sorted((c.id_tag, (c.status, int(c.seq))) for c in log) == sorted(entries.items())
    return entries


def policy_seq(policy_id: str) -> int:
    return delivery.policy_seq(policy_id)


def stored_station(station_id: str) -> StationItem:
    return StationItem.get(*StationItem.key(station_id), consistent_read=True)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def settle(sync: Replayer, *stations: Station, rounds: int = 20) -> list[list]:
    """Drain the stream and let the stations accept every SendLocalList, until nothing more comes; the
    SendLocalLists they accepted, in order."""
    accepted: list[list] = []
    for _ in range(rounds):
        sync.drain()
        received = [(station, frame) for station in stations for frame in station.take()]
        if not received:
            return accepted
        for station, frame in received:
            station.accept(frame)
            accepted.append(frame)
    raise AssertionError(f"the stations were still receiving after {rounds} rounds")


def move_expiry(connection_id: str, driver: str, when: datetime) -> None:
    """Move an active membership's re-verification date, index included (as if it had been approved
    `reverify_days` before): the clock cannot be moved, so a lapse is made by moving the date."""
    item = MembershipItem.get(*MembershipItem.key(connection_id, driver), consistent_read=True)
    item.expires_at = when
    item.index()
    item.save()


def backdate_in_flight(station_id: str, sent_at: datetime) -> None:
    """Make the request in flight look sent at `sent_at` (what the sweep for unanswered requests reads)."""
    station = stored_station(station_id)
    due = delivery.answer_due(sent_at, int(station.in_flight_resends or 0))
    station.update(
        actions=[
            StationItem.in_flight_sent_at.set(sent_at),
            StationItem.gsi3sk.set(f"{due.isoformat()}#{station_id}"),
        ]
    )


def backdate_stale(station_id: str, since: datetime) -> None:
    """Make the station look out of sync since `since` (the clock cannot be moved)."""
    station = stored_station(station_id)
    assert station.stale_since is not None, f"{station_id} is in sync"
    station.update(actions=[StationItem.stale_since.set(since)])


def given_synced_station(
    sync: Replayer, organization_id: str, station_id: str, policy_id: str, ocpp_version: str = V16
) -> Station:
    """A station of the policy that has accepted its Full and everything after it."""
    station = given_station(organization_id, station_id, policy_id, ocpp_version=ocpp_version)
    accepted = settle(sync, station)
    assert accepted and list_payload(accepted[0])[0] == "Full", accepted
    return station


def publishing_fails_for(*station_ids: str):
    """IoT's publish as it is now, but failing for `station_ids` as an unreachable endpoint does."""
    publish = iot.publish

    def failing(to: str, frame: list) -> int:
        if to in station_ids:
            raise EndpointConnectionError(endpoint_url="https://data-ats.iot.us-east-1.amazonaws.com")
        return publish(to, frame)

    return failing
