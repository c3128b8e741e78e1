"""`make run`'s OCPP-J WebSocket endpoint, as a charger and the cloud see it: a real WebSocket client on one
side, a real MQTT client on the broker on the other, as with the AWS OCPP gateway sample in front of IoT
Core."""

import json
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.support.topics import Topics

pytestmark = pytest.mark.e2e


class Cloud(Topics):
    """The cloud's side: what arrives on the charger's `<id>/in` and its lifecycle events; publishes on
    `<id>/out` as the service does."""

    def __init__(self, port: int, charger_id: str):
        super().__init__(port, f"{charger_id}/in", f"$aws/events/presence/+/{charger_id}")
        self.charger_id = charger_id

    def arrived(self, topic: str, count: int = 1) -> list[bytes]:
        """The payloads on topic, once there are at least count of them (fewer after timeout)."""
        self.wait_for(lambda: len(self.on(topic)) >= count)
        return self.on(topic)

    def events(self, kind: str, count: int = 1) -> list[dict]:
        return [json.loads(p) for p in self.arrived(f"$aws/events/presence/{kind}/{self.charger_id}", count)]

    def to_charger(self, raw: str) -> None:
        self.publish(f"{self.charger_id}/out", raw)


@pytest.fixture
def charger_id(stack):
    """A charger provisioned as an IoT thing (of an organization that has not registered it)."""
    charger_id = f"GW-{uuid.uuid4().hex[:8]}".upper()
    stack.provision(charger_id, "org-of-the-installer")
    return charger_id


@pytest.fixture
def cloud(stack, charger_id):
    watching = Cloud(stack.mqtt_port, charger_id)
    yield watching
    watching.close()


def received_until(websocket, wanted: str, timeout: float = 5.0) -> list[str]:
    """What the charger receives until wanted arrives (the service may also speak to it)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        seen.append(websocket.recv(timeout=max(0.0, deadline - time.monotonic())))
    return seen


@pytest.mark.parametrize("offered", [None, ["ocpp1.5"], ["chat"]])
def test_a_connection_without_an_ocpp_subprotocol_is_refused(stack, charger_id, offered):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ocpp_url}/{charger_id}", subprotocols=offered, open_timeout=5)
    assert refused.value.response.status_code == 400


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0", "ocpp2.0.1"])
def test_the_offered_ocpp_version_is_negotiated(stack, charger_id, subprotocol):
    with connect(f"{stack.ocpp_url}/{charger_id}", subprotocols=[subprotocol, "ocpp9"], open_timeout=5) as ws:
        assert ws.subprotocol == subprotocol


def test_a_charger_that_is_not_provisioned_is_closed_with_1008(stack, cloud):
    unknown = f"NOBODY-{uuid.uuid4().hex[:6]}"
    with connect(f"{stack.ocpp_url}/{unknown}", subprotocols=["ocpp1.6"], open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_frames_are_relayed_both_ways_unchanged_and_the_lifecycle_is_published(stack, charger_id, cloud):
    with connect(f"{stack.ocpp_url}/{charger_id}", subprotocols=["ocpp1.6"], open_timeout=5) as ws:
        # Once the endpoint says the charger is connected, what the cloud publishes reaches it
        [connected] = cloud.events("connected")
        assert connected["clientId"] == charger_id and connected["eventType"] == "connected"
        assert {"timestamp", "sessionIdentifier", "principalIdentifier", "versionNumber", "ipAddress"} <= set(
            connected
        )
        assert abs(connected["timestamp"] / 1000 - time.time()) < 10 and connected["ipAddress"] == "127.0.0.1"
        # The charger's frames go to <id>/in byte for byte (spacing and all)
        sent = '[3,  "not-asked-%s", {"status" : "Accepted"}]' % uuid.uuid4().hex  # noqa: UP031
        ws.send(sent)
        assert sent.encode() in cloud.arrived(f"{charger_id}/in")
        # And what is published on <id>/out reaches the charger unchanged
        call = '[2,"%s","GetLocalListVersion",  {}]' % uuid.uuid4().hex  # noqa: UP031
        cloud.to_charger(call)
        assert call in received_until(ws, call)
    # When the charger goes, the endpoint says so, for the same session
    [disconnected] = cloud.events("disconnected")
    assert disconnected["eventType"] == "disconnected" and disconnected["clientId"] == charger_id
    assert disconnected["sessionIdentifier"] == connected["sessionIdentifier"]
    assert disconnected["versionNumber"] == connected["versionNumber"]
    assert disconnected["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"


def test_a_second_connection_with_the_same_id_replaces_the_first(stack, charger_id, cloud):
    url = f"{stack.ocpp_url}/{charger_id}"
    with connect(url, subprotocols=["ocpp1.6"], open_timeout=5) as first:
        [first_session] = cloud.events("connected")
        with connect(url, subprotocols=["ocpp1.6"], open_timeout=5) as second:
            # The older connection is closed, as IoT Core disconnects the older of two clients with one id
            with pytest.raises(ConnectionClosed):
                while True:
                    first.recv(timeout=5)
            [gone] = cloud.events("disconnected")
            assert gone["sessionIdentifier"] == first_session["sessionIdentifier"]
            assert gone["disconnectReason"] == "DUPLICATE_CLIENTID"
            second_session = cloud.events("connected", 2)[1]
            assert second_session["versionNumber"] > first_session["versionNumber"]
            # And the newer one is the charger now, both ways
            call = f'[2,"{uuid.uuid4().hex}","GetLocalListVersion",{{}}]'
            cloud.to_charger(call)
            assert call in received_until(second, call)
            sent = f'[3,"not-asked-{uuid.uuid4().hex}",{{}}]'
            second.send(sent)
            assert sent.encode() in cloud.arrived(f"{charger_id}/in")
