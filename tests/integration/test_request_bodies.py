"""What every operation that takes a body does with a body it cannot use: the operations come from the
OpenAPI document (every operation with a requestBody), so a new route is covered without a change here.

No test here reaches the tables (a body is read before anything else), so they are made once."""

import importlib
import json
import re

import pytest

from infra import openapi
from infra.template import Route, routes
from tests.support.api import call
from tests.support.memberships import checked

SHARED_TABLES = True


def _operations_with_a_body() -> list[Route]:
    by_key = {r.route_key: r for r in routes()}
    return [
        by_key[f"{method.upper()} {path}"]
        for path, operations in openapi.document()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


BODY_OPERATIONS = _operations_with_a_body()


def _handler(route: Route):
    module = route.code_uri.strip("/").replace("/", ".") + "." + route.handler.rsplit(".", 1)[0]
    return importlib.import_module(module).handler


def _call(route: Route, body: str):
    path = re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}-1", route.path)
    return checked(call(_handler(route), route.method, path, body=body))


def test_the_operations_with_a_body_are_found():
    # The document lists them; an empty list would make the tests below pass without checking anything.
    assert len(BODY_OPERATIONS) >= 14
    assert {r.function for r in BODY_OPERATIONS} >= {
        "RequestConnectionFunction",
        "ApproveFunction",
        "StationsFunction",
    }


UNREADABLE = {
    # More digits than Python converts to an int (sys.get_int_max_str_digits(): 4300).
    "an integer of 4301 digits": '{"name": ' + "9" * 4301 + "}",
    # Deeper than the parser's recursion limit.
    "arrays nested 10000 deep": '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}",
    "objects nested 100000 deep": '{"a": ' * 100_000 + "1" + "}" * 100_000,
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("route", BODY_OPERATIONS, ids=lambda r: r.route_key)
def test_a_body_the_json_parser_cannot_read_is_400_invalid_json(route, body):
    # When
    answer = _call(route, body)

    # Then
    assert answer.status == 400, answer.body
    assert answer.body == {
        "error": "invalid_json",
        "message": "The request body is not valid JSON.",
        "fields": {},
    }


def _route(route_key: str) -> Route:
    (route,) = [r for r in BODY_OPERATIONS if r.route_key == route_key]
    return route


CONNECTION = "/organizations/{organization_id}/connections/{connection_id}"
STATION = {"station_id": "CP-1", "name": "Charger"}


@pytest.mark.parametrize(
    ("route_key", "body", "field"),
    [
        (f"PATCH {CONNECTION}", {"regenerate_code": 0}, "regenerate_code"),
        (f"PATCH {CONNECTION}", {"public": "true"}, "public"),
        (
            "POST /organizations/{organization_id}/connections",
            {"name": "Visitors", "questions": [{"id": "plate", "label": "Plate", "required": 0}]},
            "questions.0.required",
        ),
        (
            "POST /organizations/{organization_id}/connections",
            {"name": "V", "reverify_days": "30"},
            "reverify_days",
        ),
        ("PUT /organizations/{organization_id}/admins/me/alerts", {"new_requests": "off"}, "new_requests"),
        ("POST /organizations/{organization_id}/stations", {**STATION, "latitude": True}, "latitude"),
        ("POST /organizations/{organization_id}/stations", {**STATION, "longitude": "13.4"}, "longitude"),
        (
            "PATCH /organizations/{organization_id}/stations/{station_id}",
            {"send_local_list_max_length": 25.0},
            "send_local_list_max_length",
        ),
    ],
)
def test_a_value_of_another_json_type_is_422_not_coerced(route_key, body, field):
    # When
    answer = _call(_route(route_key), json.dumps(body))

    # Then
    assert answer.status == 422, answer.body
    assert answer.error == "invalid_input"
    assert list(answer.body["fields"]) == [field]
    assert answer.body["fields"][field].startswith("Input should be a valid")


# Names a machine's own time zone database may hold beside the IANA zones (zoneinfo finds them there).
NOT_IANA_ZONES = [
    "localtime",
    "posixrules",
    "Factory",
    "right/UTC",
    "posix/Europe/Berlin",
    "Mars/Olympus_Mons",
]


@pytest.mark.parametrize("zone", NOT_IANA_ZONES)
@pytest.mark.parametrize(
    ("route_key", "body"),
    [
        ("POST /organizations/{organization_id}/stations", STATION),
        ("PATCH /organizations/{organization_id}/stations/{station_id}", {}),
    ],
    ids=["register", "change"],
)
def test_a_time_zone_that_is_not_an_iana_zone_name_is_422(route_key, body, zone):
    # When
    answer = _call(_route(route_key), json.dumps({**body, "time_zone": zone}))

    # Then
    assert answer.status == 422, answer.body
    assert answer.body["fields"] == {
        "time_zone": "Value error, not an IANA time zone, e.g. Europe/Berlin or America/New_York"
    }


def _price(price: dict) -> str:
    return json.dumps({"name": "Campus", "connection_ids": ["c-1"], "everyone": {"price": price}})


@pytest.mark.parametrize(
    ("price", "field", "message"),
    [
        ({"currency": "ZZZ", "per_kwh": 1}, "currency", "not an ISO 4217 currency code"),
        ({"currency": "XAU", "per_kwh": 1}, "currency", "not an ISO 4217 currency code"),  # gold
        ({"currency": "EUR", "session_fee": "0.999"}, "session_fee", "at most 2 decimals in EUR"),
        ({"currency": "JPY", "session_fee": 100.5}, "session_fee", "at most 0 decimals in JPY"),
        ({"currency": "EUR", "per_kwh": "0.34567"}, "per_kwh", "at most 4 decimals in EUR"),
        ({"currency": "JPY", "per_hour": "120.125"}, "per_hour", "at most 2 decimals in JPY"),
    ],
)
def test_a_price_is_in_an_iso_4217_currency_and_its_minor_unit(price, field, message):
    # When
    answer = _call(_route("POST /organizations/{organization_id}/policies"), _price(price))

    # Then
    assert answer.status == 422, answer.body
    assert list(answer.body["fields"]) == [f"everyone.price.{field}"]
    assert message in answer.body["fields"][f"everyone.price.{field}"]


@pytest.mark.parametrize(
    "price",
    [
        {"currency": "EUR", "per_kwh": "0.345", "per_hour": "0.0125", "session_fee": "1.50"},
        {"currency": "EUR", "session_fee": "1.500"},  # the same amount as 1.50
        {"currency": "JPY", "per_kwh": 45.5, "session_fee": 100},
        {"currency": "BHD", "per_kwh": "0.12345", "session_fee": "0.125"},
    ],
)
def test_a_price_within_its_currencys_minor_unit_is_accepted(price):
    # When (the organization does not exist: an accepted body gets that far)
    answer = _call(_route("POST /organizations/{organization_id}/policies"), _price(price))

    # Then
    assert answer.status == 404, answer.body
