"""Fixtures of the email tests: a fresh outbox and the stream to the notify function for each test."""

import pytest

from tests.integration.notify_helpers import StreamToNotify, clear_outbox


@pytest.fixture(autouse=True)
def _empty_outbox():
    clear_outbox()
    yield


@pytest.fixture
def notify(tables) -> StreamToNotify:
    """The table's stream, delivered to the NotifyFunction by hand (`notify.pump()`)."""
    return StreamToNotify()
