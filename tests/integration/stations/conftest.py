"""Fixtures of the station-side tests. Every frame a test makes the service publish, read by the test or
not, must be valid OCPP 1.6 (the `ocpp` package's JSON schemas): checked after each test."""

import pytest

from infra.local.streams import Replayer
from tests.support.stations import OCPP, sync_stream


@pytest.fixture(autouse=True)
def every_frame_is_valid_ocpp():
    OCPP.start()
    yield
    OCPP.check_everything_published()


@pytest.fixture
def sync(tables) -> Replayer:
    """The table's stream, delivered to the StationSyncFunction by hand (`sync.drain()`)."""
    return sync_stream()
