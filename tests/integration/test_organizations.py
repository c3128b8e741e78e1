"""Organizations and their admins: admins are people signed in with a verified email address."""

from tests.support.memberships import ADA, BOB, EVE, as_admin, given_admin, given_organization


def admin_emails(organization_id: str, as_: str = ADA) -> list[str]:
    answer = as_admin("GET", f"/organizations/{organization_id}/admins", email=as_)
    assert answer.status == 200, answer.body
    return sorted(a["email"] for a in answer.body)


def my_organization_names(email: str) -> list[str]:
    answer = as_admin("GET", "/organizations", email=email)
    assert answer.status == 200, answer.body
    return [o["name"] for o in answer.body]


def test_a_verified_user_creates_an_organization_and_becomes_its_only_admin():
    # When
    created = as_admin("POST", "/organizations", body={"name": "  Fleet One  "})

    # Then
    assert created.status == 201
    assert created.body["name"] == "Fleet One"
    organization_id = created.body["organization_id"]
    fetched = as_admin("GET", f"/organizations/{organization_id}")
    assert fetched.status == 200
    assert fetched.body == created.body
    assert admin_emails(organization_id) == [ADA]
    assert my_organization_names(ADA) == ["Fleet One"]


def test_an_unverified_email_cannot_create_an_organization():
    # When
    answer = as_admin("POST", "/organizations", verified=False, body={"name": "Fleet One"})

    # Then
    assert answer.status == 403
    assert answer.error == "forbidden"
    assert my_organization_names(ADA) == []


def test_my_organizations_lists_only_those_i_administer_sorted_by_name():
    # Given
    given_organization("zebra fleet", admin=ADA)
    given_organization("Alpha fleet", admin=ADA)
    given_organization("Eve's fleet", admin=EVE)

    # When / Then
    assert my_organization_names(ADA) == ["Alpha fleet", "zebra fleet"]
    assert my_organization_names(EVE) == ["Eve's fleet"]


def test_an_unverified_caller_administers_nothing_even_with_an_admins_address():
    # Given
    organization_id = given_organization()

    # When
    listed = as_admin("GET", "/organizations", verified=False)
    fetched = as_admin("GET", f"/organizations/{organization_id}", verified=False)

    # Then
    assert listed.status == 200 and listed.body == []
    assert fetched.status == 404


def test_a_stranger_gets_404_for_an_organization_exactly_like_for_one_that_does_not_exist():
    # Given
    organization_id = given_organization()

    # When
    stranger = as_admin("GET", f"/organizations/{organization_id}", email=EVE)
    missing = as_admin("GET", "/organizations/no-such-organization", email=EVE)

    # Then
    assert stranger.status == 404
    assert stranger.body == missing.body


def test_an_admin_adds_another_admin_who_then_administers_the_organization():
    # Given
    organization_id = given_organization()

    # When
    added = as_admin(
        "POST", f"/organizations/{organization_id}/admins", body={"email": " Bob@Fleet.Example "}
    )

    # Then
    assert added.status == 201
    assert added.body["email"] == BOB
    assert added.body["added_by"] == ADA
    assert admin_emails(organization_id) == [ADA, BOB]
    assert as_admin("GET", f"/organizations/{organization_id}", email=BOB).status == 200
    assert my_organization_names(BOB) == ["Fleet One"]


def test_the_admins_list_shows_who_has_signed_in_with_their_address():
    # Given Ada's organization, and Bob added to it
    organization_id = given_organization()
    given_admin(organization_id, BOB)

    def signed_in() -> dict[str, bool]:
        answer = as_admin("GET", f"/organizations/{organization_id}/admins")
        return {a["email"]: a["signed_in_at"] is not None for a in answer.body}

    # Then Ada has (she created it), Bob not yet: no email with drivers' details goes to him
    assert signed_in() == {ADA: True, BOB: False}
    # When Bob signs in with that address and opens the organization, it is recorded, once
    assert as_admin("GET", f"/organizations/{organization_id}", email=BOB).status == 200
    first = {
        a["email"]: a["signed_in_at"]
        for a in as_admin("GET", f"/organizations/{organization_id}/admins").body
    }
    assert signed_in() == {ADA: True, BOB: True}
    assert as_admin("GET", f"/organizations/{organization_id}/admins", email=BOB).status == 200
    again = {
        a["email"]: a["signed_in_at"]
        for a in as_admin("GET", f"/organizations/{organization_id}/admins").body
    }
    assert again == first


def test_adding_someone_who_is_already_an_admin_is_409_already_admin():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)

    # When
    again = as_admin("POST", f"/organizations/{organization_id}/admins", body={"email": "BOB@fleet.example"})
    myself = as_admin("POST", f"/organizations/{organization_id}/admins", body={"email": ADA})

    # Then
    assert again.status == 409 and again.error == "already_admin"
    assert myself.status == 409 and myself.error == "already_admin"
    assert admin_emails(organization_id) == [ADA, BOB]


def test_an_invalid_admin_email_is_422_with_the_field():
    # Given
    organization_id = given_organization()

    # When
    answer = as_admin("POST", f"/organizations/{organization_id}/admins", body={"email": "not-an-address"})

    # Then
    assert answer.status == 422
    assert "email" in answer.body["fields"]


def test_a_removed_admin_loses_access_to_the_organization():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)

    # When
    removed = as_admin("DELETE", f"/organizations/{organization_id}/admins/{BOB}")

    # Then
    assert removed.status == 200
    assert removed.body == {"removed": BOB}
    assert admin_emails(organization_id) == [ADA]
    assert as_admin("GET", f"/organizations/{organization_id}", email=BOB).status == 404
    assert as_admin("GET", f"/organizations/{organization_id}/admins", email=BOB).status == 404
    assert as_admin("GET", f"/organizations/{organization_id}/connections", email=BOB).status == 404
    assert my_organization_names(BOB) == []


def test_an_admin_may_remove_themselves_while_another_admin_remains():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)

    # When
    answer = as_admin("DELETE", f"/organizations/{organization_id}/admins/{ADA}")

    # Then
    assert answer.status == 200
    assert admin_emails(organization_id, as_=BOB) == [BOB]
    assert as_admin("GET", f"/organizations/{organization_id}").status == 404


def test_removing_the_last_admin_is_409_last_admin():
    # Given
    organization_id = given_organization()

    # When
    answer = as_admin("DELETE", f"/organizations/{organization_id}/admins/{ADA}")

    # Then
    assert answer.status == 409
    assert answer.error == "last_admin"
    assert admin_emails(organization_id) == [ADA]


def test_the_last_admin_cannot_be_removed_after_the_others_are():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)
    assert as_admin("DELETE", f"/organizations/{organization_id}/admins/{BOB}").status == 200

    # When
    answer = as_admin("DELETE", f"/organizations/{organization_id}/admins/{ADA}")

    # Then
    assert answer.status == 409 and answer.error == "last_admin"


def test_removing_someone_who_is_not_an_admin_is_404():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)

    # When
    answer = as_admin("DELETE", f"/organizations/{organization_id}/admins/nobody@fleet.example")

    # Then
    assert answer.status == 404
    assert admin_emails(organization_id) == [ADA, BOB]


def test_a_stranger_can_neither_see_nor_change_the_admins():
    # Given
    organization_id = given_organization()

    # When
    listed = as_admin("GET", f"/organizations/{organization_id}/admins", email=EVE)
    added = as_admin("POST", f"/organizations/{organization_id}/admins", email=EVE, body={"email": EVE})
    removed = as_admin("DELETE", f"/organizations/{organization_id}/admins/{ADA}", email=EVE)

    # Then
    assert [listed.status, added.status, removed.status] == [404, 404, 404]
    assert admin_emails(organization_id) == [ADA]


def test_an_admin_whose_address_holds_a_percent_sign_is_removed_by_that_address():
    # Given: `%41` is legal in an address; the path arrives decoded once, as API Gateway hands it
    organization_id = given_organization()
    odd = "ops%41desk@fleet.example"
    given_admin(organization_id, odd)

    # When: the client percent-encodes the address, as it must
    removed = as_admin("DELETE", f"/organizations/{organization_id}/admins/ops%2541desk%40fleet.example")

    # Then: the address itself is removed, not "opsAdesk@fleet.example"
    assert removed.status == 200, removed.body
    assert removed.body == {"removed": odd}
    assert admin_emails(organization_id) == [ADA]


def test_an_admin_address_with_a_control_character_is_refused():
    # When
    answer = as_admin("POST", "/organizations", body={"name": "Fleet One"})
    organization_id = answer.body["organization_id"]
    added = as_admin(
        "POST", f"/organizations/{organization_id}/admins", body={"email": "\u000eops@fleet.example"}
    )

    # Then
    assert added.status == 422
    assert "email" in added.body["fields"]
    assert admin_emails(organization_id) == [ADA]
