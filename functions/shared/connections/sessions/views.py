"""What the sessions API answers: a session as its driver or an organization's admins see it, and the
totals per connection."""

from datetime import datetime

from pydantic import BaseModel, Field

from connections.platform.views import Page


class AppliedPrice(BaseModel):
    """A price as it applied, amounts as decimal strings in `currency` (never floats)."""

    currency: str | None
    per_kwh: str
    per_hour: str
    session_fee: str


class Session(BaseModel):
    session_id: str = Field(description="`<station_id>~<transaction_id>`: use it in the session's URL.")
    station_id: str
    station_name: str | None = Field(description="Null when the station has since been removed.")
    organization_id: str
    transaction_id: str
    evse_id: int | None
    connector_id: int | None
    id_tag: str | None = Field(description="The card (OCPP idTag) the session was started with.")
    driver_email: str | None = Field(
        description="Admins only: the driver's address, when the driver is a member or requester of one "
        "of the organization's connections; otherwise null (the card identifies them)."
    )
    authorized_by: str = Field(description="local_list, online, offline or unknown.")
    status: str = Field(description="active or ended.")
    started_at: datetime | None
    ended_at: datetime | None
    energy_kwh: str = Field(description="Decimal string, three decimals.")
    group_connection_id: str | None = Field(
        description="The connection whose price applied; null: everyone's."
    )
    group_name: str | None
    price: AppliedPrice | None = Field(
        description="Null: the station publishes no price, the session is free."
    )
    cost: str | None = Field(description="Decimal string in `currency`, set once the session has ended.")
    currency: str | None
    flags: list[str] = Field(description="unknown_card, no_start.")


class Sessions(Page[Session]):
    pass


class ConnectionTotals(BaseModel):
    connection_id: str | None = Field(description="Null: everyone else (no connection's price applied).")
    name: str | None
    sessions: int
    energy_kwh: str
    revenue: dict[str, str] = Field(description="What was charged, per currency (decimal strings).")
    discount: dict[str, str] = Field(
        description="What everyone else's price would have cost minus what was charged, per currency."
    )


class Totals(BaseModel):
    started_from: datetime
    started_to: datetime
    connections: list[ConnectionTotals] = Field(description="Everyone else last.")
