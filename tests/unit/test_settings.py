"""A function whose table names are missing stops when it loads, naming the variable, rather than reading
and writing tables of a default name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "functions" / "shared"
NAMES = {"TABLE_NAME": "the-table", "IDEMPOTENCY_TABLE_NAME": "the-idempotency-table"}
PROBE = """
import sys
sys.path[:0] = [{shared!r}]
import connections.platform.table as table
from connections.platform.settings import settings
print(table.Item.Meta.table_name, settings().idempotency_table_name)
"""


def _import_the_table(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NAMES} | env
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-c", PROBE.format(shared=str(SHARED))],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("missing", sorted(NAMES))
def test_a_missing_table_name_stops_the_function_at_start_and_names_the_variable(missing):
    done = _import_the_table({k: v for k, v in NAMES.items() if k != missing})
    assert done.returncode != 0
    assert f"MissingSetting: Set the environment variable {missing} (" in done.stderr


def test_the_table_names_set_are_the_ones_used():
    done = _import_the_table(NAMES)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["the-table", "the-idempotency-table"]
