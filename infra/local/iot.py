"""IoT Core's message broker, locally: an embedded MQTT broker (amqtt) that stations connect to.

- What functions publish through the IoT data API (boto3 `iot-data` `publish`, unchanged code; the
  endpoint points at the gateway's /_local/iot) is delivered on this broker.
- IoT Core's own `$aws/...` events (a charger's presence, published by the local OCPP endpoint for each
  charger it connects) are published by the broker itself (`MqttBroker.publish`): amqtt closes a client
  that publishes on a `$` topic (MQTT-4.7.2-1).
- Every IoT rule of template.yaml (a function's `IoTRule` event, or an AWS::IoT::TopicRule with a Lambda
  action) subscribes to its topic filter and invokes its function with the event the rule's SQL selects.
"""

import asyncio
import base64
import json
import logging
import re
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from amqtt.broker import Broker

from infra import template
from infra.local.functions import LocalFunction

for noisy in ("amqtt", "transitions", "asyncio"):
    logging.getLogger(noisy).setLevel(logging.ERROR)

_SQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+'(?P<topic>[^']+)'\s*(?:WHERE\s+(?P<where>.+))?$", re.I | re.S
)
_TOPIC_FN = re.compile(r"^topic\((?P<n>\d*)\)\s+AS\s+(?P<name>\w+)$", re.I)


class MqttBroker:
    def __init__(self, port: int):
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._broker: Broker | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="mqtt-broker", daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the MQTT broker did not start on 127.0.0.1:{self.port}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = broker = Broker(config, loop=self._loop)
        self._loop.run_until_complete(broker.start())
        self._ready.set()
        self._loop.run_forever()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish as the broker itself: how IoT Core's own `$aws/...` events reach subscribers here (amqtt
        refuses a client's publish on a `$` topic)."""
        assert self._broker is not None, "start the broker first"
        future = asyncio.run_coroutine_threadsafe(
            self._broker.internal_message_broadcast(topic, payload, qos), self._loop
        )
        future.result(5)

    def stop(self) -> None:
        if self._broker:
            asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def client(port: int, name: str) -> mqtt.Client:
    connection = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}")
    connection.connect("127.0.0.1", port)
    connection.loop_start()
    return connection


class Publisher:
    """The IoT data plane's publish, onto the local broker."""

    def __init__(self, port: int):
        self._client = client(port, "iot-data")

    def __call__(self, topic: str, payload: bytes, qos: int) -> None:
        self._client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def _parsed(sql: str) -> re.Match[str]:
    found = _SQL.match(sql)
    if found is None:
        raise ValueError(f"not a topic rule this local IoT reads: {sql}")
    return found


def rule_event(sql: str, topic: str, payload: bytes):
    """What `SELECT ... FROM '<filter>'` passes to the rule's action for one message: `*` is the JSON
    payload, `topic()` / `topic(n) AS name` the topic or its n-th level, `timestamp() AS name` the time,
    `encode(*, 'base64') AS name` the raw payload in base64."""
    fields = [f.strip() for f in re.split(r",(?![^()]*\))", _parsed(sql).group("fields"))]
    try:
        body = json.loads(payload)
    except ValueError:
        body = payload.decode("utf-8", errors="replace")
    if fields == ["*"]:
        return body
    event = dict(body) if "*" in fields and isinstance(body, dict) else {}
    if "*" in fields and not isinstance(body, dict):
        event["payload"] = body
    levels = topic.split("/")
    for item in fields:
        found = _TOPIC_FN.match(item)
        if found:
            n = found.group("n")
            event[found.group("name")] = levels[int(n) - 1] if n else topic
        elif re.match(r"^timestamp\(\)\s+AS\s+(\w+)$", item, re.I):
            event[item.split()[-1]] = int(time.time() * 1000)
        elif re.match(r"^encode\(\s*\*\s*,\s*'base64'\s*\)\s+AS\s+(\w+)$", item, re.I):
            event[item.split()[-1]] = base64.b64encode(payload).decode()
    return event


class TopicRules:
    """A subscriber per topic rule that invokes the rule's function (asynchronously, as IoT does)."""

    def __init__(self, port: int, functions: dict[str, LocalFunction]):
        self._clients: list[mqtt.Client] = []
        for name, sql, targets in rules():
            topic_filter = _parsed(sql).group("topic")
            self._subscribe(port, name, sql, topic_filter, [functions[t] for t in targets])

    def _subscribe(self, port, name, sql, topic_filter, targets) -> None:
        def on_message(_client, _userdata, message):
            event = rule_event(sql, message.topic, message.payload)
            for function in targets:
                threading.Thread(
                    target=self._invoke, args=(function, event, message.topic), daemon=True
                ).start()

        def on_connect(connection, _userdata, _flags, _reason, _properties):
            connection.subscribe(topic_filter, qos=1)

        connection = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"rule-{name}-{uuid.uuid4().hex[:6]}"
        )
        connection.on_message, connection.on_connect = on_message, on_connect
        connection.connect("127.0.0.1", port)
        connection.loop_start()
        self._clients.append(connection)

    def _invoke(self, function: LocalFunction, event, topic: str) -> None:
        try:
            invocation = function.invoke(event)
        except RuntimeError:  # the stack is stopping: the function's workers are gone
            return
        if invocation.error:
            print(f"[{function.name}] failed on a message from {topic}:\n{invocation.error}")

    def close(self) -> None:
        for connection in self._clients:
            connection.loop_stop()
            connection.disconnect()


def rules() -> list[tuple[str, str, list[str]]]:
    """(name, SQL, functions) of every enabled IoT rule of the template."""
    found = []
    for name, resource in template.resources("AWS::IoT::TopicRule").items():
        payload = resource["Properties"]["TopicRulePayload"]
        if not payload.get("RuleDisabled"):
            targets = [_function_of(a["Lambda"]["FunctionArn"]) for a in payload["Actions"] if "Lambda" in a]
            found.append((name, payload["Sql"], targets))
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] == "IoTRule":
                found.append((f"{name}-{event_name}", event["Properties"]["Sql"], [name]))
    return found


def _function_of(arn) -> str:
    attribute = arn["Fn::GetAtt"]
    return attribute[0] if isinstance(attribute, list) else attribute.split(".")[0]
