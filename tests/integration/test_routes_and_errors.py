"""Every route of the connections API in template.yaml, served by the function the template names, and
the errors every route shares: not signed in, not an admin, bodies that are not JSON or not of the right
shape, unknown routes.

All tests read one world built once (SHARED_TABLES); none of them changes it."""

import re
from dataclasses import dataclass

import pytest

from functions.approve.app import handler as admin_handler
from functions.request_connection.app import handler as driver_handler
from infra.template import Route, routes
from tests.support.api import call
from tests.support.memberships import (
    ADA,
    DRIVER,
    EVE,
    NO_ROUTE,
    admin_path,
    as_admin,
    as_driver,
    checked,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    requests_of,
)

SHARED_TABLES = True

HANDLERS = {"RequestConnectionFunction": driver_handler, "ApproveFunction": admin_handler}

# The routes of the connections API (drivers, organizations, connections, requests). Other functions and
# routes of the template have their own tests.
CONNECTIONS_API = [
    "GET /connections",
    "GET /connections/by-code/{code}",
    "GET /connections/{connection_id}",
    "POST /connections/{connection_id}/memberships",
    "GET /me/memberships",
    "GET /me/memberships/{connection_id}",
    "DELETE /me/memberships/{connection_id}",
    "POST /organizations",
    "GET /organizations",
    "GET /organizations/{organization_id}",
    "GET /organizations/{organization_id}/admins",
    "POST /organizations/{organization_id}/admins",
    "DELETE /organizations/{organization_id}/admins/{email}",
    "POST /organizations/{organization_id}/connections",
    "GET /organizations/{organization_id}/connections",
    "GET /organizations/{organization_id}/connections/{connection_id}",
    "PATCH /organizations/{organization_id}/connections/{connection_id}",
    "GET /organizations/{organization_id}/connections/{connection_id}/requests",
    "POST /organizations/{organization_id}/connections/{connection_id}/requests/decisions",
    "POST /organizations/{organization_id}/connections/{connection_id}/requests/{driver_id}/approve",
    "POST /organizations/{organization_id}/connections/{connection_id}/requests/{driver_id}/deny",
    "GET /organizations/{organization_id}/connections/{connection_id}/members",
    "DELETE /organizations/{organization_id}/connections/{connection_id}/members/{driver_id}",
]
ROUTES = [r for r in routes() if r.route_key in CONNECTIONS_API]
ADMIN_ROUTES = [r for r in ROUTES if "{organization_id}" in r.path]

# A valid body for each route that takes one, so that only the point of a test can fail it.
BODIES = {
    "POST /organizations": {"name": "Fleet Two"},
    "POST /organizations/{organization_id}/admins": {"email": "new.admin@fleet.example"},
    "POST /organizations/{organization_id}/connections": {"name": "Another connection"},
    "PATCH /organizations/{organization_id}/connections/{connection_id}": {"name": "Renamed"},
    "POST /organizations/{organization_id}/connections/{connection_id}/requests/decisions": {
        "decisions": [{"driver_id": DRIVER, "decision": "deny"}]
    },
    "POST /organizations/{organization_id}/connections/{connection_id}/requests/{driver_id}/deny": {
        "message": "No."
    },
    "POST /connections/{connection_id}/memberships": {"answers": {}},
}


@dataclass
class World:
    organization_id: str
    connection: dict


@pytest.fixture(scope="module")
def world(shared_tables) -> World:
    organization_id = given_organization()
    connection = given_connection(organization_id, public=True)
    given_pending(connection)
    return World(organization_id, connection)


def path_of(route: Route, **ids: str) -> str:
    defaults = {
        "organization_id": "no-such-organization",
        "connection_id": "no-such-connection",
        "driver_id": "no-such-driver",
        "email": "nobody@fleet.example",
        "code": "NOSUCHCODE1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: {**defaults, **ids}[m.group(1)], route.path)


def call_route(route: Route, path: str, **kwargs):
    kwargs.setdefault("body", BODIES.get(route.route_key))
    return checked(call(HANDLERS[route.function], route.method, path, **kwargs))


def test_every_route_of_the_connections_api_is_in_the_template_behind_the_authorizer():
    assert sorted(r.route_key for r in ROUTES) == sorted(CONNECTIONS_API)
    assert {r.function for r in ROUTES} == set(HANDLERS)
    assert all(r.authorized for r in ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_route_is_answered_by_its_function_and_not_as_an_unknown_route(world, route):
    # When
    answer = call_route(route, path_of(route), sub="route-checker", email="checker@fleet.example")

    # Then
    assert answer.body != {"error": "not_found", "message": NO_ROUTE, "fields": {}}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_route_needs_a_signed_in_caller(world, route):
    # Given
    path = path_of(
        route,
        organization_id=world.organization_id,
        connection_id=world.connection["connection_id"],
        driver_id=DRIVER,
        email=ADA,
        code=world.connection["code"],
    )

    # When
    answer = call_route(route, path, sub=None)

    # Then
    assert answer.status == 401
    assert answer.error == "not_signed_in"


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: r.route_key)
def test_every_admin_route_answers_404_to_someone_who_does_not_administer_the_organization(world, route):
    # Given
    ids = {"connection_id": world.connection["connection_id"], "driver_id": DRIVER, "email": ADA}
    path = path_of(route, organization_id=world.organization_id, **ids)
    no_such_organization = call_route(route, path_of(route, **ids), email=EVE)

    # When
    answer = call_route(route, path, email=EVE)

    # Then
    assert answer.status == 404
    assert answer.body == no_such_organization.body
    assert [r["driver_id"] for r in requests_of(world.connection)] == [DRIVER]
    assert as_admin("GET", admin_path(world.connection)).body["name"] == "Night shift"


@pytest.mark.parametrize("route_key", sorted(BODIES))
def test_a_body_that_is_not_json_is_400_invalid_json(world, route_key):
    # Given
    (route,) = [r for r in ROUTES if r.route_key == route_key]
    path = path_of(
        route, organization_id=world.organization_id, connection_id=world.connection["connection_id"]
    )

    # When
    answer = call_route(route, path, body='{"name": "unfinished', email=ADA)

    # Then
    assert answer.status == 400
    assert answer.error == "invalid_json"


def test_a_body_that_is_not_sent_as_json_is_415_and_changes_nothing(world):
    # When
    answer = as_admin(
        "POST",
        "/organizations",
        body="name=Form+Fleet",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    # Then
    assert answer.status == 415
    assert answer.error == "unsupported_media_type"
    assert "Form Fleet" not in [o["name"] for o in as_admin("GET", "/organizations").body]


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "/organizations", {"name": 5}, ["name"]),
        ("POST", "/organizations", {"name": "   "}, ["name"]),
        ("POST", "/organizations", {}, ["name"]),
        (
            "POST",
            "CONNECTIONS",
            {"name": "X", "public": "perhaps", "reverify_days": 0},
            ["public", "reverify_days"],
        ),
        ("POST", "CONNECTIONS", {"name": "X", "approval_mode": "whenever"}, ["approval_mode"]),
        ("POST", "CONNECTIONS", {"name": "X", "email_domains": ["not a domain"]}, ["email_domains.0"]),
        ("PATCH", "CONNECTION", {"enabled": "perhaps"}, ["enabled"]),
        ("POST", "DECISIONS", {"decisions": "all"}, ["decisions"]),
    ],
)
def test_a_body_of_the_wrong_shape_is_422_naming_each_field(world, method, path, body, fields):
    # Given
    path = {
        "CONNECTIONS": f"/organizations/{world.organization_id}/connections",
        "CONNECTION": admin_path(world.connection),
        "DECISIONS": admin_path(world.connection, "/requests/decisions"),
    }.get(path, path)

    # When
    answer = as_admin(method, path, body=body)

    # Then
    assert answer.status == 422
    assert answer.error == "invalid_input"
    assert sorted(answer.body["fields"]) == fields
    assert all(isinstance(message, str) and message for message in answer.body["fields"].values())


def test_a_membership_request_of_the_wrong_shape_is_422_naming_the_field(world):
    # When
    answer = as_driver(
        "POST", f"/connections/{world.connection['connection_id']}/memberships", body={"answers": "E1234"}
    )

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["answers"]
    assert my_membership(world.connection).body["status"] == "pending"


def test_a_path_parameter_that_is_too_long_is_422():
    # When
    answer = as_driver("GET", f"/connections/{'x' * 65}")

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["connection_id"]


@pytest.mark.parametrize(
    ("handler", "method", "path"),
    [
        (driver_handler, "GET", "/no-such-route"),
        (admin_handler, "GET", "/no-such-route"),
        (admin_handler, "PUT", "/organizations"),
        (driver_handler, "DELETE", "/connections/some-connection"),
    ],
)
def test_an_unknown_route_is_a_json_404(handler, method, path):
    # When
    answer = checked(call(handler, method, path))

    # Then
    assert answer.status == 404
    assert answer.body == {"error": "not_found", "message": NO_ROUTE, "fields": {}}
    assert answer.headers["content-type"] == "application/json"
