"""The OCPP-J WebSocket endpoint of `make run`, doing locally what the AWS OCPP gateway sample
(https://github.com/aws-samples/aws-ocpp-gateway) does in front of IoT Core:

- a charger connects to `ws://127.0.0.1:<OCPP_PORT>/<chargerId>` offering `ocpp1.6`, `ocpp2.0` or
  `ocpp2.0.1`; a connection offering none of them is refused (HTTP 400, by `websockets`' negotiation);
- a charger id that is not provisioned as an IoT thing is closed with code 1008, as the sample does;
- otherwise the endpoint connects to the broker with the charger id as MQTT client id, publishes every
  frame the charger sends on `<chargerId>/in` and relays `<chargerId>/out` to it unchanged (QoS 1);
- it publishes IoT Core's lifecycle events for that client, `$aws/events/presence/connected/<chargerId>`
  once `<chargerId>/out` is subscribed (so an answer to the event reaches the charger) and
  `.../disconnected/<chargerId>` when it goes. amqtt refuses a client's publish on a `$` topic (MQTT-4.7.2-1)
  and IoT Core publishes these itself, so the broker publishes them (`publish_event`);
- a second connection with the same id replaces the first, as IoT Core disconnects the older of two
  clients with one client id (disconnectReason `DUPLICATE_CLIENTID`).
"""

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote

import paho.mqtt.client as mqtt
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)
for noisy in ("websockets.server", "websockets.asyncio.server"):
    logging.getLogger(noisy).setLevel(logging.CRITICAL)  # refused handshakes are the point, not news

SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0", "ocpp2.0.1")
NOT_PROVISIONED = 1008  # the sample's close code for a charger id that is no IoT thing
PRESENCE_TOPIC = "$aws/events/presence/{event}/{client_id}"


def presence_topic(event: str, client_id: str) -> str:
    return PRESENCE_TOPIC.format(event=event, client_id=client_id)


class _Session:
    """One charger's connection: its WebSocket and its MQTT client, until either goes."""

    def __init__(self, charger_id: str, websocket: ServerConnection, version: int):
        self.charger_id = charger_id
        self.websocket = websocket
        self.version = version  # IoT Core's versionNumber: grows with every connection of this client id
        self.identifier = str(uuid.uuid4())
        self.disconnect_reason = "CLIENT_INITIATED_DISCONNECT"
        self.done = asyncio.Event()

    def event(self, kind: str) -> bytes:
        """An IoT Core lifecycle event for this session, as IoT Core words it."""
        body = {
            "clientId": self.charger_id,
            "timestamp": int(time.time() * 1000),
            "eventType": kind,
            "sessionIdentifier": self.identifier,
            "principalIdentifier": self.charger_id,
            "versionNumber": self.version,
            "ipAddress": self.websocket.remote_address[0],
        }
        if kind == "disconnected":
            body["disconnectReason"] = self.disconnect_reason
        return json.dumps(body).encode()


class OcppGateway:
    """The endpoint, on its own event loop in a thread of the stack."""

    def __init__(
        self,
        port: int,
        mqtt_port: int,
        is_provisioned: Callable[[str], bool],
        publish_event: Callable[[str, bytes], None],
        host: str = "127.0.0.1",
    ):
        self.port, self.mqtt_port, self.host = port, mqtt_port, host
        self.url = f"ws://{host}:{port}"
        self._is_provisioned = is_provisioned
        self._publish_event = publish_event
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._sessions: dict[str, _Session] = {}
        self._versions: dict[str, int] = {}
        self._stopping = False

    def start(self) -> None:
        ready = threading.Event()

        async def open_server() -> None:
            self._server = await serve(
                self._session, self.host, self.port, subprotocols=[Subprotocol(p) for p in SUBPROTOCOLS]
            )
            ready.set()

        threading.Thread(target=self._loop.run_forever, name="ocpp-gateway", daemon=True).start()
        asyncio.run_coroutine_threadsafe(open_server(), self._loop).result(10)
        ready.wait(10)

    def stop(self) -> None:
        async def close() -> None:
            self._stopping = True
            if self._server:
                self._server.close()  # closes every charger's connection (1001), their sessions end
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _session(self, websocket: ServerConnection) -> None:
        charger_id = unquote(websocket.request.path if websocket.request else "").strip("/")
        if (
            not charger_id
            or "/" in charger_id
            or not await asyncio.to_thread(self._is_provisioned, charger_id)
        ):
            await websocket.close(NOT_PROVISIONED, "not a provisioned charger")
            return
        older = self._sessions.get(charger_id)
        if older:
            older.disconnect_reason = "DUPLICATE_CLIENTID"
            await older.websocket.close(1000, "replaced by a newer connection of this charger")
            await older.done.wait()  # its MQTT client is gone, and its disconnected event out, before ours
        self._versions[charger_id] = version = self._versions.get(charger_id, 0) + 1
        session = self._sessions[charger_id] = _Session(charger_id, websocket, version)
        try:
            await self._bridge(session)
        finally:
            if self._sessions.get(charger_id) is session:
                del self._sessions[charger_id]
            session.done.set()

    async def _bridge(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        subscribed: asyncio.Future = loop.create_future()
        to_charger: asyncio.Queue[bytes] = asyncio.Queue()
        charger_id = session.charger_id

        def on_connect(client, _userdata, _flags, reason_code, _properties) -> None:
            if not reason_code.is_failure:
                client.subscribe(f"{charger_id}/out", qos=1)

        def on_subscribe(*_) -> None:
            loop.call_soon_threadsafe(_settle, subscribed)

        def on_message(_client, _userdata, message) -> None:
            loop.call_soon_threadsafe(to_charger.put_nowait, message.payload)

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=charger_id)
        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect(self.host, self.mqtt_port)
        client.loop_start()
        relay = None
        try:
            await asyncio.wait_for(subscribed, 10)
            await asyncio.to_thread(
                self._publish_event, presence_topic("connected", charger_id), session.event("connected")
            )
            relay = asyncio.create_task(self._relay(session.websocket, to_charger))
            async for frame in session.websocket:
                client.publish(f"{charger_id}/in", frame.encode() if isinstance(frame, str) else frame, qos=1)
        except ConnectionClosed:
            pass
        finally:
            if relay:
                relay.cancel()
            if session.websocket.close_code == 1006:
                session.disconnect_reason = "CONNECTION_LOST"
            elif self._stopping:
                session.disconnect_reason = "SERVER_INITIATED_DISCONNECT"
            await asyncio.to_thread(self._close_client, client)
            if subscribed.done():
                event = session.event("disconnected")
                await asyncio.to_thread(
                    self._publish_event, presence_topic("disconnected", charger_id), event
                )

    @staticmethod
    async def _relay(websocket: ServerConnection, to_charger: asyncio.Queue[bytes]) -> None:
        """`<id>/out` to the charger, as text frames (OCPP-J is JSON text), unchanged."""
        while True:
            payload = await to_charger.get()
            try:
                await websocket.send(payload.decode())
            except ConnectionClosed:
                return

    @staticmethod
    def _close_client(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(True)


def provisioned(registry) -> Callable[[str], bool]:
    """Is the charger id an IoT thing of the registry (a boto3 `iot` client)?"""

    def is_thing(charger_id: str) -> bool:
        try:
            registry.describe_thing(thingName=charger_id)
        except registry.exceptions.ResourceNotFoundException:
            return False
        return True

    return is_thing
