"""Questions an organization asks a driver who requests a connection, and the check of the answers."""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self

import regex
from pydantic import Field, Strict, StringConstraints, model_validator

from connections.platform.body import Body
from connections.platform.errors import InvalidInput

MAX_ANSWER_LENGTH = 500
# Organizations write the patterns: a pattern with catastrophic backtracking must not hang the function,
# so it runs under a time limit (the `regex` package; `re` has none).
PATTERN_TIMEOUT = 0.05


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return regex.fullmatch(pattern, value, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        return False


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # float() would also take NaN, inf and 1_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
QuestionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class QuestionKind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    CHOICE = "choice"


class Question(Body):
    id: QuestionId = Field(description="Key of the answer in a request, e.g. `employee_id`.")
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: Annotated[QuestionKind, Strict(False)] = QuestionKind.TEXT
    required: bool = True
    pattern: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="A regular expression the whole answer must match (text answers)."
    )
    choices: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50, description="The allowed answers of a `choice` question."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is QuestionKind.CHOICE and not self.choices:
            raise ValueError("a choice question needs at least one choice")
        if self.kind is not QuestionKind.CHOICE and self.choices:
            raise ValueError("only a choice question has choices")
        if self.pattern is not None:
            try:
                regex.compile(self.pattern)
            except regex.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return self


def check_unique(questions: list[Question]) -> None:
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise InvalidInput(
                "Two questions have the same id.", fields={f"questions.{question.id}": "duplicate id"}
            )
        seen.add(question.id)


def validate_answers(questions: list[Question], answers: Mapping[str, object]) -> dict[str, str]:
    """The answers as stored (strings, trimmed), or InvalidInput with a message per field."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    by_id = {q.id: q for q in questions}
    for key in answers:
        if key not in by_id:
            errors[f"answers.{key}"] = "This connection asks no such question."
    for question in questions:
        field = f"answers.{question.id}"
        raw = answers.get(question.id)
        value = "" if raw is None else str(raw).strip()
        if not value:
            if question.required:
                errors[field] = f"Please answer: {question.label}"
            continue
        problem = _problem(question, value)
        if problem:
            errors[field] = problem
        else:
            cleaned[question.id] = value
    if errors:
        raise InvalidInput("Some answers are missing or not in the expected form.", fields=errors)
    return cleaned


def _problem(question: Question, value: str) -> str | None:
    if len(value) > MAX_ANSWER_LENGTH:
        return f"At most {MAX_ANSWER_LENGTH} characters."
    match question.kind:
        case QuestionKind.EMAIL if not _EMAIL.match(value):
            return "Enter an email address such as name@example.com."
        case QuestionKind.NUMBER if not _NUMBER.match(value):
            return "Enter a number, such as 42 or 3.5."
        case QuestionKind.CHOICE if value not in (question.choices or []):
            return "Choose one of: " + ", ".join(question.choices or []) + "."
    if question.pattern and not _fullmatch(question.pattern, value):
        return f"This answer is not in the form the organization expects for: {question.label}"
    return None
