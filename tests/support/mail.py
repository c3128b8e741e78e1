"""Helpers for the email tests: the table's stream delivered to the NotifyFunction as its event source
mapping delivers it (infra.local.streams.Replayer), the sweep, and what SES (moto's server, in this
process) accepted, read by infra/local/outbox.py as `make run` shows it."""

import os
import re

from moto.ses.models import ses_backends

from functions.notify.app import handler as notify_handler
from functions.notify.sweep import handler as sweep_handler
from infra.local import outbox
from infra.local.streams import Replayer, StreamReader, mapping_of
from tests.support.api import FakeLambdaContext

CODE = re.compile(r"\b([A-Z0-9]{4})-([A-Z0-9]{4})\b")


def notify_stream() -> Replayer:
    """The table's stream from its start, to the notify function as its event source mapping delivers it."""
    mapping = mapping_of("NotifyFunction")
    assert mapping.partial_failures
    stream = StreamReader.of_table(os.environ["TABLE_NAME"])
    return Replayer(mapping, stream, lambda event: notify_handler(event, FakeLambdaContext()))


def failed(answer: dict) -> list[str]:
    """The sequence numbers an invocation's answer reported failed."""
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def sweep() -> dict:
    return sweep_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())


def sent() -> list[dict]:
    """Every email SES accepted, as /_local/outbox lists them."""
    return outbox.messages()


def sent_to(address: str) -> list[dict]:
    return [m for m in sent() if address in m["to"]]


def clear_outbox() -> None:
    for account in ses_backends.values():
        for backend in account.values():
            backend.sent_messages.clear()


def code_in(message: dict) -> str:
    found = CODE.search(message["text"])
    assert found, message["text"]
    return "".join(found.groups())
