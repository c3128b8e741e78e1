"""DynamoDB round-trips per route, and their limits: every route of template.yaml, called through the real
Lambda handlers (API Gateway payload-2.0 events) against moto, with realistic data: an organization with two
admins, five connections, four access policies and eight stations (provisioned as IoT things first, as an
installer does, then registered) around a point of Berlin; drivers with memberships in every state, one of
them an Active member of three connections with two cards. Every count is deterministic, so
tests/integration/test_round_trips.py holds each route to its limit and bench/dynamodb_calls.py prints the
table.

Every call any botocore client makes to DynamoDB is counted (tests/support/counting.py: PynamoDB's clients
and the boto3 ones of the idempotency layer), split by table: calls on the service table are the route's;
calls on the idempotency table are the Powertools idempotency layer's own, paid only by requests that carry
an Idempotency-Key header, and reported apart.

Limits, in round-trips on the service table:
- driver routes of the memberships and the cards: at most 2;
- a single admin decision (approve, deny, remove): at most 3; other organization and connection admin
  routes: none (a bulk decision makes 2 + 1 per decision);
- policy and station admin routes: at most 3: the admin check (which reads the items the request names
  with it), the write or the query, the policies of the stations answered;
- a station for a driver (GET /stations/{id}): at most 3: the station, its policy (named by the station),
  the driver's memberships and cards (one query);
- an access answer (GET /stations/{id}/access, the admins' .../stations/{id}/preview): at most 4: the same,
  and the names of the connections a refusal names (members only, pending, ...);
- the map search (GET /stations): at most 9 index queries and no Scan, whatever else it makes (one
  BatchGetItem per 100 policies): bench/station_map.py's target, which it checks at city scale; here it is
  one organization's eight stations;
- where my access has arrived (GET /me/memberships/{id}/stations): 3 + 1 per policy the connection
  unlocks: the driver's memberships and cards (one query), the policies unlocked, those policies (whose
  visible_to decides which count) with the cards' entries in all of them (one BatchGetItem per 100 keys;
  no entries for policies whose hours of use keep the cards off the stations' lists), then per policy
  its stations. It grows with the connection's policies; the row says how many.
- sessions: a driver's list 2 (the page, the stations' names), one session 1 (it and its station); an
  admin's list 5 (the admin check, the page, the stations, the organization's connections, the drivers'
  memberships in them: one BatchGetItem per 100), one session 3, totals 2 and the CSV 5 for one page of
  sessions (one query per 1 MB more).
A request that does not answer as expected fails the scenario (its count would mean nothing).
"""

import contextlib
import io
from dataclasses import dataclass
from math import cos, radians

from tests.support.counting import Call, DynamoDBCalls

CENTRE = (52.5200, 13.4050)  # the map's city (bench/station_map.py's too)
MAX_INDEX_QUERIES = 9  # the map search's target, whatever the city's size

IDEMPOTENCY_TABLE = "connections-idempotency"

ADMIN = {"sub": "admin-1", "email": "alice@northwind.example"}


@dataclass(frozen=True)
class Limit:
    """The most a request may make on the service table: round-trips, or (index_queries) index queries
    and no Scan, whatever else it makes (the map search's target, enforced at city scale by
    bench/station_map.py)."""

    most: int
    index_queries: bool = False

    def met(self, calls: list[Call]) -> bool:
        if self.index_queries:
            scans = [c for c in calls if c.operation == "Scan"]
            return sum(1 for c in calls if c.index_query) <= self.most and not scans
        return len(calls) <= self.most

    def __str__(self) -> str:
        return f"{self.most} index queries, no Scan" if self.index_queries else str(self.most)


@dataclass(frozen=True)
class Group:
    """Requests of one kind: what the summary calls them, and their limit (None: none, or each row's own,
    which `rule` then states)."""

    name: str
    limit: Limit | None
    rule: str = ""


GROUPS = {
    "driver": Group("driver routes (memberships, cards)", Limit(2)),
    "decision": Group("single admin decisions", Limit(3)),
    "admin": Group("other admin routes", None, "none"),
    "stations admin": Group("policy and station admin routes", Limit(3)),
    "station": Group("a station for a driver", Limit(3)),
    "access": Group("an access answer (driver's check, admin's preview)", Limit(4)),
    "map": Group("the map search", Limit(MAX_INDEX_QUERIES, index_queries=True)),
    "delivery": Group("where my access has arrived", None, "3 + 1 per policy the connection unlocks"),
    "sessions": Group(
        "charging sessions (drivers', admins', CSV, totals)", None, "each row's own, at most 5"
    ),
}


def delivery_limit(policies: int) -> Limit:
    """GET /me/memberships/{id}/stations: the driver's memberships and cards, the policies the connection
    unlocks, the cards' entries in them (up to 100 a call; the rows have fewer), then per policy its
    stations."""
    return Limit(3 + policies)


# --- Calling the handlers


@dataclass
class Measure:
    group: str  # a key of GROUPS
    label: str
    route: str
    status: int
    expected: int
    route_calls: list[Call]
    idempotency_calls: list[Call]
    limit: Limit | None

    @property
    def ok(self) -> bool:
        within = self.limit is None or self.limit.met(self.route_calls)
        return within and self.status == self.expected


class Bench:
    def __init__(self, handlers: dict[str, object], counter: DynamoDBCalls):
        self.handlers = handlers  # by function logical id
        self.counter = counter
        self.measures: list[Measure] = []

    def call(self, method: str, path: str, *, who: dict, expect: int, **kwargs):
        from infra.template import routes
        from tests.support.api import call

        route = next(r for r in routes() if r.match(method, path) is not None)
        self.counter.reset()
        with contextlib.redirect_stdout(io.StringIO()):  # keep EMF metrics output, if any, off the table
            answer = call(self.handlers[route.function], method, path, **who, **kwargs)
        if answer.status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {answer.status} {answer.body}")
        return route, answer

    def measure(
        self,
        group: str,
        label: str,
        method: str,
        path: str,
        *,
        who: dict,
        expect: int,
        limit: Limit | None = None,
        **kwargs,
    ):
        """Call the route and record its calls against `limit` (by default its group's)."""
        route, answer = self.call(method, path, who=who, expect=expect, **kwargs)
        self.measures.append(
            Measure(
                group=group,
                label=label,
                route=route.route_key,
                status=answer.status,
                expected=expect,
                route_calls=[c for c in self.counter.calls if IDEMPOTENCY_TABLE not in c.tables],
                idempotency_calls=[c for c in self.counter.calls if IDEMPOTENCY_TABLE in c.tables],
                limit=limit or GROUPS[group].limit,
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
    from connections.memberships import one_time_codes
    from connections.memberships.items import MembershipItem, VerificationItem
    from connections.platform.table import now

    membership = MembershipItem.get(*MembershipItem.key(connection_id, driver_id), consistent_read=True)
    salt = one_time_codes.new_salt()
    VerificationItem(
        *VerificationItem.key(connection_id, driver_id),
        connection_id=connection_id,
        driver_id=driver_id,
        email=membership.verify_email,
        requested_at=membership.verify_requested_at,
        salt=salt,
        code_hash=one_time_codes.hash_code(code, salt),
        expires_at=now() + one_time_codes.VALID_FOR,
    ).save()


def measure(counter: DynamoDBCalls) -> list[Measure]:
    """Every route's requests, measured with `counter` (installed) on fresh tables."""
    from functions.approve import app as approve
    from functions.manage_stations import app as stations
    from functions.request_connection import app as request_connection
    from functions.sessions import app as sessions
    from functions.station_map import app as station_map

    handlers = {
        "SessionsFunction": sessions.handler,
        "RequestConnectionFunction": request_connection.handler,
        "ApproveFunction": approve.handler,
        "StationsFunction": stations.handler,
        "StationMapFunction": station_map.handler,
    }
    b = Bench(handlers, counter)
    _run(b)
    return b.measures


def _run(b: Bench) -> None:

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
    b.measure(
        "driver",
        "request private, wrong code",
        "POST",
        f"/connections/{night}/memberships",
        who=driver(11),
        expect=404,
        body={"answers": {"employee_id": "8080", "team": "day"}, "code": "NIGHTSHIFT43"},
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
    b.measure(
        "admin",
        "create connection (chosen code)",
        "POST",
        f"{org_path}/connections",
        who=ADMIN,
        expect=201,
        body={"name": "Yard", "code": "YARD-2026"},
    )
    b.measure(
        "admin",
        "create connection (chosen code taken)",
        "POST",
        f"{org_path}/connections",
        who=ADMIN,
        expect=409,
        body={"name": "Yard again", "code": "yard2026"},
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
    b.measure(
        "admin",
        "update connection (chosen code taken)",
        "PATCH",
        depot_path,
        who=ADMIN,
        expect=409,
        body={"code": "late-shift-7"},
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

    run_stations(b, org["organization_id"], depot=depot, night=night, visitors=visitors, staff=staff)
    run_sessions(b, org["organization_id"], depot=depot)

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


# The organization's stations around the map bench's city centre, and the policy each is in (None: any
# card).
STATIONS = [  # (station id, name, policy, km east of the centre, km north of it)
    ("NW-DEPOT-1", "Depot bay 1", "depot", 0.40, 0.30),
    ("NW-DEPOT-2", "Depot bay 2", "depot", 0.45, 0.30),
    ("NW-DEPOT-3", "Depot bay 3", "depot", 0.50, 0.30),
    ("NW-WORK-1", "Workshop", "workshop", 0.60, 0.50),
    ("NW-VISIT-1", "Visitor bay 1", "visitors", -1.20, 0.80),
    ("NW-VISIT-2", "Visitor bay 2", "visitors", -1.25, 0.80),
    ("NW-STAFF-1", "Staff garage", "staff", 2.00, -1.00),
    ("NW-LOBBY-1", "Lobby", None, 0.00, -0.50),
]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def run_sessions(b: Bench, organization_id: str, *, depot: str) -> None:
    """Dana's sessions at two stations, one at Depot chargers' price, one at everyone's, and a stranger's
    card's (the organization does not know its driver)."""
    from datetime import timedelta

    from tests.support.session_items import T0, price, session_id, session_item

    dana = driver(20)
    items = [
        session_item(
            organization_id,
            "NW-DEPOT-1",
            driver_id=dana["sub"],
            group=(depot, "Depot chargers"),
            price=price(per_kwh="0.10"),
            cost="1.00",
            everyone_cost="3.00",
        ),
        session_item(
            organization_id,
            "NW-LOBBY-1",
            driver_id=dana["sub"],
            started_at=T0 + timedelta(hours=2),
            price=price(per_kwh="0.30"),
            cost="3.00",
            everyone_cost="3.00",
        ),
        session_item(
            organization_id,
            "NW-LOBBY-1",
            driver_id="stranger",
            started_at=T0 + timedelta(hours=4),
            price=price(per_kwh="0.30"),
            cost="3.00",
            everyone_cost="3.00",
        ),
    ]
    for item in items:
        item.save()
    org_path = f"/organizations/{organization_id}/sessions"
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()}
    b.measure("sessions", "my sessions", "GET", "/me/sessions", who=dana, expect=200, limit=Limit(2))
    path = f"/me/sessions/{session_id(items[0])}"
    b.measure("sessions", "one of my sessions", "GET", path, who=dana, expect=200, limit=Limit(1))
    b.measure(
        "sessions", "the organization's sessions", "GET", org_path, who=ADMIN, expect=200, limit=Limit(5)
    )
    path = f"{org_path}/{session_id(items[0])}"
    b.measure("sessions", "one of its sessions", "GET", path, who=ADMIN, expect=200, limit=Limit(3))
    b.measure(
        "sessions",
        "totals per connection",
        "GET",
        f"{org_path}/totals",
        who=ADMIN,
        expect=200,
        limit=Limit(2),
        query=window,
    )
    b.measure(
        "sessions",
        "CSV export (one page)",
        "GET",
        f"{org_path.removesuffix('/sessions')}/sessions.csv",
        who=ADMIN,
        expect=200,
        limit=Limit(5),
        query=window,
    )


def place(east_km: float, north_km: float) -> dict:
    lat = CENTRE[0] + north_km / 111.32
    return {
        "latitude": round(lat, 6),
        "longitude": round(CENTRE[1] + east_km / (111.32 * cos(radians(lat))), 6),
    }


def check_case(what: str, found, wanted) -> None:
    """The data is what the row's label says (else its count would describe another case)."""
    if found != wanted:
        raise AssertionError(f"{what}: expected {wanted!r}, got {found!r}")


def run_stations(
    b: Bench, organization_id: str, *, depot: str, night: str, visitors: str, staff: str
) -> None:
    """Cards, access policies, stations (provisioned as IoT things first, as an installer does), the map and
    the access answers. Dana is an Active member of Depot chargers, Night shift and Visitors with two cards;
    Sam has a card and no connection. The policies' rules have no hours where an access answer is measured,
    so that every count here is the same at any time of day."""
    from infra.provision import provision

    org_path = f"/organizations/{organization_id}"
    dana, sam = driver(20), driver(21)
    b.call("POST", f"/connections/{depot}/memberships", who=dana, expect=201, body={"answers": ANSWERS})
    b.call(
        "POST",
        f"/connections/{night}/memberships",
        who=dana,
        expect=201,
        body={"answers": {"employee_id": "4712", "team": "night"}, "code": "late-shift-7"},
    )
    b.call("POST", f"/connections/{visitors}/memberships", who=dana, expect=201, body={})
    for connection_id in (depot, night):
        path = f"{org_path}/connections/{connection_id}/requests/{dana['sub']}/approve"
        b.call("POST", path, who=ADMIN, expect=200)

    # --- Cards (driver routes)
    b.measure(
        "driver",
        "register a card",
        "POST",
        "/me/cards",
        who=dana,
        expect=201,
        body={"id_tag": "04A2B3C4", "label": "Work badge"},
    )
    b.call("POST", "/me/cards", who=dana, expect=201, body={"id_tag": "DA7E0002"})
    b.measure(
        "driver",
        "register it again (existing)",
        "POST",
        "/me/cards",
        who=dana,
        expect=200,
        body={"id_tag": "04a2b3c4"},
    )
    b.call("POST", "/me/cards", who=dana, expect=201, body={"id_tag": "DA7E0003", "label": "Lost"})
    b.measure("driver", "remove a card", "DELETE", "/me/cards/da7e0003", who=dana, expect=200)
    b.measure("driver", "my cards (2)", "GET", "/me/cards", who=dana, expect=200)
    b.call("POST", "/me/cards", who=sam, expect=201, body={"id_tag": "5A4E0001"})

    # --- Access policies (admin)
    eur = {"currency": "EUR"}
    policies = {
        "depot": {
            "name": "Depot bays",
            "connection_ids": [depot, night],
            "members": {depot: {"price": {}}, night: {"price": {**eur, "per_kwh": "0.19"}}},
        },
        "workshop": {
            "name": "Workshop",
            "connection_ids": [depot],
            "members": {depot: {"hours": [{"days": WEEKDAYS, "start": "07:00", "end": "19:00"}]}},
        },
        "visitors": {
            "name": "Visitor bays",
            "connection_ids": [visitors],
            "members": {visitors: {"price": {**eur, "per_kwh": "0.29"}}},
            "everyone": {"price": {**eur, "per_kwh": "0.49", "session_fee": "1.00"}},
        },
        "staff": {"name": "Staff garage", "connection_ids": [staff], "visible_to": [staff]},
    }
    policy_ids = {}
    for key, body in policies.items():
        if key == "depot":
            answer = b.measure(
                "stations admin",
                "create policy (2 connections, prices)",
                "POST",
                f"{org_path}/policies",
                who=ADMIN,
                expect=201,
                body=body,
            )
        else:
            answer = b.call("POST", f"{org_path}/policies", who=ADMIN, expect=201, body=body)[1]
        policy_ids[key] = answer.body["policy_id"]
    b.measure("stations admin", "list policies (4)", "GET", f"{org_path}/policies", who=ADMIN, expect=200)
    depot_policy = f"{org_path}/policies/{policy_ids['depot']}"
    b.measure("stations admin", "get policy", "GET", depot_policy, who=ADMIN, expect=200)
    b.measure(
        "stations admin",
        "change prices",
        "PATCH",
        depot_policy,
        who=ADMIN,
        expect=200,
        body={"members": {depot: {"price": {}}, night: {"price": {**eur, "per_kwh": "0.15"}}}},
    )
    b.measure(
        "stations admin",
        "rename, add a connection",
        "PATCH",
        f"{org_path}/policies/{policy_ids['visitors']}",
        who=ADMIN,
        expect=200,
        body={"name": "Visitor and staff bays", "connection_ids": [visitors, staff]},
    )

    # --- Stations (admin)
    for n, (station_id, name, policy, east, north) in enumerate(STATIONS):
        provision(station_id, organization_id)
        body = {"station_id": station_id, "name": name, "time_zone": "Europe/Berlin", **place(east, north)}
        if policy:
            body["policy_id"] = policy_ids[policy]
        if n == 0:
            b.measure(
                "stations admin",
                "register a provisioned station",
                "POST",
                f"{org_path}/stations",
                who=ADMIN,
                expect=201,
                body=body,
            )
        else:
            b.call("POST", f"{org_path}/stations", who=ADMIN, expect=201, body=body)
    # One more than the group: the organization's count of stale stations, from their sparse index.
    listed = b.measure(
        "stations admin",
        "list stations (8)",
        "GET",
        f"{org_path}/stations",
        who=ADMIN,
        expect=200,
        limit=Limit(4),
    )
    check_case("stations listed", len(listed.body["items"]), len(STATIONS))
    b.measure(
        "stations admin", "get station", "GET", f"{org_path}/stations/NW-DEPOT-1", who=ADMIN, expect=200
    )
    b.measure(
        "stations admin",
        "rename, move on the map",
        "PATCH",
        f"{org_path}/stations/NW-DEPOT-3",
        who=ADMIN,
        expect=200,
        body={"name": "Depot bay 3 (fast)", **place(0.52, 0.31)},
    )
    b.measure(
        "stations admin",
        "give it a policy",
        "PATCH",
        f"{org_path}/stations/NW-LOBBY-1",
        who=ADMIN,
        expect=200,
        body={"policy_id": policy_ids["visitors"]},
    )
    preview = f"{org_path}/stations/NW-DEPOT-1/preview"
    cases = ((dana, "a member", "allowed"), (sam, "a stranger", "members_only"))
    for who, whom, reason in cases:
        answer = b.measure(
            "access",
            f"preview: {whom} ({reason})",
            "GET",
            preview,
            who=ADMIN,
            expect=200,
            query={"driver": who["sub"]},
        )
        check_case("preview", answer.body["reason"], reason)

    # --- The driver's map, a station, the access check, and where the driver's access has arrived
    found = b.measure(
        "map",
        "search 3 km (7 of 8 shown)",
        "GET",
        "/stations",
        who=dana,
        expect=200,
        query={"lat": CENTRE[0], "lng": CENTRE[1], "radius_km": 3},
    )
    check_case("stations shown", len(found.body["items"]), len(STATIONS) - 1)
    b.measure("station", "a station (member)", "GET", "/stations/NW-DEPOT-1", who=dana, expect=200)
    b.measure("station", "a hidden station (404)", "GET", "/stations/NW-STAFF-1", who=dana, expect=404)
    for who, whom, reason in cases:
        answer = b.measure(
            "access",
            f"may I charge: {whom} ({reason})",
            "GET",
            "/stations/NW-DEPOT-1/access",
            who=who,
            expect=200,
        )
        check_case("access", answer.body["reason"], reason)
    b.measure(
        "access",
        "may I charge: hidden station (404)",
        "GET",
        "/stations/NW-STAFF-1/access",
        who=dana,
        expect=404,
    )
    # Depot chargers unlocks Depot bays and the Workshop (hours of use: its cards are asked about online).
    for connection_id, name, unlocked, stations in (
        (depot, "Depot chargers", 2, 4),
        (night, "Night shift", 1, 3),
    ):
        answer = b.measure(
            "delivery",
            f"{name} ({unlocked} {'policies' if unlocked > 1 else 'policy'}, {stations} stations)",
            "GET",
            f"/me/memberships/{connection_id}/stations",
            who=dana,
            expect=200,
            limit=delivery_limit(unlocked),
        )
        check_case(f"{name}'s stations", answer.body["stations"], stations)
