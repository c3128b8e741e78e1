"""What the stations API accepts and answers (access policies, stations, cards, the map and the
access check): Pydantic models, which also make the OpenAPI document."""

from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connections.memberships.views import OrganizationRef
from connections.platform.body import Body
from connections.platform.views import Name
from connections.stations import policy

ConnectionId = Annotated[str, StringConstraints(max_length=64)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A JSON number or a string ("0.30", exact): prices are Decimals either way. Its decimals depend on the
# currency (PriceRule).
Amount = Annotated[Decimal, Strict(False), Field(ge=0, le=10_000)]


def _iso_currency(code: str) -> str:
    if policy.minor_unit(code) is None:
        raise ValueError("not an ISO 4217 currency code, e.g. EUR or USD")
    return code


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_iso_currency)]


class HoursWindow(Body):
    days: list[Day] = Field(min_length=1, max_length=7, description="The days the window starts on.")
    start: Clock = Field(description="HH:MM, in the station's time zone.")
    end: Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")] = Field(
        description="HH:MM or 24:00; at or before `start`: the window ends the next day (22:00-06:00)."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> "HoursWindow":
        if self.start == self.end:
            raise ValueError("start and end are the same: use 00:00 to 24:00 for a whole day")
        return self


class PriceRule(Body):
    """Any of a price per kWh, per hour and a fee per session; none (or all 0) is free."""

    currency: Currency | None = Field(default=None, description="ISO 4217, e.g. EUR; required unless free.")
    per_kwh: Amount = Field(
        default=Decimal(0), description="At most two decimals more than the currency's minor unit."
    )
    per_hour: Amount = Field(
        default=Decimal(0), description="At most two decimals more than the currency's minor unit."
    )
    session_fee: Amount = Field(default=Decimal(0), description="In the currency's minor unit.")

    @field_validator("per_kwh", "per_hour", "session_fee")
    @classmethod
    def _in_minor_units(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")  # absent when invalid: that is the error then
        unit = policy.minor_unit(currency) if currency else None
        if unit is not None:  # a known currency
            extra = 0 if info.field_name == "session_fee" else policy.RATE_EXTRA_DECIMALS
            allowed = unit + extra
            if policy.decimals(amount) > allowed:
                raise ValueError(f"at most {allowed} decimals in {currency}")
        return amount

    @model_validator(mode="after")
    def _currency_unless_free(self) -> "PriceRule":
        if (self.per_kwh or self.per_hour or self.session_fee) and not self.currency:
            raise ValueError("give the currency of a price that is not free")
        return self


class GroupRule(Body):
    hours: list[HoursWindow] | None = Field(
        default=None, min_length=1, max_length=14, description="When the group may charge; omitted: always."
    )
    price: PriceRule | None = Field(default=None, description="Omitted: no price published.")


class DriverRules(Body):
    """What drivers see of a policy: who sees its stations, and each group's hours and price."""

    visible_to: list[ConnectionId] | None = Field(
        default=None,
        max_length=20,
        description="Only Active members of these connections see the stations; omitted: every driver.",
    )
    members: dict[ConnectionId, GroupRule] = Field(
        default_factory=dict,
        max_length=20,
        description="A rule per connection of the policy (by id); without one: always, no price.",
    )
    everyone: GroupRule | None = Field(
        default=None,
        description="The rule for every other driver with a registered card; omitted: members only.",
    )


StationId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._-]{1,36}$")]


@cache
def _iana_zones() -> frozenset[str]:
    """The zone names of the tzdata package, the one list on every machine: zoneinfo would also find what
    a machine's own database holds beside them (localtime, posixrules, posix/..., right/...). Factory is
    tz's placeholder for "time zone not set", no place."""
    return frozenset(files("tzdata").joinpath("zones").read_text().split()) - {"Factory"}


def _known_zone(name: str) -> str:
    if name not in _iana_zones():
        raise ValueError("not an IANA time zone, e.g. Europe/Berlin or America/New_York")
    return name


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_known_zone)]
IdTag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9._:-]{1,36}$")
]
# The OCPP 2.0.1 IdTokenEnumType values a driver's card can be (NoAuthorization is no card).
IdTokenType = Literal["ISO14443", "ISO15693", "KeyCode", "eMAID", "MacAddress", "Local", "Central"]
OcppVersion = Literal["1.6", "2.0.1"]


class NewPolicy(DriverRules):
    name: Name
    connection_ids: list[ConnectionId] = Field(
        min_length=1, max_length=20, description="Members of any of these connections may use the stations."
    )


class PolicyChanges(DriverRules):
    """Only the fields present are changed (`visible_to: null` shows the stations to everyone again,
    `everyone: null` makes them members-only)."""

    name: Name | None = None
    connection_ids: list[ConnectionId] | None = Field(default=None, min_length=1, max_length=20)


class Policy(DriverRules):
    # An answer, not a body: Powertools checks answers once turned into JSON values (dates are strings).
    model_config = ConfigDict(strict=False)

    policy_id: str
    name: str
    connection_ids: list[str]
    list_sequence: int = Field(description="Raised each time an entry of the policy's allow list changes.")
    updated_at: datetime


LIST_LENGTH = "LocalAuthListMaxLength in OCPP 1.6, LocalAuthListCtrlr.Entries in 2.0.1: how many entries"
LIST_LENGTH += " the station can hold."
PER_MESSAGE = "SendLocalListMaxLength in OCPP 1.6, LocalAuthListCtrlr.ItemsPerMessage in 2.0.1: entries per"
PER_MESSAGE += " SendLocalList message."
BYTES = "LocalAuthListCtrlr.BytesPerMessage (OCPP 2.0.1; optional): the largest SendLocalList frame the"
BYTES += " station takes, in bytes as published. Null: only the entries per message limit it."
VERSION = "The OCPP version the charger speaks: the service sends its lists and answers it in that version's"
VERSION += (
    " words. A card longer than 20 characters (a 1.6 idTag's most) is left out of a 1.6 station's list."
)
Bytes = Annotated[int, Field(ge=200, le=1_000_000)]


# A place to 7 decimals (about a centimetre): finer says nothing about a charger, and a number as small as
# 1e-309 cannot be stored in DynamoDB (its numbers stop at 1e-130), so it becomes 0 rather than a 500.
Latitude = Annotated[float, Field(ge=-90, le=90), AfterValidator(lambda degrees: round(degrees, 7))]
Longitude = Annotated[float, Field(ge=-180, le=180), AfterValidator(lambda degrees: round(degrees, 7))]


class Capabilities(Body):
    local_list_supported: bool = True
    local_auth_list_max_length: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description=LIST_LENGTH
    )
    send_local_list_max_length: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=25, description=PER_MESSAGE
    )
    bytes_per_message: Bytes | None = Field(default=None, description=BYTES)


class NewStation(Capabilities):
    station_id: StationId = Field(
        description="The charge point id it connects with (unique across the service)."
    )
    name: Name
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    policy_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Omitted: usable by every driver with a card."
    )
    time_zone: TimeZone = Field(default="UTC", description="IANA time zone: hours of use are its local time.")
    ocpp_version: OcppVersion = Field(default="1.6", description=VERSION)


class StationChanges(Body):
    name: Name | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    policy_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    usable_by_everyone: bool = Field(
        default=False, description="Remove the policy: every driver with a card."
    )
    local_list_supported: bool | None = None
    local_auth_list_max_length: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description=LIST_LENGTH
    )
    send_local_list_max_length: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description=PER_MESSAGE
    )
    bytes_per_message: Bytes | None = Field(default=None, description=BYTES)
    time_zone: TimeZone | None = None
    ocpp_version: OcppVersion | None = Field(
        default=None, description=VERSION + " A change of version sends the station its whole list again."
    )


class SyncStatus(BaseModel):
    wanted_sequence: int = Field(description="The policy list sequence the station should hold.")
    held_sequence: int = Field(description="The sequence its acknowledged list reflects.")
    list_version: int = Field(description="The OCPP listVersion the station acknowledged last.")
    acknowledged_at: datetime | None
    in_sync: bool
    awaiting: str | None = Field(description="The request awaiting the station's answer, if any.")
    online_only: bool = Field(description="No local list: every card is checked online (Authorize).")
    failing: bool = Field(
        description="It refused its last list and has not accepted one since: it is sent its whole list"
        " again, at least every 15 minutes, until it does."
    )
    last_refusal: str | None = Field(
        description="What it answered when it last refused: Failed, VersionMismatch, or an OCPP error"
        " code and its text. Null once it accepts again."
    )
    failing_since: datetime | None = Field(description="When it started refusing (null: not failing).")
    stale_since: datetime | None = Field(
        description="Since when its list is stale: when it was first sent a message it has not seen"
        " through (a change not acknowledged, a refusal, no answer), and not in sync since. Null: in sync."
    )


class Station(BaseModel):
    station_id: str
    name: str
    latitude: float | None
    longitude: float | None
    policy_id: str | None
    capabilities: Capabilities
    ocpp_version: OcppVersion
    sync: SyncStatus
    time_zone: str
    effective_policy: Policy | None = Field(
        description="The policy as it applies here (who sees it, who may charge when, at what price);"
        " null: every driver with a registered card, at all hours."
    )


class Stations(BaseModel):
    items: list[Station]
    out_of_sync: int = Field(description="How many stations of this page are not in sync.")
    out_of_sync_total: int = Field(
        description="How many stations of the whole organization (not only this page) are out of sync now:"
        " a change not yet acknowledged, refused or unanswered."
    )
    stale_count: int = Field(
        description="How many stations of the whole organization (not only this page) have been out of sync"
        " for more than 15 minutes (each one's `sync.stale_since`)."
    )
    next_cursor: str | None


CARD_ID = "The card's id (RFID UID, OCPP idTag or idToken), at most 36 letters, digits or ._:- . OCPP 1.6"
CARD_ID += " chargers read at most 20: a longer card works only at 2.0.1 stations."
CARD_TYPE = "What the card is, as an OCPP 2.0.1 station is told (IdTokenEnumType); ISO14443: an RFID card."


class NewCard(Body):
    id_tag: IdTag = Field(description=CARD_ID)
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    id_token_type: IdTokenType = Field(default="ISO14443", description=CARD_TYPE)


class Card(BaseModel):
    id_tag: str
    label: str | None
    id_token_type: IdTokenType
    created_at: datetime


class StationDelivery(BaseModel):
    stations: int = Field(description="Stations this connection unlocks.")
    delivered: int = Field(description="Of those, stations whose list already holds the driver's cards.")


# --- The driver's map and the access check


class PriceView(PriceRule):
    model_config = ConfigDict(strict=False)  # an answer, as Policy

    free: bool
    text: str = Field(description="The price in words, e.g. '0.30 EUR per kWh + 1.00 EUR per session'.")


class StationOnMap(BaseModel):
    """A station as a driver sees it: only stations the driver may see are ever shown."""

    station_id: str
    name: str
    organization: OrganizationRef
    latitude: float
    longitude: float
    time_zone: str
    distance_m: int | None = Field(description="From the point searched around (null when not searched).")
    open_now: bool = Field(description="Open to the caller now (their card aside).")
    status: str = Field(description="OCPP 2.0.1 AuthorizationStatus the caller would get now.")
    price: PriceView | None = Field(
        description="The best price for the caller: of their Active connections' rules, or everyone's."
    )


class StationsNearby(BaseModel):
    items: list[StationOnMap] = Field(description="Nearest first.")
    more: bool = Field(description="More stations match than `limit`: search a smaller radius.")


class AccessCheck(BaseModel):
    station_id: str
    may_charge: bool
    reason: str = Field(
        description="allowed, no_card, members_only, request_pending, membership_expired,"
        " membership_removed or closed_now."
    )
    message: str = Field(description="Why, and what to do, for the driver.")
    ocpp_status: str = Field(
        description="OCPP 2.0.1 AuthorizationStatusEnumType: Accepted, Unknown, NotAtThisLocation,"
        " NotAtThisTime, Expired or Blocked."
    )
    ocpp16_status: str = Field(description="What an OCPP 1.6 station answers (Accepted, Invalid, ...).")
    price: PriceView | None
    local_time: datetime = Field(description="Now, in the station's time zone.")
    opens_at: datetime | None = Field(description="Closed now: when it opens to the caller.")
    until: datetime | None = Field(
        description="Allowed now: when the caller's hours end (null: they do not)."
    )


class AccessPreview(AccessCheck):
    """What a driver would get at a station now, for its organization's admins (cards are not checked)."""

    driver_id: str | None = Field(
        description="The driver previewed; null: nobody asked the policy's connections with `email`."
    )
    email: str | None = Field(description="The address asked for (lowercase), when previewed by address.")
    visible: bool = Field(description="Whether the driver sees the station (on the map, by id).")
    effective_policy: Policy | None
