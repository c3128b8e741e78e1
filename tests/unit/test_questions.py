"""Answers to an organization's questions: what is accepted and what each refusal says."""

import time

import pytest
from pydantic import ValidationError

from connections.memberships.questions import Question, check_unique, validate_answers
from connections.platform.errors import InvalidInput

EMPLOYEE = Question(id="employee_id", label="Employee id", pattern=r"E\d{4}")
PLATE = Question(id="plate", label="Licence plate", required=False)
WORK_EMAIL = Question(id="work_email", label="Work email", kind="email")
SEATS = Question(id="seats", label="Seats", kind="number")
SITE = Question(id="site", label="Site", kind="choice", choices=["North", "South"])
ALL = [EMPLOYEE, PLATE, WORK_EMAIL, SEATS, SITE]
GOOD = {"employee_id": "E1234", "work_email": "a@b.co", "seats": 4, "site": "North"}


def refusal(questions, answers) -> dict:
    with pytest.raises(InvalidInput) as refused:
        validate_answers(questions, answers)
    assert refused.value.status == 422
    return refused.value.fields


def test_good_answers_are_kept_as_trimmed_strings():
    assert validate_answers(ALL, {**GOOD, "plate": "  AB-123 "}) == {
        "employee_id": "E1234",
        "work_email": "a@b.co",
        "seats": "4",
        "site": "North",
        "plate": "AB-123",
    }


def test_optional_question_may_be_left_out():
    assert "plate" not in validate_answers(ALL, GOOD)


def test_every_missing_required_answer_is_named():
    assert refusal(ALL, {}) == {
        "answers.employee_id": "Please answer: Employee id",
        "answers.work_email": "Please answer: Work email",
        "answers.seats": "Please answer: Seats",
        "answers.site": "Please answer: Site",
    }


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("employee_id", "X1", "form the organization expects"),
        ("work_email", "not-an-email", "email address"),
        ("seats", "four", "number"),
        ("site", "East", "North, South"),
        ("employee_id", "E" * 501, "At most 500"),
    ],
)
def test_malformed_answer_says_what_is_expected(field, value, says):
    fields = refusal(ALL, {**GOOD, field: value})
    assert list(fields) == [f"answers.{field}"]
    assert says in fields[f"answers.{field}"]


def test_an_answer_to_no_question_is_refused():
    assert refusal(ALL, {**GOOD, "salary": "1"}) == {
        "answers.salary": "This connection asks no such question."
    }


def test_blank_answer_counts_as_missing():
    assert refusal([EMPLOYEE], {"employee_id": "   "}) == {
        "answers.employee_id": "Please answer: Employee id"
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "site", "label": "Site", "kind": "choice"},
        {"id": "site", "label": "Site", "kind": "text", "choices": ["a"]},
        {"id": "x", "label": "X", "pattern": "("},
        {"id": "Bad Id", "label": "X"},
        {"id": "x", "label": ""},
    ],
)
def test_inconsistent_questions_are_refused(bad):
    with pytest.raises(ValidationError):
        Question.model_validate(bad)


def test_question_ids_are_unique():
    with pytest.raises(InvalidInput):
        check_unique([EMPLOYEE, EMPLOYEE])
    check_unique(ALL)


def test_a_pattern_with_catastrophic_backtracking_cannot_hang_the_check():
    # Given an organization's pattern that backtracks exponentially on a near-miss
    evil = Question(id="code", label="Code", pattern=r"(a|aa)+$")
    started = time.perf_counter()
    # Then a long near-miss is refused within the time limit instead of hanging the function
    assert "form the organization expects" in refusal([evil], {"code": "a" * 60 + "!"})["answers.code"]
    assert time.perf_counter() - started < 1
