"""A driver asks to join a connection: codes of private connections, repeated requests, disabled
connections.

The tests share one organization (SHARED_TABLES); each makes its own connection."""

import pytest

from tests.support.memberships import (
    DRIVER,
    admin_path,
    as_admin,
    as_driver,
    decide,
    given_active,
    given_connection,
    given_pending,
    my_membership,
    request_membership,
    requests_of,
)

SHARED_TABLES = True


def test_a_driver_requests_a_public_connection_and_waits_for_a_decision(organization):
    # Given
    connection = given_connection(organization, public=True)

    # When
    answer = request_membership(connection)

    # Then
    assert answer.status == 201
    assert answer.body["status"] == "pending"
    assert answer.body["connection_id"] == connection["connection_id"]
    assert answer.body["connection"]["name"] == "Night shift"
    assert answer.body["decided_at"] is None and answer.body["expires_at"] is None
    assert [r["driver_id"] for r in requests_of(connection)] == [DRIVER]


def test_a_private_connection_is_requested_with_its_code_whatever_its_case(organization):
    # Given
    connection = given_connection(organization)
    code = connection["code"]

    # When
    answer = request_membership(connection, code=f"{code[:5].lower()}-{code[5:]}")

    # Then
    assert answer.status == 201
    assert answer.body["status"] == "pending"


@pytest.mark.parametrize("code", [None, "", "WRONGCODE1"], ids=["missing", "empty", "wrong"])
def test_a_private_connection_without_its_right_code_answers_like_one_that_does_not_exist(organization, code):
    # Given
    connection = given_connection(organization)
    body = {"answers": {}} if code is None else {"answers": {}, "code": code}

    # When
    driver = f"driver-with-{code}-code"
    answer = request_membership(connection, driver, body=body)
    unknown = as_driver("POST", "/connections/no-such-connection/memberships", sub=driver, body=body)

    # Then
    assert answer.status == 404
    assert answer.body == unknown.body
    assert requests_of(connection) == []


def test_an_auto_approved_connection_makes_the_driver_a_member_at_once(organization):
    # Given
    connection = given_connection(organization, public=True, approval_mode="auto")

    # When
    answer = request_membership(connection)

    # Then
    assert answer.status == 201
    assert answer.body["status"] == "active"
    assert answer.body["decided_at"] is not None
    assert answer.body["expires_at"] is None
    (member,) = requests_of(connection, "active")
    assert member["decided_by"] == "automatic"
    assert requests_of(connection) == []


def test_asking_again_while_pending_returns_the_same_request_without_a_duplicate(organization):
    # Given
    connection = given_connection(organization, public=True)
    first = given_pending(connection)

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 200
    assert again.body == first
    assert len(requests_of(connection)) == 1


def test_asking_again_while_active_returns_the_membership_unchanged(organization):
    # Given
    connection = given_connection(organization, public=True)
    given_active(connection)
    before = my_membership(connection).body

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 200
    assert again.body == before
    assert again.body["status"] == "active"
    assert len(requests_of(connection, "active")) == 1
    assert requests_of(connection) == []


def test_a_denied_driver_may_ask_again_and_is_pending_without_the_old_message(organization):
    # Given
    connection = given_connection(organization, public=True)
    given_pending(connection)
    assert decide(connection, DRIVER, "deny", body={"message": "Badge expired"}).status == 200

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 201
    assert again.body["status"] == "pending"
    assert again.body["message"] is None
    assert [r["driver_id"] for r in requests_of(connection)] == [DRIVER]
    assert requests_of(connection, "denied") == []


def test_a_disabled_connection_takes_no_new_requests(organization):
    # Given
    connection = given_connection(organization, public=True)
    assert as_admin("PATCH", admin_path(connection), body={"enabled": False}).status == 200

    # When
    answer = request_membership(connection)

    # Then
    assert answer.status == 404
    assert answer.body == as_driver("POST", "/connections/no-such-id/memberships", body={}).body
    assert requests_of(connection) == []


def test_a_pending_driver_asking_again_after_the_connection_was_disabled_keeps_the_request(organization):
    # Given
    connection = given_connection(organization, public=True)
    pending = given_pending(connection)
    assert as_admin("PATCH", admin_path(connection), body={"enabled": False}).status == 200

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 200
    assert again.body["status"] == "pending"
    assert again.body["requested_at"] == pending["requested_at"]


def test_a_denied_driver_cannot_ask_again_once_the_connection_is_disabled(organization):
    # Given
    connection = given_connection(organization, public=True)
    given_pending(connection)
    assert decide(connection, DRIVER, "deny").status == 200
    assert as_admin("PATCH", admin_path(connection), body={"enabled": False}).status == 200

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 404
    assert my_membership(connection).body["status"] == "denied"


def test_a_request_for_an_unknown_connection_is_404(organization):
    # When
    answer = as_driver("POST", "/connections/no-such-connection/memberships", body={"answers": {}})

    # Then
    assert answer.status == 404
    assert answer.error == "not_found"


def test_a_removed_driver_cannot_rejoin_a_private_connection_without_its_code(organization):
    # Given: an auto-approved private connection; the admin removes the driver and changes the code
    connection = given_connection(organization, approval_mode="auto", code="OLDCODE01")
    assert request_membership(connection).body["status"] == "active"
    assert decide(connection, DRIVER, "remove").status == 200
    assert as_admin("PATCH", admin_path(connection), body={"code": "NEWCODE01"}).status == 200

    # When: the driver asks again without the code
    answer = request_membership(connection, body={"answers": {}})

    # Then
    assert answer.status == 404
    assert my_membership(connection).body["status"] == "removed"
