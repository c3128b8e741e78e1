"""A free local TCP port, for servers a test starts (moto, the local stack, an MQTT broker)."""

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
