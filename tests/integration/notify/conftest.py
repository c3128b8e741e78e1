"""Fixtures of the email tests: a fresh outbox and the stream to the notify function for each test."""

from collections.abc import Iterator

import pytest

from infra.local.streams import Replayer
from tests.support.mail import clear_outbox, notify_stream
from tests.support.streams import none_redelivered


@pytest.fixture(autouse=True)
def _empty_outbox():
    clear_outbox()
    yield


@pytest.fixture
def notify(tables, request) -> Iterator[Replayer]:
    """The table's stream, delivered to the NotifyFunction by hand (`notify.drain()`); no batch failed and
    passed on its retry, unless the test says so."""
    replayer = notify_stream()
    yield replayer
    none_redelivered(replayer, request)


@pytest.fixture
def logs(caplog):
    """Every record the functions log at INFO, the level template.yaml deploys with (the tests run at
    WARNING), with its extra fields: what would reach CloudWatch."""
    from connections.platform.telemetry import logger

    level = logger.log_level
    logger.setLevel("INFO")
    caplog.set_level("INFO")
    try:
        yield lambda: "\n".join(repr(vars(record)) for record in caplog.records)
    finally:
        logger.setLevel(level)
