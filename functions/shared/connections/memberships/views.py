"""What the memberships API accepts and answers (organizations, admins, connections, requests and
decisions): Pydantic models, which also make the OpenAPI document."""

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    Strict,
    StringConstraints,
)

from connections.email import addresses
from connections.memberships.approval import ApprovalMode
from connections.memberships.questions import Question
from connections.memberships.state_machine import Status
from connections.platform.body import Body
from connections.platform.views import Name

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=253
    ),
]
# Every address the service stores is one it may send to (an admin's alerts, a driver's code): the same
# plain-address rule as the mailer's, so a control character or a second recipient is refused at the door.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=addresses.PATTERN, max_length=addresses.MAX_LENGTH
    ),
]
Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
ReverifyDays = Annotated[int, Field(ge=1, le=3650)]
Approval = Annotated[ApprovalMode, Strict(False)]  # by its value, e.g. "manual"


# --- Organizations and admins


class NewOrganization(Body):
    name: Name


class Organization(BaseModel):
    organization_id: str
    name: str
    created_at: datetime


class NewAdmin(Body):
    email: Email = Field(description="The verified email address the new admin signs in with.")


class Admin(BaseModel):
    email: str
    added_at: datetime
    added_by: str
    signed_in_at: datetime | None = Field(
        description="When someone signed in with this verified address first used the organization; until"
        " then (a mistyped address, say) no email about drivers' requests goes to it."
    )


class AlertSettings(Body):
    new_requests: bool = Field(
        description="An email when requests wait for a decision (at most one per connection every 15"
        " minutes)."
    )


# --- Connections


class NewConnection(Body):
    name: Name
    description: Description = ""
    public: bool = Field(
        default=False, description="Browsable by every driver; otherwise reachable only by code."
    )
    enabled: bool = True
    code: str | None = Field(default=None, description="6-20 letters or digits; generated when omitted.")
    questions: list[Question] = Field(default_factory=list, max_length=20)
    approval_mode: Approval = ApprovalMode.MANUAL
    email_domains: list[Domain] = Field(default_factory=list, max_length=50)
    reverify_days: ReverifyDays | None = None


class ConnectionChanges(Body):
    """Only the fields present are changed."""

    name: Name | None = None
    description: Description | None = None
    public: bool | None = None
    enabled: bool | None = None
    code: str | None = Field(default=None, description="A new code; the old one stops working at once.")
    regenerate_code: bool = Field(default=False, description="Replace the code by a newly generated one.")
    questions: list[Question] | None = Field(default=None, max_length=20)
    approval_mode: Approval | None = None
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


class MembershipRequest(Body):
    answers: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=20)
    code: str | None = Field(default=None, max_length=40, description="Required for a private connection.")
    email: Email | None = Field(
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


class VerificationCode(Body):
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


class Denial(Body):
    message: Message | None = Field(default=None, description="Shown to the driver.")


class Decision(Body):
    driver_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    decision: Annotated[str, StringConstraints(pattern="^(approve|deny)$")]
    message: Message | None = None


class Decisions(Body):
    decisions: list[Decision] = Field(min_length=1, max_length=100)


class DecisionResult(BaseModel):
    driver_id: str
    ok: bool
    membership: MemberRequest | None = None
    error: str | None = None
    message: str | None = None


class DecisionResults(BaseModel):
    results: list[DecisionResult]
