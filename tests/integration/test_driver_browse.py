"""What drivers can find without a code: browsing public connections and reading one connection.

All tests of this module read one world, built once (SHARED_TABLES)."""

from dataclasses import dataclass

import pytest

from tests.support.memberships import (
    ADA,
    EVE,
    all_pages,
    as_admin,
    as_driver,
    browse,
    cursor_of,
    given_connection,
    given_organization,
    names,
    request_membership,
)

SHARED_TABLES = True


@dataclass
class World:
    fleet: str  # organization "Fleet One" (Ada)
    harbour: str  # organization "Harbour Transport" (Eve)
    connections: dict[str, dict]


@pytest.fixture(scope="module")
def world(shared_tables) -> World:
    fleet = given_organization("Fleet One", admin=ADA)
    harbour = given_organization("Harbour Transport", admin=EVE)
    made = {}
    for name, public, enabled in [
        ("Night shift", True, True),
        ("night owls", True, True),
        ("Night private", False, True),
        ("Night disabled", True, False),
        ("Route A", True, True),
        ("Route B", True, True),
        ("Route C", True, True),
        ("Route D", True, True),
        ("Route E", True, True),
    ]:
        made[name] = given_connection(fleet, name=name, public=public, enabled=enabled)
    for name, public in [("Harbour night", True), ("Harbour private", False)]:
        made[name] = given_connection(harbour, admin=EVE, name=name, public=public)
    return World(fleet, harbour, made)


FLEET_PUBLIC = ["night owls", "Night shift", "Route A", "Route B", "Route C", "Route D", "Route E"]


def test_browsing_without_any_filter_lists_every_public_enabled_connection(world):
    # When
    found = all_pages(lambda q: browse(**q), {"limit": 50})

    # Then
    assert sorted(names(found)) == sorted([*FLEET_PUBLIC, "Harbour night"])


def test_browsing_by_name_prefix_finds_only_public_enabled_connections_whatever_the_case(world):
    # When
    answer = browse(name="NIGHT")

    # Then
    assert answer.status == 200
    assert names(answer.body["items"]) == ["night owls", "Night shift"]
    assert answer.body["next_cursor"] is None
    shown = answer.body["items"][0]
    assert shown["organization"] == {"organization_id": world.fleet, "name": "Fleet One"}
    assert "code" not in shown and "enabled" not in shown


def test_browsing_by_organization_name_prefix(world):
    # When
    harbour = browse(organization="harb")
    fleet = browse(organization="Fleet")

    # Then
    assert names(harbour.body["items"]) == ["Harbour night"]
    assert names(fleet.body["items"]) == FLEET_PUBLIC


def test_browsing_one_organization_lists_its_public_enabled_connections(world):
    # When
    everything = browse(organization_id=world.fleet)
    by_name = browse(organization_id=world.fleet, name="night")

    # Then
    assert names(everything.body["items"]) == FLEET_PUBLIC
    assert names(by_name.body["items"]) == ["night owls", "Night shift"]


def test_browsing_by_organization_name_and_connection_name_applies_both(world):
    # When
    answer = browse(organization="fleet", name="night")

    # Then
    assert names(answer.body["items"]) == ["night owls", "Night shift"]


def test_a_name_that_matches_nothing_gives_an_empty_page(world):
    # When
    answer = browse(name="zzz")

    # Then
    assert answer.status == 200
    assert answer.body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "route"}, ["Route A", "Route B", "Route C", "Route D", "Route E"]),
        ({"organization_id": "<Fleet One>"}, FLEET_PUBLIC),
        ({"organization": "fleet"}, FLEET_PUBLIC),
    ],
    ids=["by-name", "by-organization-id", "by-organization-name"],
)
def test_paging_with_a_limit_follows_next_cursor_until_every_match_was_seen_once(world, query, expected):
    # Given
    query = {k: world.fleet if v == "<Fleet One>" else v for k, v in query.items()}
    pages = []

    def fetch(page_query: dict):
        pages.append(browse(**page_query))
        return pages[-1]

    # When
    found = all_pages(fetch, {**query, "limit": 2})

    # Then
    assert names(found) == expected
    assert len(pages) >= 3
    assert all(len(page.body["items"]) <= 2 for page in pages)


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor!", "W10", cursor_of({"partition": "x"}), "eyJwayI6IHsiUyI6IDF9fQ"],
    ids=["garbage", "json-list", "unknown-attribute", "not-a-string-value"],
)
def test_a_cursor_that_was_not_given_by_the_service_is_422(world, cursor):
    # When
    answer = browse(name="route", cursor=cursor)

    # Then
    assert answer.status == 422
    assert answer.error == "invalid_input"
    assert list(answer.body["fields"]) == ["cursor"]


def test_a_cursor_of_another_listing_is_422(world):
    # Given: the next_cursor of the organization's connection list, which pages over another index
    listing = as_admin("GET", f"/organizations/{world.fleet}/connections", query={"limit": 1})
    foreign = listing.body["next_cursor"]
    assert foreign

    # When
    answer = browse(name="route", cursor=foreign)

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["cursor"]


def test_a_page_size_out_of_bounds_is_422(world):
    # When
    answers = [browse(name="route", limit=0), browse(name="route", limit=51), browse(name="route", limit="x")]

    # Then
    assert [a.status for a in answers] == [422, 422, 422]
    assert all(list(a.body["fields"]) == ["limit"] for a in answers)


def test_a_public_connection_is_visible_to_every_driver(world):
    # Given
    connection = world.connections["Night shift"]

    # When
    answer = as_driver("GET", f"/connections/{connection['connection_id']}", sub="browse-stranger")

    # Then
    assert answer.status == 200
    assert answer.body["name"] == "Night shift"
    assert answer.body["public"] is True
    assert "code" not in answer.body


@pytest.mark.parametrize("name", ["Night private", "Night disabled", "Harbour private"])
def test_a_private_or_disabled_connection_is_not_visible_exactly_like_one_that_does_not_exist(world, name):
    # Given
    connection = world.connections[name]

    # When
    hidden = as_driver("GET", f"/connections/{connection['connection_id']}", sub="browse-stranger")
    missing = as_driver("GET", "/connections/no-such-connection", sub="browse-stranger")

    # Then
    assert hidden.status == 404
    assert hidden.body == missing.body


def test_a_private_connection_becomes_visible_to_a_driver_who_requested_it(world):
    # Given
    connection = world.connections["Night private"]
    path = f"/connections/{connection['connection_id']}"
    assert as_driver("GET", path, sub="browse-requester").status == 404

    # When
    assert request_membership(connection, "browse-requester").status == 201

    # Then
    answer = as_driver("GET", path, sub="browse-requester")
    assert answer.status == 200
    assert answer.body["name"] == "Night private"
    assert as_driver("GET", path, sub="browse-stranger").status == 404
