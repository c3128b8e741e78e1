"""The membership state machine: the only place that decides whether a membership may change and to what.

A driver holds at most one membership per connection. It starts Pending (or Active when the connection
approves automatically), and every later change goes through `transition`. Callers persist the result
with a write conditioned on the status they read, so two deciders racing give exactly one winner.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from connections.platform.errors import Conflict


class Status(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DENIED = "denied"
    EXPIRED = "expired"
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"
    LEFT = "left"


class Action(StrEnum):
    REQUEST = "request"
    APPROVE = "approve"
    DENY = "deny"
    REMOVE = "remove"
    WITHDRAW = "withdraw"
    LEAVE = "leave"
    EXPIRE = "expire"
    CONFIRM = "confirm"  # the driver confirms an address by its code: approved, or renewed


# Statuses from which a driver may ask (again) to join. Pending and Active are answered with the
# membership that already exists instead (see `request`).
ENDED = frozenset({Status.DENIED, Status.EXPIRED, Status.REMOVED, Status.WITHDRAWN, Status.LEFT})

# action -> (statuses it applies to, status it leads to)
_RULES: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.APPROVE: (frozenset({Status.PENDING}), Status.ACTIVE),
    Action.DENY: (frozenset({Status.PENDING}), Status.DENIED),
    Action.REMOVE: (frozenset({Status.ACTIVE}), Status.REMOVED),
    Action.WITHDRAW: (frozenset({Status.PENDING}), Status.WITHDRAWN),
    Action.LEAVE: (frozenset({Status.ACTIVE}), Status.LEFT),
    Action.EXPIRE: (frozenset({Status.ACTIVE}), Status.EXPIRED),
    Action.CONFIRM: (frozenset({Status.PENDING, Status.ACTIVE}), Status.ACTIVE),
}

# Why an action does not apply, by the status the membership is in: sentences a person can act on.
_WHY_NOT: dict[Status, str] = {
    Status.PENDING: "This request is still pending: approve or deny it first.",
    Status.ACTIVE: "This driver is already an active member (to end the membership, remove the member).",
    Status.DENIED: "This request was denied; the driver can request again.",
    Status.EXPIRED: "This membership has expired; the driver can request again.",
    Status.REMOVED: "This member was removed; the driver can request again.",
    Status.WITHDRAWN: "The driver withdrew this request.",
    Status.LEFT: "The driver left this connection.",
}

_DRIVER_WHY_NOT: dict[Action, str] = {
    Action.WITHDRAW: "Only a pending request can be withdrawn; to end an active membership, leave it.",
    Action.LEAVE: "Only an active membership can be left; to cancel a pending request, withdraw it.",
    Action.CONFIRM: "This membership no longer waits for a code; ask to join again to get a new one.",
}


class TransitionRefused(Conflict):
    """The membership is not in a status the action applies to (HTTP 409)."""


@dataclass(frozen=True)
class Membership:
    """What the state machine needs to know of a stored membership."""

    status: Status
    expires_at: datetime | None = None

    def effective_status(self, now: datetime) -> Status:
        """An Active membership past its re-verification date counts as Expired even before the stored
        status catches up."""
        if self.status is Status.ACTIVE and self.expires_at is not None and self.expires_at <= now:
            return Status.EXPIRED
        return self.status


def transition(action: Action, current: Membership | None, now: datetime) -> Status:
    """The status `action` leads to from `current`, or TransitionRefused with the reason."""
    if action is Action.REQUEST:
        raise ValueError("requests are decided by `request`, which needs the approval outcome")
    allowed, target = _RULES[action]
    if current is None:
        raise TransitionRefused("There is no such membership.", code="no_membership")
    # Expiring records what time already decided, so it looks at the stored status; the rest look at what
    # the membership is now (a lapsed Active is Expired).
    status = current.status if action is Action.EXPIRE else current.effective_status(now)
    if status not in allowed:
        message = _DRIVER_WHY_NOT.get(action) or _WHY_NOT[status]
        raise TransitionRefused(message, code=f"membership_{status}")
    return target


@dataclass(frozen=True)
class RequestOutcome:
    """`status` is the new status to write, or None when the existing membership stands as it is.
    `renews` is True when an Active membership's re-verification period starts again. `sends_code` is True
    when a code goes to the driver's address, whose confirmation approves or renews (Action.CONFIRM)."""

    status: Status | None
    renews: bool = False
    sends_code: bool = False


def request(
    current: Membership | None,
    *,
    auto_approved: bool,
    reverifies: bool,
    now: datetime,
    by_code: bool = False,
) -> RequestOutcome:
    """A driver asks to join. Asking again while Pending or Active returns the membership that exists
    (no duplicate); asking while Active on a connection that re-verifies confirms the driver again.
    Approval `by_code` sends a code instead: a new one when asked again while Pending, and a renewal waits
    for it."""
    target = Status.ACTIVE if auto_approved else Status.PENDING
    if current is None:
        return RequestOutcome(target, sends_code=by_code)
    status = current.effective_status(now)
    if status is Status.PENDING:
        return RequestOutcome(None, sends_code=by_code)
    if status is Status.ACTIVE:
        if not reverifies:
            return RequestOutcome(None)
        return (
            RequestOutcome(None, sends_code=True) if by_code else RequestOutcome(Status.ACTIVE, renews=True)
        )
    assert status in ENDED
    return RequestOutcome(target, sends_code=by_code)


def expiry(activated_at: datetime, reverify_days: float | None) -> datetime | None:
    """When a membership that becomes Active at `activated_at` must be confirmed again."""
    return activated_at + timedelta(days=reverify_days) if reverify_days else None
