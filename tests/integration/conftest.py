"""The integration tests run the functions in this process against moto's server, started here rather than
for every test session: unit tests start no moto."""

import gc
import logging
import os

import pytest

from tests.support.aws import reset_tables, start_moto, use_endpoint

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# The functions read their configuration at import, as in Lambda: point them at moto before any of them is
# imported (pytest loads this file before the modules beside and below it).
_server, ENDPOINT = start_moto()
use_endpoint(ENDPOINT)

from tests.support.memberships import given_organization  # noqa: E402 - imports the functions

# Each DynamoDB transaction of the functions builds a new botocore client (store.transaction), and the
# garbage of hundreds of them makes Python's cyclic GC sweep a large heap again and again. Freezing what
# the imports made and collecting less often saves about a sixth of the suite's time; no behaviour changes.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 20)


@pytest.fixture(autouse=True)
def _fresh_tables(request):
    """Every integration test starts from empty tables made from template.yaml (moto's real server).

    A module that sets SHARED_TABLES = True starts from empty tables once, for all its tests (see
    `shared_tables`): its tests only read what the module's fixtures made, or write rows that no other test
    of the module reads (their own connection or driver), so they do not depend on each other's order."""
    request.getfixturevalue("shared_tables" if getattr(request.module, "SHARED_TABLES", False) else "tables")
    yield


@pytest.fixture
def tables():
    """Fresh tables, made from template.yaml, for each test that touches data."""
    reset_tables(ENDPOINT)
    yield ENDPOINT


@pytest.fixture(scope="module")
def shared_tables():
    """Fresh tables, as the `tables` fixture makes them, once per module."""
    reset_tables(ENDPOINT)
    yield


@pytest.fixture(scope="module")
def organization(shared_tables) -> str:
    """Ada's organization "Fleet One", shared by the tests of a SHARED_TABLES module."""
    return given_organization()


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("AWS_ENDPOINT_URL") == ENDPOINT:
        _server.stop()
