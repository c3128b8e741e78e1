"""What the API accepts and answers: Pydantic models, which also make the OpenAPI document."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from connections.domain import addresses
from connections.domain.approval import ApprovalMode
from connections.domain.membership import Status
from connections.domain.questions import Question

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=253
    ),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254
    ),
]
Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
ReverifyDays = Annotated[int, Field(ge=1, le=3650)]


# --- Organizations and admins


class NewOrganization(BaseModel):
    name: Name


class Organization(BaseModel):
    organization_id: str
    name: str
    created_at: datetime


class NewAdmin(BaseModel):
    email: Email = Field(description="The verified email address the new admin signs in with.")


class Admin(BaseModel):
    email: str
    added_at: datetime
    added_by: str
    signed_in_at: datetime | None = Field(
        description="When someone signed in with this verified address first used the organization; until"
        " then (a mistyped address, say) no email about drivers' requests goes to it."
    )


class AlertSettings(BaseModel):
    new_requests: bool = Field(
        description="An email when requests wait for a decision (at most one per connection every 15"
        " minutes)."
    )


# --- Connections


class NewConnection(BaseModel):
    name: Name
    description: Description = ""
    public: bool = Field(
        default=False, description="Browsable by every driver; otherwise reachable only by code."
    )
    enabled: bool = True
    code: str | None = Field(default=None, description="6-20 letters or digits; generated when omitted.")
    questions: list[Question] = Field(default_factory=list, max_length=20)
    approval_mode: ApprovalMode = ApprovalMode.MANUAL
    email_domains: list[Domain] = Field(default_factory=list, max_length=50)
    reverify_days: ReverifyDays | None = None


class ConnectionChanges(BaseModel):
    """Only the fields present are changed."""

    name: Name | None = None
    description: Description | None = None
    public: bool | None = None
    enabled: bool | None = None
    code: str | None = Field(default=None, description="A new code; the old one stops working at once.")
    regenerate_code: bool = Field(default=False, description="Replace the code by a newly generated one.")
    questions: list[Question] | None = Field(default=None, max_length=20)
    approval_mode: ApprovalMode | None = None
    email_domains: list[Domain] | None = Field(default=None, max_length=50)
    reverify_days: ReverifyDays | None = None
    clear_reverify: bool = Field(default=False, description="Stop requiring re-verification.")


class OrganizationRef(BaseModel):
    organization_id: str
    name: str


class ConnectionForDriver(BaseModel):
    connection_id: str
    name: str
    description: str
    organization: OrganizationRef
    public: bool
    questions: list[Question]
    approval_mode: ApprovalMode
    email_domains: list[str]
    reverify_days: int | None


class ConnectionForAdmin(ConnectionForDriver):
    code: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


# --- Memberships


WorkEmail = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=addresses.PATTERN, max_length=addresses.MAX_LENGTH
    ),
]


class MembershipRequest(BaseModel):
    answers: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=20)
    code: str | None = Field(default=None, max_length=40, description="Required for a private connection.")
    email: WorkEmail | None = Field(
        default=None,
        description="Approval by email domain: the address in one of the connection's domains that a code"
        " is sent to (your sign-in address when omitted).",
    )


class Membership(BaseModel):
    """A driver's membership as the driver sees it."""

    connection: ConnectionForDriver | None
    connection_id: str
    status: Status
    message: str | None = Field(description="The organization's message with a denial.")
    answers: dict[str, str]
    requested_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None
    verifying_email: str | None = Field(
        default=None,
        description="A code was sent to this address: confirm it with POST"
        " /me/memberships/{connection_id}/verification.",
    )


class VerificationCode(BaseModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = Field(
        description="The code from the email (case, spaces and dashes do not matter)."
    )


class MemberRequest(BaseModel):
    """A membership as the organization's admins see it."""

    driver_id: str
    driver_email: str | None
    driver_email_verified: bool
    connection_id: str
    status: Status
    answers: dict[str, str]
    message: str | None
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    expires_at: datetime | None


class Denial(BaseModel):
    message: Message | None = Field(default=None, description="Shown to the driver.")


class Decision(BaseModel):
    driver_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    decision: Annotated[str, StringConstraints(pattern="^(approve|deny)$")]
    message: Message | None = None


class Decisions(BaseModel):
    decisions: list[Decision] = Field(min_length=1, max_length=100)


class DecisionResult(BaseModel):
    driver_id: str
    ok: bool
    membership: MemberRequest | None = None
    error: str | None = None
    message: str | None = None


class DecisionResults(BaseModel):
    results: list[DecisionResult]


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


# --- Stations, access policies and cards

StationId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._-]{1,36}$")]
IdTag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9._:-]{1,20}$")
]


class NewPolicy(BaseModel):
    name: Name
    connection_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        min_length=1, max_length=20, description="Members of any of these connections may use the stations."
    )


class PolicyChanges(BaseModel):
    name: Name | None = None
    connection_ids: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=20
    )


class Policy(BaseModel):
    policy_id: str
    name: str
    connection_ids: list[str]
    list_sequence: int = Field(description="Raised each time an entry of the policy's allow list changes.")
    updated_at: datetime


class Capabilities(BaseModel):
    local_list_supported: bool = True
    local_auth_list_max_length: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="LocalAuthListMaxLength: how many entries the station can hold."
    )
    send_local_list_max_length: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=25, description="SendLocalListMaxLength: entries per SendLocalList message."
    )


class NewStation(Capabilities):
    station_id: StationId = Field(
        description="The charge point id it connects with (unique across the service)."
    )
    name: Name
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    policy_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Omitted: usable by every driver with a card."
    )


class StationChanges(BaseModel):
    name: Name | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    policy_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    usable_by_everyone: bool = Field(
        default=False, description="Remove the policy: every driver with a card."
    )
    local_list_supported: bool | None = None
    local_auth_list_max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    send_local_list_max_length: Annotated[int, Field(ge=1, le=10_000)] | None = None


class SyncStatus(BaseModel):
    wanted_sequence: int = Field(description="The policy list sequence the station should hold.")
    held_sequence: int = Field(description="The sequence its acknowledged list reflects.")
    list_version: int = Field(description="The OCPP listVersion the station acknowledged last.")
    acknowledged_at: datetime | None
    in_sync: bool
    awaiting: str | None = Field(description="The request awaiting the station's answer, if any.")
    online_only: bool = Field(description="No local list: every card is checked online (Authorize).")


class Station(BaseModel):
    station_id: str
    name: str
    latitude: float | None
    longitude: float | None
    policy_id: str | None
    capabilities: Capabilities
    sync: SyncStatus


class Stations(BaseModel):
    items: list[Station]
    out_of_sync: int
    next_cursor: str | None


class NewCard(BaseModel):
    id_tag: IdTag = Field(description="The card's idTag (RFID UID), at most 20 letters, digits or ._:- ")
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None


class Card(BaseModel):
    id_tag: str
    label: str | None
    created_at: datetime


class StationDelivery(BaseModel):
    stations: int = Field(description="Stations this connection unlocks.")
    delivered: int = Field(description="Of those, stations whose list already holds the driver's cards.")
