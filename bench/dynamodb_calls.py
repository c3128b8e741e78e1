"""DynamoDB round-trips per route: tests/support/round_trips.py's scenario (every route of template.yaml
through the real handlers, the limits and why), printed as a table. tests/integration/test_round_trips.py
holds each route to its limit; this prints every count.

    .venv/bin/python bench/dynamodb_calls.py        (the first half of `make bench`)

Exits 1 when a limit is broken or a route of template.yaml was not measured.
"""

import sys
from collections import Counter

from common import DYNAMODB, moto, table

from tests.support.round_trips import GROUPS, Call, Measure, measure


def report(measures: list[Measure]) -> bool:
    from infra.template import routes

    def calls(made: list[Call]) -> str:
        counted = Counter(c.operation for c in made)
        return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counted.items()) or "-"

    def row(m: Measure) -> tuple[str, ...]:
        limit = str(m.limit) if m.limit is not None else "-"
        ok = "ok" if m.ok else "FAIL"
        return (m.route, str(len(m.route_calls)), limit, ok, m.label, calls(m.route_calls))

    plain = [m for m in measures if not m.idempotency_calls]
    keyed = [m for m in measures if m.idempotency_calls]
    table([("route", "calls", "limit", "ok", "request", "operations")] + [row(m) for m in plain])

    print()
    print("With an Idempotency-Key header (the idempotency layer's calls are its own, not the route's):")
    rows = [("route", "calls", "limit", "ok", "request", "operations", "idempotency layer")]
    for m in keyed:
        rows.append((*row(m), f"{len(m.idempotency_calls)}: {calls(m.idempotency_calls)}"))
    table(rows)

    measured = {m.route for m in measures}
    missing = [r.route_key for r in routes() if r.route_key not in measured]
    if missing:
        print(f"\nNOT MEASURED (every route of template.yaml must be): {', '.join(missing)}")

    print("\nmax DynamoDB calls per request (without an Idempotency-Key):")
    for key, group in GROUPS.items():
        ms = [m for m in plain if m.group == key]
        most = max((len(m.route_calls) for m in ms), default=0)
        queries = max((sum(1 for c in m.route_calls if c.index_query) for m in ms), default=0)
        of = f", of which {queries} index queries" if group.limit and group.limit.index_queries else ""
        print(f"  {group.name}: {most}{of} (limit {group.rule or group.limit})")
    idempotency = max((len(m.idempotency_calls) for m in keyed), default=0)
    print(f"an Idempotency-Key adds {idempotency} on the idempotency table")
    return all(m.ok for m in measures) and not missing


def main() -> int:
    with moto(counted=True):
        return 0 if report(measure(DYNAMODB)) else 1


if __name__ == "__main__":
    sys.exit(main())
