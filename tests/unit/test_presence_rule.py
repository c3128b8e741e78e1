"""IoT Core's presence events, locally: the broker announces a client (an OCPP gateway's, with the charger's
id) that connects on `$aws/events/presence/connected/<clientId>`, and the template's topic rule hands the
event to the function that answers chargers, as IoT Core does."""

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from infra.local.functions import Invocation
from infra.local.iot import MqttBroker, TopicRules, rule_event, rules
from tests.support.ports import free_port

PRESENCE = "$aws/events/presence/connected/CP-7"
EVENT = {
    "clientId": "CP-7",
    "timestamp": 1_765_000_000_000,
    "eventType": "connected",
    "sessionIdentifier": "00000000-0000-0000-0000-000000000000",
    "principalIdentifier": "12345678901234567890123456789012",
    "versionNumber": 3,
    "ipAddress": "127.0.0.1",
}


@pytest.fixture(scope="module")
def port():
    port = free_port()
    broker = MqttBroker(port)
    broker.start()
    yield port
    broker.stop()


class Recorder:
    """Stands in for a local function: keeps the events it is invoked with."""

    def __init__(self, name: str) -> None:
        self.name, self.events = name, []
        self.called = threading.Event()

    def invoke(self, event: dict) -> Invocation:
        self.events.append(event)
        self.called.set()
        return Invocation()


class Subscriber:
    """A client subscribed to `topic_filter`, keeping what it receives."""

    def __init__(self, port: int, topic_filter: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.got, subscribed = threading.Event(), threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:6]}")
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, _client, _userdata, message) -> None:
        self.received.append((message.topic, message.payload))
        self.got.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_the_broker_announces_each_client_that_connects_as_iot_core_does(port):
    # Given a subscriber to the presence events
    subscriber = Subscriber(port, "$aws/events/presence/connected/+")
    try:
        # When a gateway connects for charger CP-7, with its id as client id, twice
        before = time.time() * 1000
        for _ in range(2):
            subscriber.got.clear()
            charger = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="CP-7")
            charger.connect("127.0.0.1", port)
            charger.loop_start()
            assert subscriber.got.wait(5)
            charger.loop_stop()
            charger.disconnect()

        # Then each connection is announced with IoT Core's fields, a newer session each time
        events = [json.loads(p) for topic, p in subscriber.received if topic == PRESENCE]
        assert len(events) == 2
        assert set(events[0]) == set(EVENT)
        assert [e["clientId"] for e in events] == ["CP-7", "CP-7"]
        assert [e["eventType"] for e in events] == ["connected", "connected"]
        assert before <= events[0]["timestamp"] <= events[1]["timestamp"] <= time.time() * 1000
        assert events[0]["versionNumber"] < events[1]["versionNumber"]
        assert events[0]["sessionIdentifier"] != events[1]["sessionIdentifier"]
    finally:
        subscriber.close()


def test_the_templates_presence_rule_hands_the_event_to_the_station_messages_function(port):
    # Given the template's topic rules on the broker, each function a recorder
    functions = {target: Recorder(target) for _, _, targets in rules() for target in targets}
    topic_rules = TopicRules(port, functions)  # type: ignore[arg-type]
    try:
        messages = functions["StationMessagesFunction"]

        # When a gateway connects for charger CP-7 (again until the rule's subscription is in place: its
        # client connects asynchronously)
        for _ in range(50):
            charger = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="CP-7")
            charger.connect("127.0.0.1", port)
            charger.loop_start()
            found = messages.called.wait(0.2)
            charger.loop_stop()
            charger.disconnect()
            if found:
                break

        # Then the function gets the event as IoT Core's rule passes it, and no other function does
        charger_events = [e for e in messages.events if e["clientId"] == "CP-7"]
        assert charger_events and charger_events[0]["eventType"] == "connected"
        assert all(not f.events for name, f in functions.items() if name != "StationMessagesFunction")
    finally:
        topic_rules.close()


def test_the_presence_rule_selects_the_whole_event():
    (sql,) = [sql for _, sql, _ in rules() if "$aws/events/presence/connected/" in sql]
    assert rule_event(sql, PRESENCE, json.dumps(EVENT).encode()) == EVENT
