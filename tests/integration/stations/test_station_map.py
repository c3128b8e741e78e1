"""The driver's map and the owner's rules (functions/station_map, the preview of functions/manage_stations):
search around a point, a station by id, the access check with every reason, the admins' preview, and
the rule that a station hidden from a driver never shows, whatever the driver asks."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from functions.station_map.app import handler as map_handler
from infra.provision import provision
from tests.support.api import Answer, call
from tests.support.memberships import (
    EVE,
    checked,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
)
from tests.support.stations import (
    as_station_admin,
    given_auto_member,
    given_card,
    given_open_connection,
    given_policy,
    move_expiry,
)

BERLIN = (52.5200, 13.4050)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def as_map_driver(method: str, path: str, driver: str = "driver-1", **kwargs) -> Answer:
    return checked(call(map_handler, method, path, sub=driver, **kwargs))


def search(driver: str = "driver-1", lat=BERLIN[0], lng=BERLIN[1], **query) -> Answer:
    return as_map_driver("GET", "/stations", driver, query={"lat": lat, "lng": lng, **query})


def ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [s["station_id"] for s in answer.body["items"]]


def access_of(station_id: str, driver: str = "driver-1") -> Answer:
    return as_map_driver("GET", f"/stations/{station_id}/access", driver)


def post_policy(organization: str, connection_ids: list[str], **rules) -> Answer:
    return as_station_admin(
        "POST",
        f"/organizations/{organization}/policies",
        body={"name": "Campus", "connection_ids": connection_ids, **rules},
    )


def policy(organization: str, connection_ids: list[str], **rules) -> dict:
    return given_policy(organization, connection_ids, "Campus", rules)


def station(organization: str, station_id: str, policy_id: str | None = None, *, at=BERLIN, **fields) -> dict:
    body = {"station_id": station_id, "name": f"Charger {station_id}", "latitude": at[0], "longitude": at[1]}
    body.update(fields)
    if policy_id:
        body["policy_id"] = policy_id
    provision(station_id, organization)
    answer = as_station_admin("POST", f"/organizations/{organization}/stations", body=body)
    assert answer.status == 201, answer.body
    return answer.body


def east(km: float, of=BERLIN) -> tuple[float, float]:
    """A point `km` east of `of`."""
    return of[0], of[1] + km / (111.32 * 0.6088)  # cos(52.52 degrees)


def local_now(zone: str) -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(zone))


# --- The map search


def test_the_search_finds_the_stations_within_the_radius_nearest_first():
    # Given stations 0.2, 1.5 and 5 km east of the point, and one 20 km away
    organization = given_organization()
    for station_id, km in (("FAR", 5), ("NEAR", 0.2), ("MID", 1.5), ("OUT", 20)):
        station(organization, station_id, at=east(km))
    station_without_place = {"station_id": "NOWHERE", "name": "Not placed"}
    provision("NOWHERE", organization)
    as_station_admin("POST", f"/organizations/{organization}/stations", body=station_without_place)
    given_card("driver-1", "DRIVER01")

    # When a driver searches 3 km, then 8 km, around the point
    within_3, within_8 = search(radius_km=3), search(radius_km=8)

    # Then
    assert ids(within_3) == ["NEAR", "MID"]
    assert ids(within_8) == ["NEAR", "MID", "FAR"]
    near = within_3.body["items"][0]
    assert 150 <= near["distance_m"] <= 250
    assert near["organization"] == {"organization_id": organization, "name": "Fleet One"}
    assert (near["open_now"], near["status"], near["price"]) == (True, "Accepted", None)
    assert within_8.body["more"] is False


def test_the_search_is_limited_and_says_there_is_more():
    organization = given_organization()
    for n in range(3):
        station(organization, f"CP-{n}", at=east(0.1 * (n + 1)))
    answer = search(limit=2)
    assert ids(answer) == ["CP-0", "CP-1"] and answer.body["more"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": 91, "lng": 0}, "lat"),
        ({"lat": 0, "lng": 181}, "lng"),
        ({"lat": 0, "lng": 0, "radius_km": 9}, "radius_km"),
        ({"lat": 0, "lng": 0, "radius_km": 0}, "radius_km"),
        ({"lng": 0}, "lat"),
    ],
)
def test_a_search_with_a_bad_point_or_radius_answers_422(query, field):
    answer = as_map_driver("GET", "/stations", query=query)
    assert answer.status == 422 and field in answer.body["fields"], answer.body


def test_near_the_pole_a_radius_too_large_for_the_index_answers_422():
    answer = search(lat=89.5, lng=0, radius_km=8)
    assert (answer.status, answer.body["fields"]) == (422, {"radius_km": "too large here"})


def test_a_search_across_the_180th_meridian_finds_the_station_on_the_other_side():
    # Given a station just west of the 180th meridian
    organization = given_organization()
    station(organization, "DATELINE", at=(0.0, 179.999), time_zone="Pacific/Fiji")

    # When a driver just east of it, 222 m away, searches 1 km around
    answer = search(lat=0.0, lng=-179.999, radius_km=1)

    # Then
    assert ids(answer) == ["DATELINE"]
    assert answer.body["items"][0]["distance_m"] == 222


def test_a_station_id_in_the_path_is_judged_on_its_characters_not_on_their_encoding():
    # Given station ids of 36 and 37 non-ASCII characters, percent-encoded in the URL (6 bytes each)
    thirty_six, thirty_seven = quote("\u00d6" * 36), quote("\u00d6" * 37)

    # When a driver asks for each
    fits, too_long = (
        as_map_driver("GET", f"/stations/{thirty_six}"),
        as_map_driver("GET", f"/stations/{thirty_seven}"),
    )

    # Then 36 characters are within the limit (there is no such station), 37 are not
    assert (fits.status, fits.body["error"]) == (404, "not_found"), fits.body
    assert too_long.status == 422 and "36" in too_long.body["fields"]["station_id"], too_long.body


def test_prices_on_the_map_are_the_best_among_the_drivers_connections_or_the_public_one():
    # Given employees charge free, visitors at 0.30, everyone else at 0.45 per kWh
    organization = given_organization()
    employees = given_connection(organization, name="Employees")
    visitors = given_open_connection(organization, "Visitors")
    campus = policy(
        organization,
        [employees["connection_id"], visitors["connection_id"]],
        members={
            employees["connection_id"]: {"price": {}},
            visitors["connection_id"]: {"price": {"currency": "EUR", "per_kwh": "0.30"}},
        },
        everyone={"price": {"currency": "EUR", "per_kwh": "0.45", "session_fee": 1}},
    )
    station(organization, "CAMPUS-1", campus["policy_id"])
    given_active(employees, "emma")
    given_auto_member(visitors, "victor")
    given_auto_member(visitors, "both")
    given_active(employees, "both")

    # When each searches
    prices = {who: search(who).body["items"][0]["price"] for who in ("emma", "victor", "both", "stranger")}

    # Then
    assert prices["emma"]["free"] is True and prices["emma"]["text"] == "free"
    assert prices["victor"]["text"] == "0.30 EUR per kWh"
    assert prices["both"]["free"] is True
    assert prices["stranger"]["text"] == "0.45 EUR per kWh + 1 EUR per session"
    assert prices["stranger"]["per_kwh"] == "0.45"


# --- Hidden stations never leak


def test_a_station_visible_to_members_only_does_not_exist_for_anyone_else():
    # Given a station visible only to active members of Employees, next to a public one
    organization = given_organization()
    employees = given_connection(organization, name="Employees")
    hidden = policy(organization, [employees["connection_id"]], visible_to=[employees["connection_id"]])
    station(organization, "HIDDEN", hidden["policy_id"], at=east(0.1))
    station(organization, "PUBLIC", at=east(0.2))
    given_active(employees, "member")
    given_pending(employees, "pending")
    given_active(employees, "removed")
    assert decide(employees, "removed", "remove").status == 200

    # Then members see it, on the map, by id and at the access check
    assert ids(search("member")) == ["HIDDEN", "PUBLIC"]
    assert as_map_driver("GET", "/stations/HIDDEN", "member").status == 200
    assert access_of("HIDDEN", "member").body["may_charge"] is False  # no card yet, but it exists
    # and for everyone else (a stranger, a pending request, a removed member) it is exactly like a
    # station that never existed
    for driver in ("stranger", "pending", "removed"):
        assert ids(search(driver)) == ["PUBLIC"]
        for path in ("/stations/HIDDEN", "/stations/HIDDEN/access"):
            hidden_answer = as_map_driver("GET", path, driver)
            missing = as_map_driver("GET", path.replace("HIDDEN", "NO-SUCH-STATION"), driver)
            assert hidden_answer.status == missing.status == 404
            assert hidden_answer.body == missing.body, (hidden_answer.body, missing.body)
            assert "HIDDEN" not in str(hidden_answer.body) and "Employees" not in str(hidden_answer.body)


def test_visible_to_names_only_the_organizations_own_connections():
    organization = given_organization()
    eves = given_organization("Eve's fleet", admin=EVE)
    eves_connection = given_connection(eves, admin=EVE)
    mine = given_connection(organization)
    answer = post_policy(organization, [mine["connection_id"]], visible_to=[eves_connection["connection_id"]])
    assert answer.status == 422 and "visible_to" in answer.body["fields"]


# --- The access check: every reason


def test_every_reason_at_a_members_only_station():
    organization = given_organization("Acme Corp")
    employees = given_connection(organization, name="Employees")
    campus = policy(organization, [employees["connection_id"]])
    station(organization, "HQ-1", campus["policy_id"])
    given_pending(employees, "pending")
    given_active(employees, "removed")
    decide(employees, "removed", "remove")
    given_active(employees, "member")
    given_card("member", "MEMBER01")
    given_active(employees, "no-card")
    given_active(employees, "expired")
    move_expiry(employees["connection_id"], "expired", datetime.now(UTC) - timedelta(days=1))

    answers = {
        who: access_of("HQ-1", who).body
        for who in ("stranger", "pending", "removed", "member", "no-card", "expired")
    }

    assert {who: (a["reason"], a["ocpp_status"], a["may_charge"]) for who, a in answers.items()} == {
        "stranger": ("members_only", "NotAtThisLocation", False),
        "pending": ("request_pending", "NotAtThisLocation", False),
        "removed": ("membership_removed", "Blocked", False),
        "member": ("allowed", "Accepted", True),
        "no-card": ("no_card", "Unknown", False),
        "expired": ("membership_expired", "Expired", False),
    }
    assert answers["stranger"]["message"] == (
        "This station is reserved for members of Employees at Acme Corp."
        " Ask Acme Corp for their connection code."
    )
    assert answers["pending"]["message"].startswith("Your request to Employees is still pending.")
    assert answers["no-card"]["message"].startswith("Your card is not registered.")
    assert (
        answers["member"]["ocpp16_status"] == "Accepted" and answers["stranger"]["ocpp16_status"] == "Invalid"
    )


def test_closed_now_says_when_it_opens_in_the_stations_time_zone():
    # Given members may charge only tomorrow (in Tokyo's time), at a station in Tokyo
    zone = "Asia/Tokyo"
    organization = given_organization()
    employees = given_open_connection(organization, "Employees")
    tomorrow = DAYS[(local_now(zone).weekday() + 1) % 7]
    rules = {employees["connection_id"]: {"hours": [{"days": [tomorrow], "start": "07:00", "end": "09:00"}]}}
    campus = policy(organization, [employees["connection_id"]], members=rules)
    station(organization, "TOKYO-1", campus["policy_id"], time_zone=zone)
    given_auto_member(employees, "member", "TOKYO001")

    # When the member asks now
    answer = access_of("TOKYO-1", "member").body

    # Then the answer is in Tokyo's local time, naming tomorrow
    assert (answer["reason"], answer["ocpp_status"]) == ("closed_now", "NotAtThisTime")
    local = datetime.fromisoformat(answer["local_time"])
    assert local.utcoffset() == timedelta(hours=9)
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert answer["message"] == (
        f"Members may charge here from {names[DAYS.index(tomorrow)]} 07:00;"
        f" it is {names[local.weekday()]} {local:%H:%M}."
    )
    assert datetime.fromisoformat(answer["opens_at"]).strftime("%H:%M") == "07:00"
    # and on the map it is shown closed to them
    assert as_map_driver("GET", "/stations/TOKYO-1", "member").body["open_now"] is False


def test_open_hours_allow_and_say_until_when():
    organization = given_organization()
    employees = given_open_connection(organization, "Employees")
    today = DAYS[local_now("Europe/Berlin").weekday()]
    rules = {employees["connection_id"]: {"hours": [{"days": [today], "start": "00:00", "end": "24:00"}]}}
    campus = policy(organization, [employees["connection_id"]], members=rules)
    station(organization, "BER-1", campus["policy_id"], time_zone="Europe/Berlin")
    given_auto_member(employees, "member", "BER00001")

    answer = access_of("BER-1", "member").body

    assert answer["may_charge"] is True and answer["until"] is not None
    until = datetime.fromisoformat(answer["until"])
    assert until.strftime("%H:%M") == "00:00" and until > datetime.now(UTC)


def test_a_station_needs_a_real_time_zone():
    organization = given_organization()
    provision("TZ-1", organization)
    answer = as_station_admin(
        "POST",
        f"/organizations/{organization}/stations",
        body={"station_id": "TZ-1", "name": "Somewhere", "time_zone": "Mars/Olympus_Mons"},
    )
    assert answer.status == 422 and "time_zone" in answer.body["fields"]


# --- Policies: rules in, effective policy out


def test_an_admin_sets_visibility_hours_and_prices_and_sees_the_effective_policy_on_the_station():
    organization = given_organization()
    employees = given_connection(organization, name="Employees")
    cid = employees["connection_id"]
    created = policy(
        organization,
        [cid],
        visible_to=[cid],
        members={cid: {"hours": [{"days": ["fri", "mon"], "start": "22:00", "end": "06:00"}]}},
        everyone={
            "hours": [{"days": ["sat"], "start": "08:00", "end": "24:00"}],
            "price": {"currency": "EUR", "per_hour": 2},
        },
    )
    assert created["visible_to"] == [cid]
    assert created["members"][cid]["hours"] == [{"days": ["mon", "fri"], "start": "22:00", "end": "06:00"}]
    assert created["everyone"]["price"] == {
        "currency": "EUR",
        "per_kwh": "0",
        "per_hour": "2",
        "session_fee": "0",
    }
    view = station(organization, "EFF-1", created["policy_id"], time_zone="Europe/Paris")
    assert view["time_zone"] == "Europe/Paris"
    assert view["effective_policy"]["members"] == created["members"]

    # When the admin makes it visible to everyone and drops everyone else's rule
    path = f"/organizations/{organization}/policies/{created['policy_id']}"
    changed = as_station_admin("PATCH", path, body={"visible_to": None, "everyone": None})

    # Then only those change
    assert changed.status == 200, changed.body
    assert (changed.body["visible_to"], changed.body["everyone"]) == (None, None)
    assert changed.body["members"] == created["members"]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"members": {"not-a-connection-of-the-policy": {}}}, "members"),
        ({"everyone": {"hours": [{"days": ["mon"], "start": "08:00", "end": "08:00"}]}}, "everyone.hours.0"),
        (
            {"everyone": {"hours": [{"days": ["monday"], "start": "08:00", "end": "09:00"}]}},
            "everyone.hours.0.days.0",
        ),
        (
            {"everyone": {"hours": [{"days": ["mon"], "start": "8:00", "end": "09:00"}]}},
            "everyone.hours.0.start",
        ),
        ({"everyone": {"hours": []}}, "everyone.hours"),
        ({"everyone": {"price": {"per_kwh": "0.3"}}}, "everyone.price"),
        ({"everyone": {"price": {"currency": "EUR", "per_kwh": -1}}}, "everyone.price.per_kwh"),
    ],
)
def test_bad_rules_answer_422_with_the_field(rules, field):
    organization = given_organization()
    connection = given_connection(organization)
    answer = post_policy(organization, [connection["connection_id"]], **rules)
    assert answer.status == 422, answer.body
    assert any(f.startswith(field) for f in answer.body["fields"]), answer.body


def test_prices_of_one_policy_share_a_currency():
    organization = given_organization()
    connection = given_connection(organization)
    cid = connection["connection_id"]
    answer = post_policy(
        organization,
        [cid],
        members={cid: {"price": {"currency": "EUR", "per_kwh": 1}}},
        everyone={"price": {"currency": "USD", "per_kwh": 1}},
    )
    assert answer.status == 422 and "price" in answer.body["fields"]


# --- The admins' preview


def given_members_only_campus() -> tuple[str, dict]:
    """Acme's members-only station HQ-1 (members' price 0.10 EUR per kWh), with an Active "member" and a
    "pending" requester of its connection, Employees: (the preview's path, the policy)."""
    organization = given_organization("Acme Corp")
    employees = given_connection(organization, name="Employees")
    cid = employees["connection_id"]
    campus = policy(
        organization,
        [cid],
        visible_to=[cid],
        members={cid: {"price": {"currency": "EUR", "per_kwh": "0.10"}}},
    )
    station(organization, "HQ-1", campus["policy_id"])
    given_active(employees, "member")
    given_pending(employees, "pending")
    return f"/organizations/{organization}/stations/HQ-1/preview", campus


def test_an_admin_previews_what_a_driver_would_get():
    path, campus = given_members_only_campus()

    member = as_station_admin("GET", path, query={"driver": "member"})
    pending = as_station_admin("GET", path, query={"driver": "pending"})

    assert member.status == 200, member.body
    assert (member.body["may_charge"], member.body["visible"], member.body["price"]["text"]) == (
        True,
        True,
        "0.10 EUR per kWh",
    )  # cards are not the admin's business: a member without one is previewed as allowed
    assert member.body["effective_policy"]["policy_id"] == campus["policy_id"]
    assert (pending.body["reason"], pending.body["visible"]) == ("request_pending", False)
    assert pending.body["message"].startswith("Your request to Employees is still pending.")


def test_an_admin_previews_a_driver_found_by_their_email_address():
    # Given a member and a pending requester of the policy's connection, and a driver the organization
    # has never seen (with a Connections account: a card and another organization's membership)
    path, _ = given_members_only_campus()
    given_card("stranger", "STRANGER-CARD")
    eves = given_organization("Eve's fleet", admin=EVE)
    club = given_connection(eves, admin=EVE, name="Eve's club", public=True, approval_mode="auto")
    given_auto_member(club, "stranger")

    # When the admin previews each by address (as typed: any case, spaces around)
    member = as_station_admin("GET", path, query={"email": " Member@Example.COM "})
    pending = as_station_admin("GET", path, query={"email": "pending@example.com"})
    stranger = as_station_admin("GET", path, query={"email": "stranger@example.com"})
    nobody = as_station_admin("GET", path, query={"email": "nobody@example.com"})

    # Then the member gets the members' price, the requester their pending answer
    assert member.status == 200, member.body
    assert (member.body["driver_id"], member.body["may_charge"], member.body["price"]["text"]) == (
        "member",
        True,
        "0.10 EUR per kWh",
    )
    assert (pending.body["driver_id"], pending.body["reason"]) == ("pending", "request_pending")
    # and an address the organization has never seen answers as nobody: whether its owner has an account
    # (cards, other organizations) is not said
    assert stranger.status == nobody.status == 200, stranger.body
    same = {"email": None, "local_time": None}
    assert stranger.body | same == nobody.body | same
    assert (stranger.body["driver_id"], stranger.body["reason"], stranger.body["visible"]) == (
        None,
        "members_only",
        False,
    )


def test_a_preview_asks_for_one_driver_by_id_or_address():
    organization = given_organization()
    station(organization, "HQ-1")
    path = f"/organizations/{organization}/stations/HQ-1/preview"

    both = as_station_admin("GET", path, query={"driver": "x", "email": "x@example.com"})
    not_an_address = as_station_admin("GET", path, query={"email": "not an address"})

    assert (both.status, sorted(both.body["fields"])) == (422, ["driver", "email"])
    assert (not_an_address.status, list(not_an_address.body["fields"])) == (422, ["email"])


def test_only_the_stations_admins_may_preview():
    organization = given_organization()
    station(organization, "HQ-1")
    given_organization("Eve's fleet", admin=EVE)
    answers = [
        as_station_admin(
            "GET", f"/organizations/{organization}/stations/HQ-1/preview", email=EVE, query={"driver": "x"}
        ),
        as_station_admin(
            "GET", f"/organizations/{organization}/stations/NOPE/preview", query={"driver": "x"}
        ),
        as_station_admin("GET", f"/organizations/{organization}/stations/HQ-1/preview"),
    ]
    assert [a.status for a in answers] == [404, 404, 422]


def test_a_driver_is_previewed_only_through_the_organizations_connections():
    # Given a driver who is a member of Eve's connection only
    organization = given_organization()
    mine = given_connection(organization)
    station(organization, "HQ-1", policy(organization, [mine["connection_id"]])["policy_id"])
    eves = given_organization("Eve's fleet", admin=EVE)
    club = given_connection(eves, admin=EVE, name="Eve's club", public=True, approval_mode="auto")
    given_auto_member(club, "driver-x")

    answer = as_station_admin(
        "GET", f"/organizations/{organization}/stations/HQ-1/preview", query={"driver": "driver-x"}
    )

    # Then the preview says nothing of that membership
    assert answer.body["reason"] == "members_only"
    assert "Eve" not in answer.body["message"]
