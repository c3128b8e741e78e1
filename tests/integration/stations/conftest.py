"""Fixtures of the station-side tests. Every frame a test makes the service publish, read by the test or
not, must be valid OCPP 1.6 (the `ocpp` package's JSON schemas): checked after each test."""

from collections.abc import Iterator

import pytest

from infra.local.streams import Replayer
from tests.support.stations import OCPP, sync_stream
from tests.support.streams import none_redelivered


@pytest.fixture(autouse=True)
def every_frame_is_valid_ocpp():
    OCPP.start()
    yield
    OCPP.check_everything_published()


@pytest.fixture
def sync(tables, request) -> Iterator[Replayer]:
    """The table's stream, delivered to the StationSyncFunction by hand (`sync.drain()`); no batch failed
    and passed on its retry, unless the test says so."""
    replayer = sync_stream()
    yield replayer
    none_redelivered(replayer, request)
