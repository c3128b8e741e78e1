"""What the functions read from their environment, read once and checked at start: a missing variable
stops the function when it loads, with its name, rather than sending reads and writes to a table of a
default name or failing at the first email. template.yaml sets them: `settings` for every function
(Globals), `email_settings` for NotifyFunction, which sends. The variables Powertools and boto3 read
themselves (POWERTOOLS_*, AWS_ENDPOINT_URL_IOT_DATA_PLANE) are theirs to check."""

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
    tracing_disabled: bool  # Powertools' switch, honoured by platform.http (the local stack sets it)


@dataclass(frozen=True)
class EmailSettings:
    sender_address: str  # From:, and the domain of each Message-ID
    configuration_set: str  # its event destination reports bounces and complaints
    console_url: str | None  # where the emails' links go (connections.email.links); none: no links


def _required(name: str, where: str = "every function") -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"Set the environment variable {name} (template.yaml sets it for {where}).")
    return value


@cache
def settings() -> Settings:
    return Settings(
        table_name=_required("TABLE_NAME"),
        idempotency_table_name=_required("IDEMPOTENCY_TABLE_NAME"),
        region=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        tracing_disabled=os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() == "true",
    )


@cache
def email_settings() -> EmailSettings:
    return EmailSettings(
        sender_address=_required("SENDER_ADDRESS", "NotifyFunction"),
        configuration_set=_required("EMAIL_CONFIGURATION_SET", "NotifyFunction"),
        console_url=os.environ.get("CONSOLE_URL") or None,
    )


@cache
def fan_out_function() -> str | None:
    """The function a large policy's parts are started in at once (StationSyncFunction's
    STATION_FAN_OUT_FUNCTION, decision 0047); none: the stream alone carries them, as before it."""
    return os.environ.get("STATION_FAN_OUT_FUNCTION") or None
