"""IoT Core's presence events, locally: the template's topic rule on `$aws/events/presence/connected/+`
hands the event (published by the broker itself, as the local OCPP endpoint has it published for each
charger it connects) to the function that answers chargers, as IoT Core does."""

import json
import threading

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
def broker():
    broker = MqttBroker(free_port())
    broker.start()
    yield broker
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


def test_the_templates_presence_rule_hands_the_event_to_the_station_messages_function(broker):
    # Given the template's topic rules on the broker, each function a recorder
    functions = {target: Recorder(target) for _, _, targets in rules() for target in targets}
    topic_rules = TopicRules(broker.port, functions)  # type: ignore[arg-type]
    try:
        messages = functions["StationMessagesFunction"]

        # When charger CP-7 connects (announced again until the rule's subscription is in place: its
        # client connects asynchronously)
        for _ in range(50):
            broker.publish(PRESENCE, json.dumps(EVENT).encode())
            if messages.called.wait(0.2):
                break

        # Then the function gets the event as IoT Core's rule passes it, and no other function does
        assert messages.events and messages.events[0] == EVENT
        assert all(not f.events for name, f in functions.items() if name != "StationMessagesFunction")
    finally:
        topic_rules.close()


def test_the_presence_rule_selects_the_whole_event():
    (sql,) = [sql for _, sql, _ in rules() if "$aws/events/presence/connected/" in sql]
    assert rule_event(sql, PRESENCE, json.dumps(EVENT).encode()) == EVENT
