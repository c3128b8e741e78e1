"""A function whose configuration is missing stops when it loads, naming the variable, rather than reading
and writing tables of a default name or failing at its first email."""

import os
import subprocess
import sys

import pytest

from tests.unit.test_cold_imports import ROOT, SHARED, _functions, lambda_env, run_as_lambda

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


# Every variable the functions' code reads (connections.platform.settings); Powertools and boto3 read and
# check their own (POWERTOOLS_*, AWS_*).
READ = ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SENDER_ADDRESS", "EMAIL_CONFIGURATION_SET")


def _functions_given(variable: str) -> list[tuple[str, str, str]]:
    return [(name, uri, handler) for name, uri, handler in _functions() if variable in lambda_env(name)]


@pytest.mark.parametrize("variable", READ)
def test_a_function_whose_variable_is_missing_stops_at_start_and_names_it(variable):
    function, code_uri, handler = _functions_given(variable)[0]
    env = lambda_env(function)
    del env[variable]
    module, attribute = handler.rsplit(".", 1)
    code = f"import sys; sys.path[:0] = {[str(ROOT / code_uri), str(SHARED)]!r}; import {module}"
    done = run_as_lambda(ROOT / code_uri, code, env)
    assert done.returncode != 0, f"{function} started without {variable}"
    assert f"MissingSetting: Set the environment variable {variable} (" in done.stderr, done.stderr


def test_every_variable_read_is_one_the_template_gives_a_function():
    assert all(_functions_given(v) for v in READ)
