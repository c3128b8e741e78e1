"""A driver's own memberships: the list, one membership, withdrawing and leaving. A driver never sees
another driver's memberships."""

from tests.support.memberships import (
    DRIVER,
    OTHER_DRIVER,
    all_pages,
    as_driver,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    my_memberships,
    request_membership,
    requests_of,
)


def end(connection: dict, driver: str = DRIVER):
    return as_driver("DELETE", f"/me/memberships/{connection['connection_id']}", sub=driver)


def test_the_list_shows_pending_active_denied_and_removed_but_not_withdrawn_or_left():
    # Given
    organization_id = given_organization()
    pending, active, denied, removed, withdrawn, left = (
        given_connection(organization_id, name=name, public=True)
        for name in ["Pending", "Active", "Denied", "Removed", "Withdrawn", "Left"]
    )
    given_pending(pending)
    given_active(active)
    given_pending(denied)
    assert decide(denied, DRIVER, "deny", body={"message": "Your badge has expired."}).status == 200
    given_active(removed)
    assert decide(removed, DRIVER, "remove").status == 200
    given_pending(withdrawn)
    assert end(withdrawn).status == 200
    given_active(left)
    assert end(left).status == 200

    # When
    listed = my_memberships()

    # Then
    by_name = {m["connection"]["name"]: m for m in listed}
    assert {name: m["status"] for name, m in by_name.items()} == {
        "Pending": "pending",
        "Active": "active",
        "Denied": "denied",
        "Removed": "removed",
    }
    assert by_name["Denied"]["message"] == "Your badge has expired."
    assert by_name["Active"]["message"] is None
    assert my_membership(withdrawn).status == 404
    assert my_membership(left).status == 404


def test_the_list_is_paged_with_limit_and_next_cursor():
    # Given
    organization_id = given_organization()
    for name in ["One", "Two", "Three"]:
        given_pending(given_connection(organization_id, name=name, public=True))
    withdrawn = given_connection(organization_id, name="Withdrawn", public=True)
    given_pending(withdrawn)
    assert end(withdrawn).status == 200

    # When
    found = all_pages(lambda q: as_driver("GET", "/me/memberships", query=q), {"limit": 1})

    # Then
    assert sorted(m["connection"]["name"] for m in found) == ["One", "Three", "Two"]


def test_a_driver_reads_one_membership_with_its_connection():
    # Given
    connection = given_connection(
        given_organization(), public=True, questions=[{"id": "plate", "label": "Plate"}]
    )
    given_pending(connection, answers={"plate": "AB-123"})

    # When
    answer = my_membership(connection)

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "pending"
    assert answer.body["answers"] == {"plate": "AB-123"}
    assert answer.body["connection"]["connection_id"] == connection["connection_id"]
    assert answer.body["connection"]["organization"]["name"] == "Fleet One"


def test_another_drivers_membership_is_never_visible():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_active(connection, DRIVER)

    # When
    listed = my_memberships(OTHER_DRIVER)
    fetched = my_membership(connection, OTHER_DRIVER)
    ended = end(connection, OTHER_DRIVER)

    # Then
    assert listed == []
    assert fetched.status == 404
    assert ended.status == 404
    assert my_membership(connection, DRIVER).body["status"] == "active"


def test_a_driver_withdraws_a_pending_request():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_pending(connection)

    # When
    answer = end(connection)

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "withdrawn"
    assert requests_of(connection) == []
    assert [r["driver_id"] for r in requests_of(connection, "withdrawn")] == [DRIVER]
    assert my_memberships() == []


def test_a_driver_who_withdrew_may_ask_again():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_pending(connection)
    assert end(connection).status == 200

    # When
    answer = request_membership(connection)

    # Then
    assert answer.status == 201
    assert answer.body["status"] == "pending"
    assert [r["driver_id"] for r in requests_of(connection)] == [DRIVER]


def test_a_member_leaves_an_active_membership():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_active(connection)

    # When
    answer = end(connection)

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "left"
    assert requests_of(connection, "active") == []
    assert [r["driver_id"] for r in requests_of(connection, "left")] == [DRIVER]
    assert my_memberships() == []


def test_ending_a_membership_that_does_not_exist_is_404():
    # Given
    connection = given_connection(given_organization(), public=True)

    # When
    unknown_connection = as_driver("DELETE", "/me/memberships/no-such-connection")
    never_requested = end(connection)

    # Then
    assert unknown_connection.status == 404
    assert never_requested.status == 404
    assert unknown_connection.body == never_requested.body


def test_a_denied_membership_cannot_be_left_or_withdrawn():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_pending(connection)
    assert decide(connection, DRIVER, "deny").status == 200

    # When
    answer = end(connection)

    # Then: there is no pending request or active membership to end
    assert answer.status == 404
    assert my_membership(connection).body["status"] == "denied"
