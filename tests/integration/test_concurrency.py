"""Two people changing one membership at the same moment: exactly one of them wins, the other gets a
409 that says what happened, and what is stored is the winner's change. Likewise for a request sent twice
at once with the same Idempotency-Key. Each race is run ROUNDS times on fresh requests. And DynamoDB's own
contention (a transaction refused for another under way, a throttled table) asks the caller to retry."""

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from functions.request_connection.app import handler as driver_handler
from tests.support.api import call
from tests.support.memberships import (
    BOB,
    DRIVER,
    as_admin,
    as_driver,
    at_the_same_moment,
    decide,
    given_admin,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    request_membership,
    stored_status,
)

ROUNDS = 10


@pytest.fixture
def connection() -> dict:
    organization_id = given_organization()
    given_admin(organization_id, BOB)
    return given_connection(organization_id, public=True)


@pytest.mark.parametrize(
    ("first", "second"),
    [("approve", "deny"), ("approve", "approve"), ("deny", "deny")],
)
def test_two_admins_deciding_the_same_request_at_once_give_exactly_one_winner(connection, first, second):
    for round_ in range(ROUNDS):
        # Given
        driver = f"racing-driver-{round_}"
        given_pending(connection, driver)

        # When
        ada, bob = at_the_same_moment(
            lambda d=driver: decide(connection, d, first),
            lambda d=driver: decide(connection, d, second, admin=BOB),
        )

        # Then
        assert sorted([ada.status, bob.status]) == [200, 409], (round_, ada.body, bob.body)
        winner, loser = (ada, bob) if ada.status == 200 else (bob, ada)
        assert stored_status(connection["connection_id"], driver) == winner.body["status"]
        assert loser.error == f"membership_{winner.body['status']}"
        assert loser.body["message"]


def test_an_approval_racing_the_drivers_withdrawal_has_exactly_one_winner(connection):
    """DELETE /me/memberships withdraws a pending request and leaves an active membership, so when the
    approval is written before the driver's request reads the membership, the driver leaves (both 200).
    What must never happen is both writes succeeding on the pending request."""
    for round_ in range(ROUNDS):
        # Given
        driver = f"withdrawing-driver-{round_}"
        given_pending(connection, driver)

        # When
        approval, withdrawal = at_the_same_moment(
            lambda d=driver: decide(connection, d, "approve"),
            lambda d=driver: as_driver("DELETE", f"/me/memberships/{connection['connection_id']}", sub=d),
        )

        # Then
        if approval.status == withdrawal.status == 200:
            # The approval was written before the driver read the request: ending it was leaving.
            assert (approval.body["status"], withdrawal.body["status"]) == ("active", "left"), round_
            final = "left"
        else:
            assert sorted([approval.status, withdrawal.status]) == [200, 409], (
                approval.body,
                withdrawal.body,
            )
            winner, loser = (approval, withdrawal) if approval.status == 200 else (withdrawal, approval)
            assert winner.body["status"] in ("active", "withdrawn")
            assert loser.body["message"]
            final = winner.body["status"]
        assert stored_status(connection["connection_id"], driver) == final


def test_two_retries_with_the_same_idempotency_key_at_once_create_one_organization():
    for round_ in range(ROUNDS):
        # Given
        key = f"double-click-{round_}"

        def create(key=key):
            return as_admin(
                "POST", "/organizations", body={"name": "Fleet One"}, headers={"Idempotency-Key": key}
            )

        # When
        first, second = at_the_same_moment(create, create)

        # Then
        assert 201 in (first.status, second.status), (first.body, second.body)
        for answer in (first, second):
            assert answer.status in (201, 409), answer.body
            if answer.status == 409:
                assert answer.error == "request_in_progress"
        created = {a.body["organization_id"] for a in (first, second) if a.status == 201}
        assert len(created) == 1
    assert len(as_admin("GET", "/organizations").body) == ROUNDS


def dynamodb_answering(monkeypatch, operation: str, error: dict, reasons: list | None = None) -> None:
    """DynamoDB answering `operation` with `error` (what moto, one request at a time, never does)."""
    make_api_call = BaseClient._make_api_call

    def answer(client, name, params):
        if name != operation:
            return make_api_call(client, name, params)
        response = {"Error": error, **({"CancellationReasons": reasons} if reasons else {})}
        raise ClientError(response, name)

    monkeypatch.setattr(BaseClient, "_make_api_call", answer)


def test_dynamodb_refusing_a_transaction_for_contention_answers_409_to_try_again(monkeypatch):
    # Given a private connection, and DynamoDB refusing the request's transaction (the membership and the
    # try of the code) because another transaction is under way on the membership
    connection = given_connection(given_organization(), code="PRIVATE01")
    conflict = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    canceled = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
    dynamodb_answering(
        monkeypatch, "TransactWriteItems", canceled, [conflict, {"Code": "None"}, {"Code": "None"}]
    )

    # When a driver asks to join with its code
    answer = request_membership(connection)

    # Then a 409 that says to try again, not a 500, and nothing written
    monkeypatch.undo()
    assert answer.status == 409 and answer.body["error"] == "busy", answer.body
    assert answer.headers["retry-after"] == "1"
    assert my_membership(connection).status == 404


def test_a_throttled_table_answers_503_to_try_again(monkeypatch):
    # Given a table that DynamoDB throttles
    connection = given_connection(given_organization(), public=True)
    dynamodb_answering(
        monkeypatch,
        "BatchGetItem",
        {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"},
    )

    # When
    answer = call(
        driver_handler,
        "POST",
        f"/connections/{connection['connection_id']}/memberships",
        sub=DRIVER,
        body={"answers": {}},
    )

    # Then
    monkeypatch.undo()
    assert answer.status == 503 and answer.body["error"] == "busy", answer.body
    assert answer.headers["retry-after"] == "1"
