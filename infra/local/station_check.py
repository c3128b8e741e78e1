"""Would this card be accepted at this station now, and why? Asks the running simulated station
(infra/local/chargers.py) on the broker, on its local-only topic `_local/stations/<id>/ask`.

    python -m infra.local.station_check --station CP-1 --card 04A2B3C4 [--mqtt-port 1883]

Exit status: 0 accepted, 1 refused, 2 the station did not answer (not running, or no broker).
"""

import argparse
import json
import os
import sys
import threading
import uuid

import paho.mqtt.client as mqtt

from infra.local.chargers import ask_topic

ACCEPTED, REFUSED, NO_ANSWER = 0, 1, 2


class BrokerUnreachable(Exception):
    """No MQTT broker answers at the address."""


def ask(station_id: str, card: str, mqtt_port: int, timeout: float = 8.0, host: str = "127.0.0.1"):
    """The station's answer (a dict), or None when it did not answer within timeout seconds."""
    reply_to = f"_local/station_check/{uuid.uuid4().hex}"
    subscribed, answered = threading.Event(), threading.Event()
    answer: dict = {}

    def on_connect(client, _userdata, _flags, reason_code, _properties):
        if not reason_code.is_failure:
            client.subscribe(reply_to, qos=1)

    def on_message(_client, _userdata, message):
        try:
            answer.update(json.loads(message.payload))
        except ValueError:
            return
        answered.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"station-check-{uuid.uuid4().hex[:8]}")
    client.on_connect, client.on_message = on_connect, on_message
    client.on_subscribe = lambda *_: subscribed.set()
    try:
        client.connect(host, mqtt_port)
    except OSError as error:
        raise BrokerUnreachable(f"{host}:{mqtt_port}: {error.strerror or error}") from None
    client.loop_start()
    try:
        if not subscribed.wait(timeout):
            return None
        client.publish(ask_topic(station_id), json.dumps({"idTag": card, "replyTo": reply_to}), qos=1)
        return answer if answered.wait(timeout) else None
    finally:
        client.disconnect()
        client.loop_stop()


def describe(answer: dict) -> str:
    """One line: the verdict and the reason, as the station sees it."""
    station, card, status = answer["station"], answer["idTag"], answer.get("status")
    verdict = "ACCEPTED" if answer["accepted"] else "REFUSED"
    version = answer.get("listVersion")
    listed = f"the station's local list (version {version})"
    source = answer["source"]
    if source == "local_list":
        entry = answer.get("entry") or {}
        until = f" until {entry['expiryDate']}" if entry.get("expiryDate") else ""
        if answer["accepted"]:
            why = f"it is on {listed} as Accepted{until}"
        elif entry.get("status") == "Accepted":
            why = f"it is on {listed} as Accepted{until}, which has passed (Expired); not asked online"
        else:
            why = f"it is on {listed} as {entry.get('status', status)}; a listed card that is not Accepted "
            why += "is refused without asking online"
    else:
        where = "the station keeps no local list" if version == -1 else f"it is not on {listed}"
        if source == "online":
            why = f"{where}; the service answered Authorize with {status}"
            if answer.get("message"):
                why += f' ("{answer["message"]}" on the charger\'s screen)'  # 2.0.1 personalMessage
        elif source == "offline":
            wait = answer.get("authorizeTimeout")
            why = f"{where}; the service did not answer Authorize" + (f" within {wait:g} s" if wait else "")
        elif source == "error":
            why = f"{where}; the service answered Authorize with the error {status}"
        elif source == "invalid_tag":
            why = "it is not an idTag this charger takes (1 to 20 characters in OCPP 1.6, 36 in 2.0.1)"
        else:
            why = f"{source}: {status}"
    return f"{verdict}: card {card} at {station}: {why}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Would this card be accepted at this station now, and why?")
    parser.add_argument("--station", required=True, help="the station id, e.g. CP-1")
    parser.add_argument("--card", required=True, help="the card's idTag, e.g. 04A2B3C4")
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", 1883)))
    parser.add_argument("--timeout", type=float, default=8.0, help="seconds to wait for the station")
    args = parser.parse_args(argv)
    if not args.station or not args.card:
        parser.error("give both: make check-card STATION=ACME-HQ-1 CARD=DA7E0001")
    try:
        answer = ask(args.station, args.card, args.mqtt_port, args.timeout)
    except BrokerUnreachable as error:
        print(
            f"NO ANSWER: no MQTT broker at {error} - is `make run` going? If it runs on another port,"
            " give it here too: MQTT_PORT=<port> make check-card ..."
        )
        return NO_ANSWER
    if answer is None:
        print(
            f"NO ANSWER: station {args.station} did not answer on 127.0.0.1:{args.mqtt_port} within "
            f"{args.timeout:g} s. Only the demo's stations have a simulated charger of their own; run one "
            f"for this station with `make charger STATION={args.station}` (OCPP_PORT and MQTT_PORT as for "
            "make run)."
        )
        return NO_ANSWER
    print(describe(answer))
    return ACCEPTED if answer["accepted"] else REFUSED


if __name__ == "__main__":
    sys.exit(main())
