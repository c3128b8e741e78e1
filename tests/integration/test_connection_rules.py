"""Creating connections: codes (generated, chosen, taken, malformed), approval rules and questions, and
who may see a connection.

The tests share one organization (SHARED_TABLES); codes chosen here are unique within the module."""

import pytest

from tests.support.memberships import (
    ADA,
    CODE_ALPHABET,
    EVE,
    admin_path,
    as_admin,
    as_driver,
    given_connection,
    given_organization,
    names,
)

SHARED_TABLES = True


def create(organization_id: str, **fields):
    return as_admin(
        "POST", f"/organizations/{organization_id}/connections", body={"name": "Night shift", **fields}
    )


def test_a_connection_without_a_chosen_code_gets_a_generated_one_without_look_alike_characters(organization):
    # When
    answer = create(organization, description="Chargers at the depot")

    # Then
    assert answer.status == 201
    code = answer.body["code"]
    assert len(code) == 10
    assert set(code) <= CODE_ALPHABET
    assert not set(code) & set("0O1IL")
    assert answer.body["organization"] == {"organization_id": organization, "name": "Fleet One"}
    assert answer.body["description"] == "Chargers at the depot"
    assert answer.body["public"] is False and answer.body["enabled"] is True
    assert answer.body["approval_mode"] == "manual"
    assert as_admin("GET", admin_path(answer.body)).body == answer.body


def test_generated_codes_differ(organization):
    # When
    codes = {create(organization, name=f"Generated {i}").body["code"] for i in range(3)}

    # Then
    assert len(codes) == 3


def test_a_chosen_code_is_normalized_to_upper_case_and_found_whatever_the_case(organization):
    # When
    answer = create(organization, code="night-Shift7")

    # Then
    assert answer.status == 201
    assert answer.body["code"] == "NIGHTSHIFT7"
    found = as_driver("GET", "/connections/by-code/nightshift7")
    assert found.status == 200
    assert found.body["connection_id"] == answer.body["connection_id"]


def test_a_chosen_code_that_is_taken_is_409_code_taken_whatever_its_case_and_organization(organization):
    # Given
    given_connection(organization, code="DEPOT2024")
    eves_organization = given_organization("Eve's fleet", admin=EVE)

    # When
    answer = as_admin(
        "POST",
        f"/organizations/{eves_organization}/connections",
        email=EVE,
        body={"name": "X", "code": "depot2024"},
    )

    # Then
    assert answer.status == 409
    assert answer.error == "code_taken"
    assert answer.body["fields"] == {"code": "already in use"}
    assert as_admin("GET", f"/organizations/{eves_organization}/connections", email=EVE).body["items"] == []


@pytest.mark.parametrize("code", ["abc12", "A" * 21, "abc$def1", "ÄBCDEFG", "      "])
def test_a_chosen_code_of_the_wrong_shape_is_422_with_the_code_field(organization, code):
    # When
    answer = create(organization, code=code)

    # Then
    assert answer.status == 422
    assert answer.error == "invalid_input"
    assert list(answer.body["fields"]) == ["code"]


def test_approval_by_email_domain_needs_at_least_one_domain(organization):
    # When
    without = create(organization, approval_mode="email_domain")
    with_domains = create(
        organization, approval_mode="email_domain", email_domains=["Fleet.Example", "b.example"]
    )

    # Then
    assert without.status == 422
    assert list(without.body["fields"]) == ["email_domains"]
    assert with_domains.status == 201
    assert with_domains.body["email_domains"] == ["fleet.example", "b.example"]


def test_two_questions_with_the_same_id_are_422(organization):
    # Given
    questions = [{"id": "employee_id", "label": "Employee id"}, {"id": "employee_id", "label": "Badge"}]

    # When
    answer = create(organization, questions=questions)

    # Then
    assert answer.status == 422
    assert answer.body["fields"] == {"questions.employee_id": "duplicate id"}


def test_a_question_whose_pattern_is_not_a_regular_expression_is_422(organization):
    # When
    answer = create(organization, questions=[{"id": "badge", "label": "Badge", "pattern": "([A-Z"}])

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["questions.0"]
    assert "regular expression" in answer.body["fields"]["questions.0"]


@pytest.mark.parametrize(
    "question",
    [
        {"id": "Badge", "label": "Upper-case id"},
        {"id": "size", "label": "Size", "kind": "choice"},
        {"id": "size", "label": "Size", "kind": "text", "choices": ["S"]},
        {"id": "size", "label": "Size", "kind": "colour"},
        {"id": "size", "label": ""},
    ],
    ids=["bad-id", "choice-without-choices", "choices-on-text", "unknown-kind", "no-label"],
)
def test_an_inconsistent_question_is_422(organization, question):
    # When
    answer = create(organization, questions=[question])

    # Then
    assert answer.status == 422
    assert answer.body["fields"]
    assert all(field.startswith("questions.0") for field in answer.body["fields"])


def test_a_question_of_each_kind_is_kept_as_given(organization):
    # Given
    questions = [
        {"id": "employee_id", "label": "Employee id", "pattern": "E[0-9]{4}"},
        {"id": "work_email", "label": "Work email", "kind": "email", "required": False},
        {"id": "vehicles", "label": "Vehicles", "kind": "number"},
        {"id": "shift", "label": "Shift", "kind": "choice", "choices": ["day", "night"]},
    ]

    # When
    answer = create(organization, public=True, questions=questions)

    # Then
    assert answer.status == 201
    shown = as_driver("GET", f"/connections/{answer.body['connection_id']}").body["questions"]
    assert [(q["id"], q["kind"], q["required"]) for q in shown] == [
        ("employee_id", "text", True),
        ("work_email", "email", False),
        ("vehicles", "number", True),
        ("shift", "choice", True),
    ]
    assert shown[0]["pattern"] == "E[0-9]{4}"
    assert shown[3]["choices"] == ["day", "night"]


def test_the_organizations_connections_are_listed_by_name_page_by_page():
    # Given
    organization_id = given_organization("Listing fleet")
    for name in ["Charlie", "alpha", "Bravo"]:
        given_connection(organization_id, name=name)
    path = f"/organizations/{organization_id}/connections"

    # When
    first = as_admin("GET", path, query={"limit": 2})
    rest = as_admin("GET", path, query={"limit": 2, "cursor": first.body["next_cursor"]})

    # Then
    assert names(first.body["items"]) == ["alpha", "Bravo"]
    assert names(rest.body["items"]) == ["Charlie"]
    assert rest.body["next_cursor"] is None
    assert all(len(item["code"]) == 10 for item in first.body["items"] + rest.body["items"])


def test_choosing_a_code_and_asking_for_a_generated_one_at_once_is_422(organization):
    # Given
    connection = given_connection(organization)

    # When
    answer = as_admin("PATCH", admin_path(connection), body={"code": "BOTHWAYS1", "regenerate_code": True})

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["code"]
    assert as_admin("GET", admin_path(connection)).body["code"] == connection["code"]


def test_another_organizations_admin_gets_404_for_the_connection(organization):
    # Given
    connection = given_connection(organization, name="Not Eve's")
    eves_organization = given_organization("Eve's other fleet", admin=EVE)
    through_own = f"/organizations/{eves_organization}/connections/{connection['connection_id']}"

    # When
    answers = [
        as_admin("GET", admin_path(connection), email=EVE),
        as_admin("PATCH", admin_path(connection), email=EVE, body={"name": "Hijacked"}),
        as_admin("GET", through_own, email=EVE),
        as_admin("PATCH", through_own, email=EVE, body={"name": "Hijacked"}),
        as_admin("GET", through_own + "/requests", email=EVE),
        as_admin("GET", through_own + "/members", email=EVE),
    ]

    # Then
    assert [a.status for a in answers] == [404] * 6
    assert as_admin("GET", admin_path(connection), email=ADA).body["name"] == "Not Eve's"
