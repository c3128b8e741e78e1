"""A function whose table name is missing stops when it loads, naming the variable, rather than reading and
writing a table of a default name."""

import os
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "functions" / "shared"


def _import_the_table(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "TABLE_NAME"} | env
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path[:0] = [{str(SHARED)!r}]; import connections.platform.table as table; "
            "print(table.Item.Meta.table_name)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_missing_table_name_stops_the_function_at_start_and_names_the_variable():
    done = _import_the_table()
    assert done.returncode != 0
    assert "MissingSetting: Set the environment variable TABLE_NAME" in done.stderr


def test_a_set_table_name_is_the_one_used():
    done = _import_the_table(TABLE_NAME="the-table")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the-table"
