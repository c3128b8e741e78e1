"""The answers a driver gives with a request, and approval by email domain.

All tests read one world built once (SHARED_TABLES); each writes only the membership of its own driver."""

import itertools

import pytest

from tests.support.memberships import (
    given_connection,
    given_organization,
    request_membership,
    requests_of,
)

SHARED_TABLES = True

QUESTIONS = [
    {"id": "employee_id", "label": "Employee id", "pattern": "E[0-9]{4}"},
    {"id": "work_email", "label": "Work email", "kind": "email"},
    {"id": "vehicles", "label": "Number of vehicles", "kind": "number"},
    {"id": "shift", "label": "Shift", "kind": "choice", "choices": ["day", "night"]},
    {"id": "notes", "label": "Notes", "required": False},
]
GOOD = {"employee_id": "E1234", "work_email": "pat@fleet.example", "vehicles": 3, "shift": "night"}

_drivers = (f"answering-driver-{n}" for n in itertools.count())


def a_new_driver() -> str:
    return next(_drivers)


@pytest.fixture(scope="module")
def questionnaire(shared_tables) -> dict:
    return given_connection(given_organization(), name="Questionnaire", public=True, questions=QUESTIONS)


@pytest.fixture(scope="module")
def by_domain(shared_tables) -> dict:
    return given_connection(
        given_organization("Domain fleet"),
        name="By domain",
        public=True,
        approval_mode="email_domain",
        email_domains=["fleet.example", "partner.example"],
    )


def test_complete_answers_are_stored_as_trimmed_text_and_shown_to_the_admins(questionnaire):
    # Given
    driver = a_new_driver()
    answers = {**GOOD, "employee_id": "  E1234 ", "vehicles": 2.5, "notes": "Van"}

    # When
    answer = request_membership(questionnaire, driver, answers=answers)

    # Then
    assert answer.status == 201
    stored = {"employee_id": "E1234", "work_email": "pat@fleet.example", "vehicles": "2.5", "shift": "night"}
    assert answer.body["answers"] == {**stored, "notes": "Van"}
    (seen,) = [r for r in requests_of(questionnaire) if r["driver_id"] == driver]
    assert seen["answers"] == {**stored, "notes": "Van"}


def test_an_optional_question_may_be_left_out(questionnaire):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers=GOOD)

    # Then
    assert answer.status == 201
    assert "notes" not in answer.body["answers"]


def test_missing_answers_are_422_with_a_message_for_each_required_question(questionnaire):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers={"notes": "only this"})

    # Then
    assert answer.status == 422
    assert answer.error == "invalid_input"
    assert answer.body["fields"] == {
        "answers.employee_id": "Please answer: Employee id",
        "answers.work_email": "Please answer: Work email",
        "answers.vehicles": "Please answer: Number of vehicles",
        "answers.shift": "Please answer: Shift",
    }


def test_a_blank_answer_to_a_required_question_counts_as_missing(questionnaire):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers={**GOOD, "employee_id": "   "})

    # Then
    assert answer.status == 422
    assert answer.body["fields"] == {"answers.employee_id": "Please answer: Employee id"}


@pytest.mark.parametrize(
    ("question", "value", "message_part"),
    [
        ("employee_id", "X1234", "form the organization expects"),
        ("employee_id", "E12345", "form the organization expects"),
        ("work_email", "not an address", "email address"),
        ("vehicles", "three", "number"),
        ("shift", "evening", "day, night"),
        ("notes", "x" * 501, "500"),
    ],
)
def test_a_malformed_answer_is_422_with_a_message_for_that_question(
    questionnaire, question, value, message_part
):
    # Given
    driver = a_new_driver()

    # When
    answer = request_membership(questionnaire, driver, answers={**GOOD, question: value})

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == [f"answers.{question}"]
    assert message_part in answer.body["fields"][f"answers.{question}"]
    assert driver not in [r["driver_id"] for r in requests_of(questionnaire)]


def test_an_answer_to_a_question_that_is_not_asked_is_422(questionnaire):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers={**GOOD, "favourite_colour": "blue"})

    # Then
    assert answer.status == 422
    assert answer.body["fields"] == {"answers.favourite_colour": "This connection asks no such question."}


@pytest.mark.parametrize(
    "answers", [{"employee_id": ["E1234"]}, {"employee_id": None}, {"employee_id": {"a": 1}}, ["E1234"]]
)
def test_answers_that_are_not_plain_values_are_422_naming_the_answer(questionnaire, answers):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers=answers)

    # Then
    assert answer.status == 422
    assert answer.body["fields"]
    assert all(field.startswith("answers") for field in answer.body["fields"])


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1_000"])
def test_a_number_answer_must_be_a_finite_decimal_number(questionnaire, value):
    # When
    answer = request_membership(questionnaire, a_new_driver(), answers={**GOOD, "vehicles": value})

    # Then
    assert answer.status == 422
    assert list(answer.body["fields"]) == ["answers.vehicles"]


@pytest.mark.parametrize(
    ("email", "verified", "code_to"),
    [
        ("pat@fleet.example", True, "pat@fleet.example"),
        ("Pat@FLEET.example", True, "pat@fleet.example"),
        ("pat@partner.example", True, "pat@partner.example"),
        ("pat@fleet.example", False, "pat@fleet.example"),  # the code proves it, not the sign-in
        ("pat@other.example", True, None),
        ("pat@mail.fleet.example", True, None),
        ("pat@notfleet.example", True, None),
    ],
)
def test_email_domain_approval_sends_a_code_to_addresses_in_a_listed_domain_only(
    by_domain, email, verified, code_to
):
    # Given
    driver = a_new_driver()

    # When
    answer = request_membership(by_domain, driver, email=email, email_verified=verified)

    # Then the request is pending, either for the code (notify/test_email_verification.py) or for an admin
    assert answer.status == 201
    assert (answer.body["status"], answer.body["verifying_email"]) == ("pending", code_to)
    (seen,) = [r for r in requests_of(by_domain, "pending") if r["driver_id"] == driver]
    assert seen["driver_email"] == email.lower()
    assert seen["driver_email_verified"] is verified
    assert seen["decided_by"] is None
