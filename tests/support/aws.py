"""moto's server, started in this process, with the template's tables: real DynamoDB semantics
(conditions, transactions, indexes) behind a real HTTP endpoint, reached through AWS_ENDPOINT_URL."""

import logging
import os

import boto3
from moto.server import ThreadedMotoServer

from infra.local import moto_dynamodb, outbox
from infra.template import create_tables
from tests.support.ports import free_port
from tests.support.settings import TABLES, use_settings


def start_moto() -> tuple[ThreadedMotoServer, str]:
    moto_dynamodb.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def start_moto_for_functions() -> tuple[ThreadedMotoServer, str]:
    """What a benchmark runs the functions against: moto's server in this process, quiet, with fresh
    tables, and the functions' environment pointed at it (before they are imported: as in Lambda, they
    read their configuration at import), metrics off. Stop the server when done."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server, endpoint = start_moto()
    use_endpoint(endpoint)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    reset_tables(endpoint)
    return server, endpoint


CONSOLE_URL = "https://console.example"  # the stack's ConsoleUrl: where the emails link


def use_endpoint(endpoint: str) -> None:
    use_settings(
        AWS_ENDPOINT_URL=endpoint,
        SENDER_ADDRESS=outbox.SENDER,
        EMAIL_CONFIGURATION_SET=outbox.PARAMETERS["EmailConfigurationSet"],
        CONSOLE_URL=CONSOLE_URL,
    )
    outbox.verify_sender(boto3.client("sesv2", endpoint_url=endpoint, region_name="us-east-1"))


def reset_tables(endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    existing = client.list_tables()["TableNames"]
    for name in TABLES.values():
        if name in existing:
            client.delete_table(TableName=name)
    create_tables(client, TABLES)
