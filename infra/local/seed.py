"""A small demo, made through the API like any user would: an organization with an admin, a public and
a private connection, two access policies (one with hours and prices per connection, one shown on the map
to employees only) over two members-only stations, one station for everyone, drivers with cards.
Returns what a newcomer should try next."""

import json
import urllib.request

from infra.local.auth import mint
from infra.provision import provision

ADMIN = ("alice", "alice@example.com")
DRIVERS = {"bob": "bob@example.com", "carol": "carol@example.com", "dave": "dave@example.com"}
CARDS = {"bob": "B0B00001", "carol": "CA201234", "dave": "DA7E0001"}
CODE = "ACMESTAFF"
CAPABILITIES = {"local_auth_list_max_length": 50, "send_local_list_max_length": 25}
# A 2.0.1 charger's LocalAuthListCtrlr: Entries and ItemsPerMessage as above, and BytesPerMessage.
CAPABILITIES_201 = {**CAPABILITIES, "ocpp_version": "2.0.1", "bytes_per_message": 4096}
PLACE = (37.3894, -122.0819)  # Mountain View
TIME_ZONE = "America/Los_Angeles"
WEEKDAY_DAYTIME = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]


def people() -> list[dict[str, str]]:
    """Who the demo has, for the console's local sign-in page."""
    admin = {"sub": ADMIN[0], "email": ADMIN[1], "role": "admin of Acme Corp"}
    return [admin, *({"sub": sub, "email": email, "role": "driver"} for sub, email in DRIVERS.items())]


def _call(base: str, token: str, method: str, path: str, body=None) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own local gateway
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own local gateway
        return json.loads(answer.read())


def seed(base: str, moto: str) -> dict:
    alice = mint(*ADMIN)
    tokens = {name: mint(name, email) for name, email in DRIVERS.items()}
    org = _call(base, alice, "POST", "/organizations", {"name": "Acme Corp"})["organization_id"]
    employees = _call(
        base,
        alice,
        "POST",
        f"/organizations/{org}/connections",
        {
            "name": "Employees",
            "description": "Free charging at the Acme campus for staff.",
            "public": False,
            "code": CODE,
            "questions": [
                {"id": "employee_id", "label": "Employee id (E and 4 digits)", "pattern": r"E\d{4}"}
            ],
            "approval_mode": "manual",
        },
    )["connection_id"]
    visitors = _call(
        base,
        alice,
        "POST",
        f"/organizations/{org}/connections",
        {
            "name": "Visitors",
            "description": "Discounted charging for guests of Acme.",
            "public": True,
            "questions": [{"id": "plate", "label": "Licence plate", "required": False}],
            "approval_mode": "auto",
        },
    )["connection_id"]
    # Employees charge free at all hours; visitors on weekdays 08:00-18:00, at a price. Everyone sees it.
    campus = _call(
        base,
        alice,
        "POST",
        f"/organizations/{org}/policies",
        {
            "name": "Campus",
            "connection_ids": [employees, visitors],
            "members": {
                employees: {"price": {}},
                visitors: {"hours": WEEKDAY_DAYTIME, "price": {"currency": "USD", "per_kwh": "0.30"}},
            },
        },
    )["policy_id"]
    # Only employees see this one on the map; for anyone else it does not exist.
    garage = _call(
        base,
        alice,
        "POST",
        f"/organizations/{org}/policies",
        {"name": "Staff garage", "connection_ids": [employees], "visible_to": [employees]},
    )["policy_id"]
    stations = [
        {"station_id": "ACME-HQ-1", "name": "HQ car park, bay 1", "policy_id": campus},
        {"station_id": "ACME-HQ-2", "name": "Staff garage, bay 2", "policy_id": garage},
        {"station_id": "ACME-LOBBY", "name": "Visitor lobby"},
        {"station_id": "ACME-HQ-3", "name": "HQ car park, bay 3", "policy_id": campus, **CAPABILITIES_201},
    ]
    for n, station in enumerate(stations):
        place = {"latitude": PLACE[0] + 0.001 * n, "longitude": PLACE[1], "time_zone": TIME_ZONE}
        provision(station["station_id"], org, endpoint_url=moto)  # as the installer would, in AWS IoT
        _call(base, alice, "POST", f"/organizations/{org}/stations", {**CAPABILITIES, **station, **place})
    for name, card in CARDS.items():
        _call(base, tokens[name], "POST", "/me/cards", {"id_tag": card, "label": "badge"})
    _call(
        base,
        tokens["bob"],
        "POST",
        f"/connections/{employees}/memberships",
        {"code": CODE, "answers": {"employee_id": "E1001"}},
    )
    _call(
        base,
        tokens["carol"],
        "POST",
        f"/connections/{visitors}/memberships",
        {"answers": {"plate": "CA-123"}},
    )
    return {
        "organization_id": org,
        "employees": employees,
        "visitors": visitors,
        "tokens": {"ALICE": alice, **{k.upper(): v for k, v in tokens.items()}},
        "stations": charger_specs(stations),
    }


def charger_specs(stations: list[dict]) -> list[dict]:
    """The simulated charger of each station registered: its id, OCPP version and capacity (its name and
    policy are the service's business)."""
    return [
        {k: v for k, v in {**CAPABILITIES, **s}.items() if k not in ("name", "policy_id")} for s in stations
    ]


def instructions(base: str, demo: dict, mqtt_port: int, ocpp_url: str) -> str:
    org, employees = demo["organization_id"], demo["employees"]
    check = "make check-card" if mqtt_port == 1883 else f"MQTT_PORT={mqtt_port} make check-card"
    usual = {"OCPP_PORT": 9000, "MQTT_PORT": 1883}
    ports = {"OCPP_PORT": int(ocpp_url.rsplit(":", 1)[1]), "MQTT_PORT": mqtt_port}
    ports_set = "".join(f"{name}={port} " for name, port in ports.items() if port != usual[name])
    exports = "\n".join(f"export {name}={token}" for name, token in demo["tokens"].items())
    return f"""
Demo data: organization "Acme Corp" ({org}), admin alice@example.com;
  private connection "Employees" (code {CODE}, manual approval; bob's request is pending),
  public connection "Visitors" (automatic approval; carol is a member).
Stations (in Mountain View, {TIME_ZONE} time), each with a simulated charger connected to the OCPP-J
endpoint {ocpp_url}/<chargerId> as chargers connect to the AWS OCPP gateway (OCPP 1.6; ACME-HQ-3 2.0.1):
  ACME-HQ-1, ACME-HQ-3 ("Campus": Employees free at all hours, Visitors weekdays 08:00-18:00, 0.30 USD/kWh),
  ACME-HQ-2 ("Staff garage": Employees only, and on the map for them only), ACME-LOBBY for everyone
  with a registered card. Cards: bob B0B00001, carol CA201234, dave DA7E0001.
Your own charger (or any OCPP-J client): provision it, register it, and point it at
  {ocpp_url}/<its id> with subprotocol ocpp1.6 or ocpp2.0.1, or run a simulated one:
  make provision STATION=CP-9 ORG={org}   then   {ports_set}make charger STATION=CP-9 [OCPP=2.0.1]

Sign-in tokens (valid 12 h, also after a restart; ids change at every start; make another with:
make token SUB=erin EMAIL=erin@example.com):
{exports}

Try, as dave (a driver) and alice (the admin):
  curl -s -H "Authorization: Bearer $DAVE" "{base}/stations?lat={PLACE[0]}&lng={PLACE[1]}&radius_km=2"
       (the map: ACME-HQ-1, ACME-HQ-3 and ACME-LOBBY; the staff garage does not exist for dave)
  curl -s -H "Authorization: Bearer $DAVE" {base}/stations/ACME-HQ-1/access     (why not, what to do)
  curl -s -H "Authorization: Bearer $CAROL" {base}/stations/ACME-HQ-1/access    (a visitor: hours, price)
  curl -s -H "Authorization: Bearer $ALICE" \\
       "{base}/organizations/{org}/stations/ACME-HQ-1/preview?driver=carol"   (what carol gets there)
  {check} STATION=ACME-HQ-1 CARD=DA7E0001          (refused: dave is not a member yet)
  curl -s -H "Authorization: Bearer $DAVE" {base}/connections/by-code/{CODE.lower()}
  curl -s -X POST -H "Authorization: Bearer $DAVE" -H 'content-type: application/json' \\
       -d '{{"code": "{CODE}", "answers": {{"employee_id": "E2002"}}}}' \\
       {base}/connections/{employees}/memberships
  curl -s -H "Authorization: Bearer $ALICE" {base}/organizations/{org}/connections/{employees}/requests
  curl -s -X POST -H "Authorization: Bearer $ALICE" \\
       {base}/organizations/{org}/connections/{employees}/requests/dave/approve
  {check} STATION=ACME-HQ-1 CARD=DA7E0001          (accepted, from the station's own list)
  curl -s -H "Authorization: Bearer $DAVE" {base}/me/memberships
  curl -s -H "Authorization: Bearer $ALICE" {base}/organizations/{org}/stations      (sync status)
  curl -s -X POST -H "Authorization: Bearer $ALICE" -H 'content-type: application/json' \\
       -d '{{"message": "Please use your work badge number."}}' \\
       {base}/organizations/{org}/connections/{employees}/requests/bob/deny
  {base}/docs   (the API in Swagger UI)     {base}/_local/outbox   (every email SES accepted: already
  alice's alert about bob's request and carol's approval; then dave's approval, bob's denial)
"""
