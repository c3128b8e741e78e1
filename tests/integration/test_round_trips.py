"""Round-trips to DynamoDB per route, held to their limits (tests/support/round_trips.py states them and
why): every route of template.yaml is measured, and a request past its limit fails here, not in a bench."""

from collections import Counter

import pytest

from infra.template import routes
from tests.support import round_trips
from tests.support.counting import DynamoDBCalls

SHARED_TABLES = True  # one scenario, measured once, read by every test


@pytest.fixture(scope="module")
def measures(shared_tables) -> list[round_trips.Measure]:
    counter = DynamoDBCalls().install()
    try:
        return round_trips.measure(counter)
    finally:
        counter.uninstall()


def described(m: round_trips.Measure) -> str:
    operations = ", ".join(f"{op} x{n}" for op, n in Counter(c.operation for c in m.route_calls).items())
    return f"{m.label}: {len(m.route_calls)} calls ({operations}), limit {m.limit}"


@pytest.mark.parametrize("route", sorted(r.route_key for r in routes()))
def test_each_request_of_the_route_stays_within_its_round_trip_limit(measures, route):
    mine = [m for m in measures if m.route == route]
    assert mine, f"{route} is not measured (tests/support/round_trips.py must call every route)"
    assert [described(m) for m in mine if not m.ok] == []
