"""Which emails a change calls for, and when: pure rules, no I/O (connections/email/dispatch.py sends them).

- A driver hears when a request is approved, denied, removed or expired, before a re-verification date
  (a reminder), and gets a code when an address in a connection's email domains must be confirmed. The
  driver's own actions (withdraw, leave, renew) send nothing: the driver just did them.
- A driver gets a receipt when a charging session of theirs ends.
- Admins hear about new requests at most once per connection every 15 minutes each: the first request
  after a quiet spell is sent at once, and what arrives while that window is open waits for one digest
  when it ends (sent by the sweep), which opens the next window.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from connections.memberships.state_machine import Status

ALERT_WINDOW = timedelta(minutes=15)
REMINDER_LEAD = timedelta(days=7)


class Notice(StrEnum):
    """An email a driver gets; the value names its templates (connections/emails/templates)."""

    APPROVED = "approved"
    DENIED = "denied"
    REMOVED = "removed"
    EXPIRED = "expired"
    EXPIRING = "expiring"
    VERIFY_EMAIL = "verify_email"
    RECEIPT = "receipt"  # a charging session ended


NEW_REQUESTS = "new_requests"  # the admins' email


@dataclass(frozen=True)
class Seen:
    """What the rules need of one image of a membership."""

    status: Status
    expires_at: datetime | None = None
    verify_requested_at: datetime | None = None


_ON_STATUS = {
    Status.ACTIVE: Notice.APPROVED,
    Status.DENIED: Notice.DENIED,
    Status.REMOVED: Notice.REMOVED,
    Status.EXPIRED: Notice.EXPIRED,
}


def driver_notices(old: Seen | None, new: Seen) -> list[Notice]:
    """The driver's emails for a change from `old` (None: a new membership) to `new`."""
    found = []
    if new.verify_requested_at and (old is None or old.verify_requested_at != new.verify_requested_at):
        found.append(Notice.VERIFY_EMAIL)
    if (old is None or old.status != new.status) and new.status in _ON_STATUS:
        found.append(_ON_STATUS[new.status])
    return found


def receipt_due(old_status: str | None, new_status: str) -> bool:
    """A session's receipt when it ends; a later write to the ended session (a late duplicate of its
    messages) sends nothing more."""
    return new_status == "ended" and old_status != "ended"


def alerts_admins(old: Seen | None, new: Seen) -> bool:
    """A request now waits for an admin: new or asked again, not one that waits for the driver's code."""
    became_pending = new.status is Status.PENDING and (old is None or old.status is not Status.PENDING)
    return became_pending and new.verify_requested_at is None


def needs_reminder(old: Seen | None, new: Seen) -> bool:
    """Active with a re-verification date that is new: approved, renewed, or a date that moved."""
    if new.status is not Status.ACTIVE or new.expires_at is None:
        return False
    return old is None or old.status is not Status.ACTIVE or old.expires_at != new.expires_at


def reminder_at(activated_at: datetime, expires_at: datetime) -> datetime:
    """A week before the date, or a quarter of the period before it when the period is shorter than four
    weeks (a daily re-verification is reminded 6 hours ahead)."""
    return expires_at - min(REMINDER_LEAD, (expires_at - activated_at) / 4)


@dataclass(frozen=True)
class AlertWindow:
    """One admin's alerts for one connection: no email before `ends`; `waiting` when requests arrived
    since the last one; `listed_through`: the last email listed every request made until then (it lists
    what waits when it is sent, after that moment)."""

    ends: datetime | None = None
    waiting: bool = False
    listed_through: datetime | None = None


def on_new_request(window: AlertWindow, requested_at: datetime, now: datetime) -> tuple[bool, AlertWindow]:
    """(send an email now, the window after) for a request made at `requested_at`, seen at `now`. A request
    an email already listed changes nothing: its record came again, or late."""
    if window.listed_through is not None and requested_at <= window.listed_through:
        return False, window
    if window.ends is None or window.ends <= now:
        return True, AlertWindow(ends=now + ALERT_WINDOW, listed_through=now)
    return False, AlertWindow(ends=window.ends, waiting=True, listed_through=window.listed_through)


def on_window_end(window: AlertWindow, now: datetime) -> tuple[bool, AlertWindow]:
    """(send the digest now, the window after) when the sweep finds the window at `now`."""
    if window.waiting and window.ends is not None and window.ends <= now:
        return True, AlertWindow(ends=now + ALERT_WINDOW, listed_through=now)
    return False, window
