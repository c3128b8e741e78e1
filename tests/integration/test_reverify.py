"""Connections that make members confirm again every N days: the membership expires, and the driver asks
again. The clock cannot be moved 30 days ahead, so an expiry is made by moving the stored date back."""

from datetime import UTC, datetime, timedelta

from tests.support.memberships import (
    DRIVER,
    admin_path,
    as_admin,
    as_driver,
    decide,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    my_memberships,
    request_membership,
    requests_of,
    set_expires_at,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def days_ahead(text: str) -> float:
    return (at(text) - datetime.now(UTC)) / timedelta(days=1)


def test_an_approved_membership_expires_after_the_connections_reverify_days():
    # Given
    connection = given_connection(given_organization(), public=True, reverify_days=30)
    given_pending(connection)

    # When
    approved = decide(connection, DRIVER, "approve")

    # Then
    assert approved.status == 200
    assert 29.99 < days_ahead(approved.body["expires_at"]) <= 30
    mine = my_membership(connection).body
    assert mine["status"] == "active"
    assert mine["expires_at"] == approved.body["expires_at"]


def test_an_auto_approved_membership_expires_too():
    # When
    connection = given_connection(given_organization(), public=True, approval_mode="auto", reverify_days=7)
    answer = request_membership(connection)

    # Then
    assert answer.body["status"] == "active"
    assert 6.99 < days_ahead(answer.body["expires_at"]) <= 7


def test_a_membership_past_its_date_is_expired_for_the_driver_and_the_driver_may_ask_again():
    # Given
    connection = given_connection(given_organization(), public=True, reverify_days=30)
    given_pending(connection)
    assert decide(connection, DRIVER, "approve").status == 200
    set_expires_at(connection["connection_id"], DRIVER, datetime.now(UTC) - timedelta(minutes=1))

    # When
    mine = my_membership(connection)
    listed = my_memberships()

    # Then
    assert mine.status == 200
    assert mine.body["status"] == "expired"
    assert [m["status"] for m in listed] == ["expired"]

    # When
    again = request_membership(connection)

    # Then
    assert again.status == 201
    assert again.body["status"] == "pending"
    assert again.body["expires_at"] is None
    assert [r["driver_id"] for r in requests_of(connection)] == [DRIVER]


def test_an_expired_membership_cannot_be_approved_removed_or_left():
    # Given
    connection = given_connection(given_organization(), public=True, reverify_days=30)
    given_pending(connection)
    assert decide(connection, DRIVER, "approve").status == 200
    set_expires_at(connection["connection_id"], DRIVER, datetime.now(UTC) - timedelta(minutes=1))

    # When
    approve = decide(connection, DRIVER, "approve")
    remove = decide(connection, DRIVER, "remove")
    leave = as_driver("DELETE", f"/me/memberships/{connection['connection_id']}")

    # Then
    assert approve.status == 409 and approve.error == "membership_expired"
    assert remove.status == 409 and remove.error == "membership_expired"
    assert leave.status == 404 and leave.error == "not_found"
    assert my_membership(connection).body["status"] == "expired"


def test_an_active_member_who_asks_again_confirms_and_gets_a_new_date():
    # Given
    connection = given_connection(given_organization(), public=True, approval_mode="auto", reverify_days=30)
    assert request_membership(connection).status == 201
    set_expires_at(connection["connection_id"], DRIVER, datetime.now(UTC) + timedelta(days=2))

    # When
    confirmed = request_membership(connection)

    # Then
    assert confirmed.status == 201
    assert confirmed.body["status"] == "active"
    assert 29.99 < days_ahead(confirmed.body["expires_at"]) <= 30


def test_a_membership_of_a_connection_without_reverification_never_expires():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_pending(connection)

    # When
    approved = decide(connection, DRIVER, "approve")

    # Then
    assert approved.body["expires_at"] is None
    assert my_membership(connection).body["expires_at"] is None


def test_an_expired_member_is_listed_as_expired_for_the_admins_not_as_a_member():
    # Given
    connection = given_connection(given_organization(), public=True, reverify_days=30)
    given_pending(connection)
    assert decide(connection, DRIVER, "approve").status == 200
    set_expires_at(connection["connection_id"], DRIVER, datetime.now(UTC) - timedelta(minutes=1))

    # When
    expired = requests_of(connection, "expired")
    members = as_admin("GET", admin_path(connection, "/members")).body["items"]

    # Then
    assert [r["driver_id"] for r in expired] == [DRIVER]
    assert members == []
