"""POST routes honour an Idempotency-Key header: a retry with the same key gets the first answer and
changes nothing; the same key with another body is refused."""

from tests.support.memberships import (
    ADA,
    BOB,
    DRIVER,
    admin_path,
    as_admin,
    as_driver,
    given_connection,
    given_organization,
    given_pending,
    my_membership,
    requests_of,
)


def create_organization(name: str = "Fleet One", key: str | None = None, email: str = ADA):
    headers = {"Idempotency-Key": key} if key else None
    return as_admin("POST", "/organizations", email=email, body={"name": name}, headers=headers)


def organization_names(email: str = ADA) -> list[str]:
    return [o["name"] for o in as_admin("GET", "/organizations", email=email).body]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing_more():
    # Given
    first = create_organization(key="retry-1")

    # When
    retry = create_organization(key="retry-1")

    # Then
    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert organization_names() == ["Fleet One"]


def test_the_same_key_with_another_body_is_422_idempotency_key_reused():
    # Given
    create_organization("Fleet One", key="retry-2")

    # When
    answer = create_organization("Another fleet", key="retry-2")

    # Then
    assert answer.status == 422
    assert answer.error == "idempotency_key_reused"
    assert organization_names() == ["Fleet One"]


def test_without_a_key_every_post_creates_anew():
    # When
    first = create_organization()
    second = create_organization()

    # Then
    assert first.status == second.status == 201
    assert first.body["organization_id"] != second.body["organization_id"]
    assert organization_names() == ["Fleet One", "Fleet One"]


def test_a_key_is_per_caller():
    # When
    adas = create_organization("Ada's fleet", key="shared-key")
    bobs = create_organization("Bob's fleet", key="shared-key", email=BOB)

    # Then
    assert adas.status == bobs.status == 201
    assert organization_names(ADA) == ["Ada's fleet"]
    assert organization_names(BOB) == ["Bob's fleet"]


def test_a_key_longer_than_100_characters_is_422():
    # When
    answer = create_organization(key="k" * 101)

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["Idempotency-Key"]
    assert organization_names() == []


def test_a_refused_request_does_not_use_up_its_key():
    # Given: an unverified address cannot create an organization
    refused = as_admin(
        "POST", "/organizations", verified=False, body={"name": "Fleet One"}, headers={"Idempotency-Key": "k"}
    )
    assert refused.status == 403

    # When: the same person, now verified, retries with the same key
    retried = create_organization(key="k")

    # Then
    assert retried.status == 201
    assert organization_names() == ["Fleet One"]


def test_a_retried_approval_answers_like_the_first_instead_of_409():
    # Given
    connection = given_connection(given_organization(), public=True)
    given_pending(connection)
    path = admin_path(connection, f"/requests/{DRIVER}/approve")
    first = as_admin("POST", path, headers={"Idempotency-Key": "approve-1"})

    # When
    retry = as_admin("POST", path, headers={"Idempotency-Key": "approve-1"})
    without_key = as_admin("POST", path)

    # Then
    assert first.status == retry.status == 200
    assert retry.body == first.body
    assert without_key.status == 409


def test_a_retried_membership_request_gets_the_first_answer():
    # Given
    connection = given_connection(given_organization(), public=True)
    path = f"/connections/{connection['connection_id']}/memberships"
    first = as_driver("POST", path, body={"answers": {}}, headers={"Idempotency-Key": "join-1"})

    # When
    retry = as_driver("POST", path, body={"answers": {}}, headers={"Idempotency-Key": "join-1"})

    # Then
    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert len(requests_of(connection)) == 1
    assert my_membership(connection).body["requested_at"] == first.body["requested_at"]


def test_a_retried_connection_creation_creates_one_connection_with_one_code():
    # Given
    organization_id = given_organization()
    path = f"/organizations/{organization_id}/connections"
    first = as_admin("POST", path, body={"name": "Night shift"}, headers={"Idempotency-Key": "conn-1"})

    # When
    retry = as_admin("POST", path, body={"name": "Night shift"}, headers={"Idempotency-Key": "conn-1"})

    # Then
    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert len(as_admin("GET", path).body["items"]) == 1
