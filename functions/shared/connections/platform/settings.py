"""What every function reads from its environment (template.yaml's Globals), read once and checked at
start: a missing variable stops the function when it loads, with its name, rather than sending reads and
writes to a table of a default name."""

import os
from dataclasses import dataclass
from functools import cache


class MissingSetting(RuntimeError):
    """A variable template.yaml sets is missing: the deployment, not a caller, is wrong."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    idempotency_table_name: str  # where a keyed request's or a sent email's first answer is remembered
    region: str


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(
            f"Set the environment variable {name} (template.yaml sets it for every function)."
        )
    return value


@cache
def settings() -> Settings:
    return Settings(
        table_name=_required("TABLE_NAME"),
        idempotency_table_name=_required("IDEMPOTENCY_TABLE_NAME"),
        region=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
    )
