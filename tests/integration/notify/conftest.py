"""Fixtures of the email tests: a fresh outbox and the stream to the notify function for each test."""

import pytest

from infra.local.streams import Replayer
from tests.support.mail import clear_outbox, notify_stream


@pytest.fixture(autouse=True)
def _empty_outbox():
    clear_outbox()
    yield


@pytest.fixture
def notify(tables) -> Replayer:
    """The table's stream, delivered to the NotifyFunction by hand (`notify.drain()`)."""
    return notify_stream()


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
