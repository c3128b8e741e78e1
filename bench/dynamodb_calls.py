"""DynamoDB round-trips per route: every route of template.yaml, called through the real Lambda handlers
against moto's server (started in this process), with realistic data.

    .venv/bin/python bench/dynamodb_calls.py        (the first half of `make bench`)

Every HTTP request any botocore client sends to DynamoDB is counted (bench/counting.py: PynamoDB's
clients and the boto3 ones of the idempotency layer), split by table: calls on the service table are the
route's; calls on the idempotency table are the Powertools idempotency layer's own, paid only by requests
that carry an Idempotency-Key header, and reported apart.

Limits: every driver route makes at most 2 round-trips; a single admin decision (approve, deny, remove) at
most 3. Exits 1 when a limit is broken, when a request does not answer as expected (its count would mean
nothing) or when a route of template.yaml was not measured.
"""

import contextlib
import io
import logging
import os
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "functions" / "shared", ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from counting import DynamoDBCalls  # noqa: E402

DRIVER_LIMIT = 2
DECISION_LIMIT = 3
IDEMPOTENCY_TABLE = "connections-idempotency"

ADMIN = {"sub": "admin-1", "email": "alice@northwind.example"}


# --- Counting (bench/counting.py): each request's calls on the service table, and the idempotency layer's


DYNAMODB = DynamoDBCalls()


# --- Calling the handlers


@dataclass
class Measure:
    group: str  # "driver", "decision" (a single admin decision) or "admin"
    label: str
    route: str
    status: int
    expected: int
    route_calls: list[str]
    idempotency_calls: list[str]

    @property
    def limit(self) -> int | None:
        return {"driver": DRIVER_LIMIT, "decision": DECISION_LIMIT}.get(self.group)

    @property
    def ok(self) -> bool:
        within = self.limit is None or len(self.route_calls) <= self.limit
        return within and self.status == self.expected


class Bench:
    def __init__(self, handlers: dict[str, object]):
        self.handlers = handlers  # by function logical id
        self.measures: list[Measure] = []

    def call(self, method: str, path: str, *, who: dict, expect: int, **kwargs):
        from infra.template import routes
        from tests.support.api import call

        route = next(r for r in routes() if r.match(method, path) is not None)
        DYNAMODB.reset()
        with contextlib.redirect_stdout(io.StringIO()):  # keep EMF metrics output, if any, off the table
            answer = call(self.handlers[route.function], method, path, **who, **kwargs)
        if answer.status != expect:
            raise SystemExit(f"{method} {path}: expected {expect}, got {answer.status} {answer.body}")
        return route, answer

    def measure(self, group: str, label: str, method: str, path: str, *, who: dict, expect: int, **kwargs):
        route, answer = self.call(method, path, who=who, expect=expect, **kwargs)
        self.measures.append(
            Measure(
                group=group,
                label=label,
                route=route.route_key,
                status=answer.status,
                expected=expect,
                route_calls=[c.operation for c in DYNAMODB.calls if IDEMPOTENCY_TABLE not in c.tables],
                idempotency_calls=[c.operation for c in DYNAMODB.calls if IDEMPOTENCY_TABLE in c.tables],
            )
        )
        return answer


def driver(n: int, domain: str = "example.com") -> dict:
    return {"sub": f"driver-{n}", "email": f"driver{n}@{domain}"}


QUESTIONS = [
    {"id": "employee_id", "label": "Employee number", "kind": "text", "pattern": "[0-9]{4,8}"},
    {"id": "team", "label": "Team", "kind": "choice", "choices": ["day", "night"]},
    {"id": "plate", "label": "Licence plate", "required": False},
]
ANSWERS = {"employee_id": "12345", "team": "day", "plate": "NW-123"}


def given_code(connection_id: str, driver_id: str, code: str) -> None:
    """The code the notify function would have emailed for the driver's latest request (its hash)."""
    from connections.domain import verification
    from connections.store import MembershipItem, VerificationItem, now

    membership = MembershipItem.get(*MembershipItem.key(connection_id, driver_id), consistent_read=True)
    salt = verification.new_salt()
    VerificationItem(
        *VerificationItem.key(connection_id, driver_id),
        connection_id=connection_id,
        driver_id=driver_id,
        email=membership.verify_email,
        requested_at=membership.verify_requested_at,
        salt=salt,
        code_hash=verification.hash_code(code, salt),
        expires_at=now() + verification.VALID_FOR,
    ).save()


def run(bench: Bench) -> None:
    b = bench

    # --- Data: an organization with two admins, a public and a private connection with questions, an
    # automatic one, drivers with memberships (driver-1 holds several).
    org = b.call("POST", "/organizations", who=ADMIN, expect=201, body={"name": "Northwind Fleet"})[1].body
    org_path = f"/organizations/{org['organization_id']}"
    b.call("POST", f"{org_path}/admins", who=ADMIN, expect=201, body={"email": "bob@northwind.example"})

    def new_connection(**fields) -> str:
        answer = b.call("POST", f"{org_path}/connections", who=ADMIN, expect=201, body=fields)[1]
        return answer.body["connection_id"]

    depot = new_connection(
        name="Depot chargers", description="Bays 1-12 at the north depot.", public=True, questions=QUESTIONS
    )
    night = new_connection(name="Night shift", public=False, code="NIGHT-SHIFT-42", questions=QUESTIONS[:2])
    visitors = new_connection(name="Visitors", public=True, approval_mode="auto", reverify_days=90)
    for n in range(1, 7):
        b.call(
            "POST", f"/connections/{depot}/memberships", who=driver(n), expect=201, body={"answers": ANSWERS}
        )
    b.call("POST", f"/connections/{visitors}/memberships", who=driver(1), expect=201, body={})
    b.call(
        "POST",
        f"/connections/{night}/memberships",
        who=driver(1),
        expect=201,
        body={"answers": {"employee_id": "4711", "team": "night"}, "code": "nightshift42"},
    )

    # --- Driver routes
    # Browsing without any filter answers 500 for now (begins_with "" on gsi2sk): measured with a name prefix.
    browse = {"who": driver(9), "expect": 200}
    b.measure("driver", "browse by name", "GET", "/connections", **browse, query={"name": "dep"})
    b.measure(
        "driver",
        "browse by organization name",
        "GET",
        "/connections",
        **browse,
        query={"organization": "north"},
    )
    b.measure(
        "driver",
        "browse an organization",
        "GET",
        "/connections",
        **browse,
        query={"organization_id": org["organization_id"]},
    )
    b.measure("driver", "lookup hit", "GET", "/connections/by-code/night-shift-42", who=driver(9), expect=200)
    b.measure("driver", "lookup miss", "GET", "/connections/by-code/NOSUCHCODE7", who=driver(9), expect=404)
    b.measure("driver", "get connection", "GET", f"/connections/{depot}", who=driver(9), expect=200)
    request = f"/connections/{depot}/memberships"
    b.measure("driver", "request new", "POST", request, who=driver(9), expect=201, body={"answers": ANSWERS})
    b.measure(
        "driver",
        "request again (existing)",
        "POST",
        request,
        who=driver(9),
        expect=200,
        body={"answers": ANSWERS},
    )
    b.measure(
        "driver",
        "request private, with code",
        "POST",
        f"/connections/{night}/memberships",
        who=driver(9),
        expect=201,
        body={"answers": {"employee_id": "8080", "team": "day"}, "code": "NIGHTSHIFT42"},
    )
    b.measure("driver", "my memberships (3)", "GET", "/me/memberships", who=driver(1), expect=200)
    b.measure("driver", "get mine", "GET", f"/me/memberships/{depot}", who=driver(1), expect=200)
    b.measure(
        "driver", "end mine (leave)", "DELETE", f"/me/memberships/{visitors}", who=driver(1), expect=200
    )
    # A code for a work address: the notify function would email it; here its hash is stored directly.
    staff = new_connection(
        name="Staff", public=True, approval_mode="email_domain", email_domains=["northwind.example"]
    )
    worker = driver(8, "northwind.example")
    b.measure(
        "driver",
        "request a code (work address)",
        "POST",
        f"/connections/{staff}/memberships",
        who=worker,
        expect=201,
        body={},
    )
    given_code(staff, worker["sub"], "ABCD2345")
    b.measure(
        "driver",
        "confirm an emailed code",
        "POST",
        f"/me/memberships/{staff}/verification",
        who=worker,
        expect=200,
        body={"code": "abcd-2345"},
    )

    # --- Admin routes
    depot_path = f"{org_path}/connections/{depot}"
    b.measure(
        "admin",
        "create organization",
        "POST",
        "/organizations",
        who=ADMIN,
        expect=201,
        body={"name": "Contoso"},
    )
    b.measure("admin", "my organizations (2)", "GET", "/organizations", who=ADMIN, expect=200)
    b.measure("admin", "get organization", "GET", org_path, who=ADMIN, expect=200)
    b.measure("admin", "list admins", "GET", f"{org_path}/admins", who=ADMIN, expect=200)
    # An added admin's first call records the sign-in (once); every later one reads it with the admin check.
    bob = {"sub": "admin-2", "email": "bob@northwind.example"}
    b.measure("admin", "added admin's first call", "GET", org_path, who=bob, expect=200)
    b.measure("admin", "added admin's next call", "GET", org_path, who=bob, expect=200)
    alerts = f"{org_path}/admins/me/alerts"
    b.measure("admin", "my alert settings", "GET", alerts, who=ADMIN, expect=200)
    b.measure("admin", "turn alerts off", "PUT", alerts, who=ADMIN, expect=200, body={"new_requests": False})
    b.measure(
        "admin",
        "add admin",
        "POST",
        f"{org_path}/admins",
        who=ADMIN,
        expect=201,
        body={"email": "carol@northwind.example"},
    )
    b.measure(
        "admin", "remove admin", "DELETE", f"{org_path}/admins/carol@northwind.example", who=ADMIN, expect=200
    )
    b.measure(
        "admin",
        "create connection",
        "POST",
        f"{org_path}/connections",
        who=ADMIN,
        expect=201,
        body={"name": "Workshop", "questions": QUESTIONS[:1]},
    )
    b.measure("admin", "list connections", "GET", f"{org_path}/connections", who=ADMIN, expect=200)
    b.measure("admin", "get connection", "GET", depot_path, who=ADMIN, expect=200)
    b.measure(
        "admin",
        "update connection (new code)",
        "PATCH",
        f"{org_path}/connections/{night}",
        who=ADMIN,
        expect=200,
        body={"code": "LATE-SHIFT-7", "description": "22:00 to 06:00."},
    )
    b.measure("admin", "list requests (pending)", "GET", f"{depot_path}/requests", who=ADMIN, expect=200)
    b.measure(
        "admin",
        "decide 3 requests (2 + 1 per decision)",
        "POST",
        f"{depot_path}/requests/decisions",
        who=ADMIN,
        expect=200,
        body={
            "decisions": [
                {"driver_id": "driver-4", "decision": "approve"},
                {"driver_id": "driver-5", "decision": "deny", "message": "Staff only."},
                {"driver_id": "driver-6", "decision": "approve"},
            ]
        },
    )
    b.measure("decision", "approve", "POST", f"{depot_path}/requests/driver-2/approve", who=ADMIN, expect=200)
    b.measure(
        "decision",
        "deny",
        "POST",
        f"{depot_path}/requests/driver-3/deny",
        who=ADMIN,
        expect=200,
        body={"message": "Please use the visitors' connection."},
    )
    b.measure("decision", "remove member", "DELETE", f"{depot_path}/members/driver-2", who=ADMIN, expect=200)
    b.measure("admin", "list members", "GET", f"{depot_path}/members", who=ADMIN, expect=200)

    # --- With an Idempotency-Key header: the route's calls, and the idempotency layer's own apart.
    key = {"Idempotency-Key": "bench-request-1"}
    b.measure(
        "driver",
        "request new, Idempotency-Key",
        "POST",
        request,
        who=driver(10),
        expect=201,
        body={"answers": ANSWERS},
        headers=key,
    )
    b.measure(
        "driver",
        "same key again (replayed)",
        "POST",
        request,
        who=driver(10),
        expect=201,
        body={"answers": ANSWERS},
        headers=key,
    )
    b.measure(
        "decision",
        "approve, Idempotency-Key",
        "POST",
        f"{depot_path}/requests/driver-9/approve",
        who=ADMIN,
        expect=200,
        headers={"Idempotency-Key": "bench-approve-1"},
    )


def report(measures: list[Measure]) -> bool:
    from infra.template import routes

    def calls(ops: list[str]) -> str:
        return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in Counter(ops).items()) or "-"

    plain = [m for m in measures if not m.idempotency_calls]
    keyed = [m for m in measures if m.idempotency_calls]
    rows = [("route", "calls", "limit", "ok", "request", "operations")]
    for m in plain:
        limit = str(m.limit) if m.limit is not None else "-"
        rows.append(
            (m.route, str(len(m.route_calls)), limit, "ok" if m.ok else "FAIL", m.label, calls(m.route_calls))
        )
    _table(rows)

    print()
    print("With an Idempotency-Key header (the idempotency layer's calls are its own, not the route's):")
    rows = [("route", "calls", "limit", "ok", "request", "operations", "idempotency layer")]
    for m in keyed:
        limit = str(m.limit) if m.limit is not None else "-"
        rows.append(
            (
                m.route,
                str(len(m.route_calls)),
                limit,
                "ok" if m.ok else "FAIL",
                m.label,
                calls(m.route_calls),
                f"{len(m.idempotency_calls)}: {calls(m.idempotency_calls)}",
            )
        )
    _table(rows)

    measured = {m.route for m in measures}
    missing = [r.route_key for r in routes() if r.route_key not in measured]
    if missing:
        print(f"\nNOT MEASURED (every route of template.yaml must be): {', '.join(missing)}")

    def most(group: str, ms=plain) -> int:
        return max((len(m.route_calls) for m in ms if m.group == group), default=0)

    print()
    idempotency = max((len(m.idempotency_calls) for m in keyed), default=0)
    print(
        f"max DynamoDB calls per request: driver routes {most('driver')} (limit {DRIVER_LIMIT}), "
        f"single admin decisions {most('decision')} (limit {DECISION_LIMIT}), "
        f"other admin routes {most('admin')} (no limit); "
        f"an Idempotency-Key adds {idempotency} on the idempotency table"
    )
    return all(m.ok for m in measures) and not missing


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def main() -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    # connections.http does not register the Lambda context with the idempotency config (reported); the
    # warning says so on every keyed request and changes no count.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from tests.support.aws import reset_tables, start_moto, use_endpoint

    server, endpoint = start_moto()
    try:
        # As in Lambda, the functions read their configuration at import: point them at moto first.
        use_endpoint(endpoint)
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        DYNAMODB.install()
        reset_tables(endpoint)

        from functions.approve import app as approve
        from functions.request_connection import app as request_connection

        bench = Bench(
            {"RequestConnectionFunction": request_connection.handler, "ApproveFunction": approve.handler}
        )
        run(bench)
        return 0 if report(bench.measures) else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
