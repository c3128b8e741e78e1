import gc
import os

import pytest

from tests.integration.helpers import given_organization
from tests.support.aws import reset_tables

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


@pytest.fixture(scope="module")
def shared_tables():
    """Fresh tables, as the `tables` fixture of tests/conftest.py makes them, once per module."""
    reset_tables(os.environ["AWS_ENDPOINT_URL"])
    yield


@pytest.fixture(scope="module")
def organization(shared_tables) -> str:
    """Ada's organization "Fleet One", shared by the tests of a SHARED_TABLES module."""
    return given_organization()
