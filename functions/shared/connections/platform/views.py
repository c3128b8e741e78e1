"""What every API shares: the page of a listing, the error answer, a name."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Page[T](BaseModel):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ErrorBody(BaseModel):
    """Every error answer (connections.http maps each error to it)."""

    error: str = Field(description="A machine-readable code, e.g. `not_found`, `membership_active`.")
    message: str = Field(description="What happened and what to do, for a person.")
    fields: dict[str, str] = Field(description="A message per invalid field, e.g. `answers.employee_id`.")
