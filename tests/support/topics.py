"""An MQTT client on a local broker that records what arrives on some topics, in order, and publishes:
the cloud's side of the OCPP gateway in tests (`<id>/in`, `<id>/out`, `$aws/events/presence/...`)."""

import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt


class Topics:
    def __init__(self, port: int, *topics: str, on_message: Callable[[str, bytes], None] | None = None):
        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        self._on_message = on_message
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cloud-{uuid.uuid4().hex[:8]}")
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._received
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert subscribed.wait(5), f"could not subscribe to {topics}"

    def _received(self, _client, _userdata, message) -> None:
        with self._changed:
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()
        if self._on_message:
            self._on_message(message.topic, message.payload)

    def on(self, topic: str) -> list[bytes]:
        with self._changed:
            return [payload for t, payload in self.messages if t == topic]

    def wait_for(self, condition: Callable[[], object], timeout: float = 5.0):
        """condition()'s first truthy value as messages arrive, or a falsy one after timeout."""
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def publish(self, topic: str, raw: str) -> None:
        """QoS 1, not waited for: this may run on paho's thread (in on_message), which delivers the PUBACK."""
        self.client.publish(topic, raw.encode(), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
