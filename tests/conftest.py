import logging
import os

import pytest

from tests.support.aws import reset_tables, start_moto, use_endpoint

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# The functions read their configuration at import, as in Lambda: point them at moto before any import.
_server, ENDPOINT = start_moto()
use_endpoint(ENDPOINT)


@pytest.fixture
def tables():
    """Fresh tables, made from template.yaml, for each test that touches data."""
    reset_tables(ENDPOINT)
    yield ENDPOINT


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("AWS_ENDPOINT_URL") == ENDPOINT:
        _server.stop()
