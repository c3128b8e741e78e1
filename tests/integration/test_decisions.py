"""An organization's admins decide on requests: list them, approve, deny, remove, many at once.

The tests share one organization (SHARED_TABLES); each makes its own connection."""

import pytest

from tests.support.memberships import (
    ADA,
    BOB,
    DRIVER,
    admin_path,
    as_admin,
    decide,
    given_admin,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    my_memberships,
    requests_of,
)

SHARED_TABLES = True


def decide_many(connection: dict, decisions: list[dict], **kwargs):
    return as_admin(
        "POST", admin_path(connection, "/requests/decisions"), body={"decisions": decisions}, **kwargs
    )


@pytest.fixture
def connection(organization) -> dict:
    return given_connection(organization, public=True, questions=[{"id": "plate", "label": "Plate"}])


def test_pending_requests_are_listed_by_default_in_arrival_order_with_answers_and_email(connection):
    # Given
    given_pending(connection, "first", answers={"plate": "AA-1"}, email="first@drivers.example")
    given_pending(connection, "second", answers={"plate": "BB-2"}, email_verified=False)

    # When
    answer = as_admin("GET", admin_path(connection, "/requests"))

    # Then
    assert answer.status == 200
    first, second = answer.body["items"]
    assert [first["driver_id"], second["driver_id"]] == ["first", "second"]
    assert first["status"] == "pending"
    assert first["answers"] == {"plate": "AA-1"}
    assert first["driver_email"] == "first@drivers.example" and first["driver_email_verified"] is True
    assert second["driver_email_verified"] is False
    assert answer.body["next_cursor"] is None


def test_requests_are_listed_by_status_and_members_are_the_active_ones(connection):
    # Given
    given_pending(connection, "waiting", answers={"plate": "1"})
    given_pending(connection, "approved", answers={"plate": "2"})
    given_pending(connection, "refused", answers={"plate": "3"})
    assert decide(connection, "approved", "approve").status == 200
    assert decide(connection, "refused", "deny").status == 200

    # When
    members = as_admin("GET", admin_path(connection, "/members"))

    # Then
    assert [m["driver_id"] for m in members.body["items"]] == ["approved"]
    assert [r["driver_id"] for r in requests_of(connection)] == ["waiting"]
    assert [r["driver_id"] for r in requests_of(connection, "active")] == ["approved"]
    assert [r["driver_id"] for r in requests_of(connection, "denied")] == ["refused"]
    assert requests_of(connection, "removed") == []


def test_requests_are_paged(connection):
    # Given
    for driver in ["a", "b", "c"]:
        given_pending(connection, driver, answers={"plate": driver})

    # When
    first = as_admin("GET", admin_path(connection, "/requests"), query={"limit": 2})
    rest = as_admin(
        "GET", admin_path(connection, "/requests"), query={"limit": 2, "cursor": first.body["next_cursor"]}
    )

    # Then
    assert [r["driver_id"] for r in first.body["items"]] == ["a", "b"]
    assert [r["driver_id"] for r in rest.body["items"]] == ["c"]


def test_an_unknown_status_is_422(connection):
    # When
    answer = as_admin("GET", admin_path(connection, "/requests"), query={"status": "approved"})

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["status"]


def test_an_admin_approves_a_request_and_the_driver_is_a_member(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "approve")

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "active"
    assert answer.body["decided_by"] == ADA
    assert answer.body["decided_at"] is not None
    assert answer.body["expires_at"] is None
    assert my_membership(connection).body["status"] == "active"


def test_an_admin_denies_with_a_message_that_the_driver_reads(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "deny", body={"message": "  Please use your company badge.  "})

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "denied"
    assert answer.body["message"] == "Please use your company badge."
    mine = my_membership(connection).body
    assert mine["status"] == "denied"
    assert mine["message"] == "Please use your company badge."
    (listed,) = [m for m in my_memberships() if m["connection_id"] == connection["connection_id"]]
    assert listed["message"] == "Please use your company badge."


@pytest.mark.parametrize(
    "body", [None, {}, {"message": None}], ids=["no-body", "empty-object", "null-message"]
)
def test_an_admin_denies_without_a_message(connection, body):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "deny", body=body)

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "denied"
    assert answer.body["message"] is None
    assert my_membership(connection).body["message"] is None


def test_a_denial_message_longer_than_1000_characters_is_422(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "deny", body={"message": "x" * 1001})

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["message"]
    assert my_membership(connection).body["status"] == "pending"


def test_an_admin_removes_a_member(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})
    assert decide(connection, DRIVER, "approve").status == 200

    # When
    answer = decide(connection, DRIVER, "remove")

    # Then
    assert answer.status == 200
    assert answer.body["status"] == "removed"
    assert requests_of(connection, "active") == []
    assert my_membership(connection).body["status"] == "removed"


def test_a_pending_request_cannot_be_removed(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "remove")

    # Then
    assert answer.status == 409
    assert answer.error == "membership_pending"
    assert "approve or deny" in answer.body["message"]


def test_approving_twice_is_409_saying_the_driver_is_already_a_member(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})
    first = decide(connection, DRIVER, "approve")

    # When
    second = decide(connection, DRIVER, "approve")

    # Then
    assert first.status == 200
    assert second.status == 409
    assert second.error == "membership_active"
    assert (
        second.body["message"]
        == "This driver is already an active member (to end the membership, remove the member)."
    )


def test_denying_an_active_member_is_409(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})
    assert decide(connection, DRIVER, "approve").status == 200

    # When
    answer = decide(connection, DRIVER, "deny", body={"message": "too late"})

    # Then
    assert answer.status == 409
    assert answer.error == "membership_active"
    assert my_membership(connection).body["status"] == "active"


@pytest.mark.parametrize("action", ["approve", "deny", "remove"])
def test_deciding_for_a_driver_without_a_request_is_404(connection, action):
    # When
    answer = decide(connection, "nobody", action)

    # Then
    assert answer.status == 404
    assert answer.error == "not_found"


def test_another_admin_of_the_organization_decides_too(connection):
    # Given
    given_admin(connection["organization"]["organization_id"], BOB)
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide(connection, DRIVER, "approve", admin=BOB)

    # Then
    assert answer.status == 200
    assert answer.body["decided_by"] == BOB


def test_many_decisions_at_once_with_a_result_for_each(connection):
    # Given
    for driver in ["to-approve", "to-deny", "already-member"]:
        given_pending(connection, driver, answers={"plate": driver})
    assert decide(connection, "already-member", "approve").status == 200

    # When
    answer = decide_many(
        connection,
        [
            {"driver_id": "to-approve", "decision": "approve"},
            {"driver_id": "to-deny", "decision": "deny", "message": "Not one of ours"},
            {"driver_id": "nobody", "decision": "approve"},
            {"driver_id": "already-member", "decision": "deny"},
        ],
    )

    # Then
    assert answer.status == 200
    results = {r["driver_id"]: r for r in answer.body["results"]}
    assert [r["driver_id"] for r in answer.body["results"]] == [
        "to-approve",
        "to-deny",
        "nobody",
        "already-member",
    ]
    assert results["to-approve"]["ok"] is True and results["to-approve"]["membership"]["status"] == "active"
    assert (
        results["to-deny"]["ok"] is True and results["to-deny"]["membership"]["message"] == "Not one of ours"
    )
    assert results["nobody"] == {
        "driver_id": "nobody",
        "ok": False,
        "membership": None,
        "error": "not_found",
        "message": "This driver has no request or membership in this connection.",
    }
    assert results["already-member"]["ok"] is False
    assert results["already-member"]["error"] == "membership_active"
    assert sorted(r["driver_id"] for r in requests_of(connection, "active")) == [
        "already-member",
        "to-approve",
    ]
    assert my_membership(connection, "to-deny").body["message"] == "Not one of ours"


def test_more_than_100_decisions_at_once_are_422(connection):
    # When
    answer = decide_many(connection, [{"driver_id": f"d{i}", "decision": "approve"} for i in range(101)])

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["decisions"]


@pytest.mark.parametrize(
    "decisions",
    [
        [{"driver_id": DRIVER, "decision": "approve"}, {"driver_id": DRIVER, "decision": "deny"}],
        [],
        [{"driver_id": DRIVER, "decision": "maybe"}],
        [{"driver_id": "", "decision": "approve"}],
    ],
    ids=["duplicate-driver", "empty", "unknown-decision", "empty-driver-id"],
)
def test_an_invalid_bulk_decision_is_422_and_decides_nothing(connection, decisions):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})

    # When
    answer = decide_many(connection, decisions)

    # Then
    assert answer.status == 422
    assert any(field.startswith("decisions") for field in answer.body["fields"])
    assert my_membership(connection).body["status"] == "pending"


def test_another_organizations_admin_cannot_decide(connection):
    # Given
    given_pending(connection, answers={"plate": "AB-1"})
    stranger = "eve@elsewhere.example"
    given_organization("Eve's fleet", admin=stranger)

    # When
    answers = [
        as_admin("GET", admin_path(connection, "/requests"), email=stranger),
        decide(connection, DRIVER, "approve", admin=stranger),
        decide_many(connection, [{"driver_id": DRIVER, "decision": "deny"}], email=stranger),
    ]

    # Then
    assert [a.status for a in answers] == [404, 404, 404]
    assert my_membership(connection).body["status"] == "pending"
