"""`make run`: start moto (DynamoDB, Streams, IoT, SES), the MQTT broker, the functions, the stream pumps,
the topic rules and the API gateway, all from template.yaml; seed a demo; stop everything on Ctrl-C."""

import faulthandler
import logging
import os
import signal
import socket
import sys
import threading
import time

import boto3
from moto.server import ThreadedMotoServer

from infra import template
from infra.local import (
    chargers,
    iot,
    lambda_api,
    moto_dynamodb,
    ocpp_gateway,
    outbox,
    schedules,
    seed,
    streams,
)
from infra.local.functions import load_functions
from infra.local.gateway import IOT_PREFIX, Gateway

REGION = "us-east-1"
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _port(variable: str, default: int) -> int:
    port = int(os.environ.get(variable, default))
    with socket.socket() as probe:
        # Bind as the servers do (SO_REUSEADDR), so a restart right after Ctrl-C is not refused.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(
                f"Port {port} is in use (is another `make run` going?). Free it or set {variable}=<port>."
            )
    return port


class Stack:
    def __init__(self) -> None:
        self.port = _port("PORT", 3000)
        self.mqtt_port = _port("MQTT_PORT", 1883)
        self.moto_port = _port("MOTO_PORT", 4566)
        self.ocpp_port = _port("OCPP_PORT", 9000)
        self.base = f"http://127.0.0.1:{self.port}"
        self.parked: list[dict] = []
        self._closers: list = []

    def start(self) -> None:
        moto_dynamodb.install()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        moto.start()
        self._closers.append(moto.stop)
        endpoint = f"http://127.0.0.1:{self.moto_port}"
        credentials = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto takes any
        os.environ.update(credentials, AWS_DEFAULT_REGION=REGION)
        tables = {name: name for name in template.resources("AWS::DynamoDB::Table")}
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        template.create_tables(dynamodb, tables)

        broker = iot.MqttBroker(self.mqtt_port)
        broker.start()
        self._closers.append(broker.stop)
        publisher = iot.Publisher(self.mqtt_port)
        self._closers.append(publisher.close)
        # Chargers connect here, as to the AWS OCPP gateway sample in front of IoT Core.
        registry = boto3.client("iot", endpoint_url=endpoint, region_name=REGION)
        self.ocpp = ocpp_gateway.OcppGateway(
            self.ocpp_port, self.mqtt_port, ocpp_gateway.provisioned(registry), broker.publish
        )
        self.ocpp.start()
        self._closers.append(self.ocpp.stop)

        env = {
            **credentials,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_IOT_DATA_PLANE": f"{self.base}{IOT_PREFIX}",
            "AWS_ENDPOINT_URL_LAMBDA": f"{self.base}{lambda_api.PREFIX}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            # The emails link to this stack's own console (template.yaml: the stack's ConsoleUrl).
            "CONSOLE_URL": f"{self.base}/",
        }
        outbox.verify_sender(boto3.client("sesv2", endpoint_url=endpoint, region_name=REGION))
        # A function's Ref is its name here, as the gateway's Invoke API knows it.
        names = {name: name for name in template.resources("AWS::Serverless::Function")}
        functions = load_functions(
            {**tables, **names, **outbox.PARAMETERS},
            env,
            concurrency=int(os.environ.get("LAMBDA_CONCURRENCY", 2)),
        )
        gateway = Gateway(self.port, functions, outbox.messages, lambda: self.parked, publisher)
        threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True).start()
        self.gateway = gateway

        # Closed in reverse: what invokes functions stops first, then the functions finish what they are
        # doing (they publish through the gateway and read moto), then the gateway and the rest.
        def close_gateway() -> None:
            gateway.shutdown()
            gateway.server_close()

        def close_functions() -> None:
            for f in functions.values():
                f.close()

        self._closers.append(close_gateway)
        self._closers.append(close_functions)

        stream_client = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION)
        self.pumps = []
        for mapping in streams.mappings():
            arn = dynamodb.describe_table(TableName=tables[mapping.table])["Table"]["LatestStreamArn"]
            reader = streams.StreamReader(stream_client, arn, latest=mapping.starting_position == "LATEST")
            replayer = streams.Replayer(mapping, reader, functions[mapping.function].invoke)
            pump = streams.Pump(replayer, self._park)
            pump.start()
            self._closers.append(pump.stop)
            self.pumps.append(pump)
        rules = iot.TopicRules(self.mqtt_port, functions)
        self._closers.append(rules.close)
        scheduler = schedules.Scheduler(functions)
        self._closers.append(scheduler.stop)

    def run_stations(self, specs: list[dict]) -> None:
        """Simulated chargers, connected to the OCPP endpoint as real ones to the AWS OCPP gateway."""
        running = chargers.run_chargers(specs, self.ocpp.url, self.mqtt_port)
        self._closers.append(lambda: chargers.stop_all(running))

    def _park(self, mapping, records, reason, attempts) -> None:
        self.parked.append(
            {
                "function": mapping.function,
                "reason": reason,
                "attempts": attempts,
                "at": time.time(),
                "records": records,
            }
        )
        print(f"[{mapping.function}] {len(records)} record(s) parked in the on-failure queue: {reason}")

    def stop(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception as error:  # noqa: BLE001 - keep closing the rest
                print(f"while stopping: {error!r}")


def main() -> None:
    stack = Stack()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack, if it ever hangs
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print("Starting Connections locally ...", flush=True)
    try:
        stack.start()
        if os.environ.get("SEED", "1") != "0":
            demo = seed.seed(stack.base, f"http://127.0.0.1:{stack.moto_port}")
            stack.run_stations(demo["stations"])
            print(seed.instructions(stack.base, demo, stack.mqtt_port, stack.ocpp.url), flush=True)
        print(
            f"Ready: console {stack.base}/  API {stack.base}  OCPP {stack.ocpp.url}/<chargerId>"
            f"  MQTT 127.0.0.1:{stack.mqtt_port}  moto http://127.0.0.1:{stack.moto_port}\n"
            f"Open {stack.base}/ in a browser and sign in as alice (the admin), bob, carol or dave.\n"
            "Data lives in memory and is gone when you stop (Ctrl-C).",
            flush=True,
        )
        # Wait in slices: a Ctrl-C the kernel hands to another thread runs its Python handler only when the
        # main thread next wakes, and an endless wait would never wake.
        while not stopping.wait(0.5):
            pass
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
