"""The station admin API (functions/manage_stations/app.py): access policies and stations, with each station's
sync status as the stream consumer and the station's answers leave it."""

from tests.support.memberships import (
    DRIVER,
    EVE,
    given_active,
    given_admin,
    given_connection,
    given_organization,
)
from tests.support.stations import (
    as_station_admin,
    given_card,
    given_policy,
    given_station,
    policy_view,
    provision,
    settle,
    station_view,
    stored_station,
)


def policies_path(organization_id: str, suffix: str = "") -> str:
    return f"/organizations/{organization_id}/policies{suffix}"


def stations_path(organization_id: str, suffix: str = "") -> str:
    return f"/organizations/{organization_id}/stations{suffix}"


# --- Policies


def test_an_admin_creates_lists_gets_and_renames_a_policy():
    # Given
    organization = given_organization()
    connection = given_connection(organization)

    # When
    created = as_station_admin(
        "POST",
        policies_path(organization),
        body={"name": "Depot", "connection_ids": [connection["connection_id"]] * 2},
    )

    # Then
    assert created.status == 201
    policy = created.body
    assert policy["name"] == "Depot"
    assert policy["connection_ids"] == [connection["connection_id"]]  # a repeated id counts once
    assert policy["list_sequence"] == 0
    listed = as_station_admin("GET", policies_path(organization))
    assert listed.status == 200 and listed.body == [policy]
    assert policy_view(organization, policy["policy_id"]) == policy

    # When
    renamed = as_station_admin(
        "PATCH", policies_path(organization, f"/{policy['policy_id']}"), body={"name": "Depot north"}
    )

    # Then
    assert renamed.status == 200
    assert renamed.body["name"] == "Depot north"
    assert renamed.body["connection_ids"] == [connection["connection_id"]]
    assert policy_view(organization, policy["policy_id"])["name"] == "Depot north"


def test_a_policy_patch_replaces_its_connections():
    # Given
    organization = given_organization()
    first = given_connection(organization, name="Employees")
    second = given_connection(organization, name="Residents")
    policy = given_policy(organization, [first["connection_id"]])

    # When
    answer = as_station_admin(
        "PATCH",
        policies_path(organization, f"/{policy['policy_id']}"),
        body={"connection_ids": [second["connection_id"]]},
    )

    # Then
    assert answer.status == 200
    assert answer.body["connection_ids"] == [second["connection_id"]]
    assert answer.body["name"] == "Depot"
    assert policy_view(organization, policy["policy_id"])["connection_ids"] == [second["connection_id"]]


def test_a_policy_may_only_name_the_organizations_own_connections():
    # Given
    organization = given_organization()
    mine = given_connection(organization)
    elsewhere = given_connection(given_organization("Eve's fleet", admin=EVE), admin=EVE)
    policy = given_policy(organization, [mine["connection_id"]])

    # When
    created = as_station_admin(
        "POST",
        policies_path(organization),
        body={"name": "Mixed", "connection_ids": [mine["connection_id"], elsewhere["connection_id"]]},
    )
    unknown = as_station_admin(
        "POST", policies_path(organization), body={"name": "Ghost", "connection_ids": ["no-such-connection"]}
    )
    patched = as_station_admin(
        "PATCH",
        policies_path(organization, f"/{policy['policy_id']}"),
        body={"connection_ids": [elsewhere["connection_id"]]},
    )

    # Then
    for answer in (created, unknown, patched):
        assert answer.status == 422, answer.body
        assert answer.error == "invalid_input"
        assert "connection_ids" in answer.body["fields"]
    assert elsewhere["connection_id"] in created.body["fields"]["connection_ids"]
    assert policy_view(organization, policy["policy_id"])["connection_ids"] == [mine["connection_id"]]
    assert [p["name"] for p in as_station_admin("GET", policies_path(organization)).body] == ["Depot"]


def test_another_organizations_admin_can_neither_see_nor_change_a_policy():
    # Given
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    eves_organization = given_organization("Eve's fleet", admin=EVE)
    path = f"/{policy['policy_id']}"

    # When
    answers = [
        as_station_admin("GET", policies_path(organization), email=EVE),
        as_station_admin("GET", policies_path(organization, path), email=EVE),
        as_station_admin("PATCH", policies_path(organization, path), email=EVE, body={"name": "Mine"}),
        as_station_admin(
            "POST",
            policies_path(organization),
            email=EVE,
            body={"name": "Mine", "connection_ids": [connection["connection_id"]]},
        ),
        # through her own organization, with Ada's policy id
        as_station_admin("GET", policies_path(eves_organization, path), email=EVE),
        as_station_admin("PATCH", policies_path(eves_organization, path), email=EVE, body={"name": "Mine"}),
    ]

    # Then
    assert [a.status for a in answers] == [404] * 6, [a.body for a in answers]
    assert {a.error for a in answers} == {"not_found"}
    assert policy_view(organization, policy["policy_id"])["name"] == "Depot"


def test_a_second_admin_of_the_organization_manages_its_policies():
    # Given
    organization = given_organization()
    given_admin(organization, "bea@fleet.example")
    connection = given_connection(organization)

    # When
    policy = given_policy(organization, [connection["connection_id"]], email="bea@fleet.example")

    # Then
    assert policy_view(organization, policy["policy_id"])["name"] == "Depot"


# --- Stations


def test_a_registered_station_shows_its_capabilities_and_that_it_waits_for_its_list():
    # Given
    organization = given_organization()
    policy = given_policy(organization, [given_connection(organization)["connection_id"]])

    provision("CP-0001", organization)

    # When
    answer = as_station_admin(
        "POST",
        stations_path(organization),
        body={
            "station_id": "CP-0001",
            "name": "Gate 1",
            "latitude": 52.5,
            "longitude": 13.4,
            "policy_id": policy["policy_id"],
            "local_auth_list_max_length": 100,
            "send_local_list_max_length": 10,
        },
    )

    # Then
    assert answer.status == 201, answer.body
    station = answer.body
    assert station["station_id"] == "CP-0001" and station["policy_id"] == policy["policy_id"]
    assert station["capabilities"] == {
        "local_list_supported": True,
        "local_auth_list_max_length": 100,
        "send_local_list_max_length": 10,
        "bytes_per_message": None,
    }
    assert station["ocpp_version"] == "1.6"  # unless registered as 2.0.1
    assert station["sync"]["in_sync"] is False  # it has not received its list yet
    assert station["sync"]["online_only"] is False
    assert station["sync"]["list_version"] == 0
    assert station_view(organization, "CP-0001") == station


def test_a_stations_place_is_kept_to_seven_decimals_and_a_vanishing_one_is_zero():
    organization = given_organization()
    provision("CP-0001", organization)

    body = {"station_id": "CP-0001", "name": "Gate 1", "latitude": 2.2e-309, "longitude": 13.123456789}
    answer = as_station_admin("POST", stations_path(organization), body=body)

    assert answer.status == 201, answer.body  # not a 500: DynamoDB cannot store 2.2e-309
    assert (answer.body["latitude"], answer.body["longitude"]) == (0.0, 13.1234568)
    moved = as_station_admin("PATCH", stations_path(organization, "/CP-0001"), body={"latitude": -1e-200})
    assert moved.status == 200 and moved.body["latitude"] == 0.0, moved.body


def test_a_station_id_is_registered_once_across_the_service():
    # Given a registered charger
    organization = given_organization()
    given_station(organization, "CP-1")
    eves_organization = given_organization("Eve's fleet", admin=EVE)

    # When its organization registers it again, and another one after it was provisioned for them (sold)
    again = as_station_admin(
        "POST", stations_path(organization), body={"station_id": "CP-1", "name": "Again"}
    )
    provision("CP-1", eves_organization)
    by_eve = as_station_admin(
        "POST", stations_path(eves_organization), email=EVE, body={"station_id": "CP-1", "name": "Mine"}
    )

    # Then the first registration stands until it is removed
    for answer in (again, by_eve):
        assert answer.status == 409, answer.body
        assert answer.error == "station_exists"
    assert station_view(organization, "CP-1")["name"] == "Charger CP-1"


def test_only_the_organization_a_charger_is_provisioned_for_may_register_it():
    # Given a charger provisioned for Ada's organization, and one provisioned for nobody
    organization = given_organization()
    provision("CP-1", organization)
    eves_organization = given_organization("Eve's fleet", admin=EVE)

    # When Eve registers the first, and Ada the second
    by_eve = as_station_admin(
        "POST", stations_path(eves_organization), email=EVE, body={"station_id": "CP-1", "name": "Mine"}
    )
    unknown = as_station_admin(
        "POST", stations_path(organization), body={"station_id": "CP-404", "name": "X"}
    )

    # Then both are refused alike, saying nothing of who else owns it, and nothing is registered
    for answer in (by_eve, unknown):
        assert (answer.status, answer.error) == (422, "invalid_input"), answer.body
        assert answer.body["fields"] == {"station_id": "not provisioned for this organization"}
    assert organization not in by_eve.body["message"]
    assert as_station_admin("GET", stations_path(eves_organization), email=EVE).body["items"] == []
    assert as_station_admin("GET", stations_path(organization)).body["items"] == []
    assert (
        as_station_admin(
            "POST", stations_path(organization), body={"station_id": "CP-1", "name": "Ours"}
        ).status
        == 201
    )


def test_a_station_needs_a_policy_of_its_own_organization():
    # Given
    organization = given_organization()
    eves_organization = given_organization("Eve's fleet", admin=EVE)
    eves_policy = given_policy(
        eves_organization,
        [given_connection(eves_organization, admin=EVE)["connection_id"]],
        email=EVE,
    )

    # When
    unknown = as_station_admin(
        "POST", stations_path(organization), body={"station_id": "CP-1", "name": "A", "policy_id": "nope"}
    )
    foreign = as_station_admin(
        "POST",
        stations_path(organization),
        body={"station_id": "CP-2", "name": "B", "policy_id": eves_policy["policy_id"]},
    )

    # Then
    assert (unknown.status, unknown.error) == (404, "not_found")
    assert (foreign.status, foreign.error) == (404, "not_found")
    assert as_station_admin("GET", stations_path(organization)).body["items"] == []


def test_a_station_id_must_be_a_charge_point_id():
    # Given
    organization = given_organization()

    # When
    answers = {
        bad: as_station_admin("POST", stations_path(organization), body={"station_id": bad, "name": "X"})
        for bad in ("CP 1", "CP/1", "CP+1", "", "C" * 37)
    }

    # Then
    assert {bad: a.status for bad, a in answers.items()} == dict.fromkeys(answers, 422)
    assert as_station_admin("GET", stations_path(organization)).body["items"] == []
    provision("C" * 36, organization)
    assert as_station_admin(
        "POST", stations_path(organization), body={"station_id": "C" * 36, "name": "X"}
    ).status == (201)


def test_another_organizations_admin_cannot_see_its_stations():
    # Given
    organization = given_organization()
    given_station(organization, "CP-1")
    eves_organization = given_organization("Eve's fleet", admin=EVE)

    # When
    answers = [
        as_station_admin("GET", stations_path(organization), email=EVE),
        as_station_admin("GET", stations_path(organization, "/CP-1"), email=EVE),
        as_station_admin("GET", stations_path(eves_organization, "/CP-1"), email=EVE),
        as_station_admin(
            "PATCH", stations_path(eves_organization, "/CP-1"), email=EVE, body={"name": "Mine"}
        ),
    ]

    # Then
    assert [a.status for a in answers] == [404] * 4
    assert station_view(organization, "CP-1")["name"] == "Charger CP-1"


def test_the_station_list_counts_the_stations_out_of_sync(sync):
    # Given a policy with one member, two stations of it and one usable by everyone
    organization = given_organization()
    connection = given_connection(organization)
    given_card(DRIVER, "CARD-1")
    given_active(connection, DRIVER)
    policy = given_policy(organization, [connection["connection_id"]])
    synced = given_station(organization, "CP-A", policy["policy_id"])
    waiting = given_station(organization, "CP-B", policy["policy_id"])
    everyone = given_station(organization, "CP-C")

    # When CP-A accepts its list (and CP-C the empty one that clears it) and CP-B has not answered yet
    settle(sync, synced, everyone)
    assert waiting.take_one("SendLocalList")

    # Then
    listed = as_station_admin("GET", stations_path(organization))
    assert listed.status == 200
    sync_of = {s["station_id"]: s["sync"] for s in listed.body["items"]}
    assert listed.body["out_of_sync"] == 1
    assert sync_of["CP-A"]["in_sync"] is True
    assert (sync_of["CP-B"]["in_sync"], sync_of["CP-B"]["awaiting"]) == (False, "SendLocalList")
    assert (sync_of["CP-C"]["in_sync"], sync_of["CP-C"]["online_only"]) == (True, True)
    assert listed.body["next_cursor"] is None

    # When the list is paged
    first = as_station_admin("GET", stations_path(organization), query={"limit": 2})
    rest = as_station_admin(
        "GET", stations_path(organization), query={"limit": 2, "cursor": first.body["next_cursor"]}
    )

    # Then
    assert [s["station_id"] for s in first.body["items"] + rest.body["items"]] == ["CP-A", "CP-B", "CP-C"]
    assert rest.body["next_cursor"] is None


def test_a_stations_sync_status_follows_its_list_until_it_is_acknowledged(sync):
    # Given
    organization = given_organization()
    connection = given_connection(organization)
    given_card(DRIVER, "CARD-1")
    given_active(connection, DRIVER)
    policy = given_policy(organization, [connection["connection_id"]])
    station = given_station(organization, "CP-1", policy["policy_id"])

    # When the service has sent the station its list
    sync.drain()
    sent = station.take_one("SendLocalList")

    # Then it is awaited
    waiting = station_view(organization, "CP-1")["sync"]
    assert waiting["awaiting"] == "SendLocalList"
    assert waiting["in_sync"] is False
    assert waiting["acknowledged_at"] is None
    assert waiting["wanted_sequence"] == policy_view(organization, policy["policy_id"])["list_sequence"] == 1

    # When the station accepts it
    station.accept(sent)

    # Then
    done = station_view(organization, "CP-1")["sync"]
    assert done["in_sync"] is True
    assert done["awaiting"] is None
    assert done["held_sequence"] == done["wanted_sequence"] == 1
    assert done["list_version"] == 1
    assert done["acknowledged_at"] is not None


def test_a_station_keeps_a_copy_of_its_policys_connections_from_registration_and_each_move():
    # The copy keys a charger's message's reads (decision 0044): written when the station gets a policy
    organization = given_organization()
    first, second = (given_connection(organization)["connection_id"] for _ in range(2))
    one = given_policy(organization, [first])
    both = given_policy(organization, [second, first])
    given_station(organization, "CP-COPY", one["policy_id"])
    assert stored_station("CP-COPY").policy_connections == [first]

    moved = as_station_admin(
        "PATCH", stations_path(organization, "/CP-COPY"), body={"policy_id": both["policy_id"]}
    )
    assert moved.status == 200, moved.body
    assert stored_station("CP-COPY").policy_connections == sorted([first, second])

    freed = as_station_admin(
        "PATCH", stations_path(organization, "/CP-COPY"), body={"usable_by_everyone": True}
    )
    assert freed.status == 200, freed.body
    assert not stored_station("CP-COPY").policy_connections
