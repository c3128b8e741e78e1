"""Memberships past their re-verification date become Expired (the expiry function, every minute)."""

from connections.memberships import state_machine as machine
from connections.memberships.changes import save_if_unchanged, state
from connections.memberships.items import EXPIRES, MembershipItem
from connections.memberships.state_machine import Action
from connections.platform.table import now


def expire_lapsed_memberships(limit: int = 500) -> int:
    """Record as Expired the active memberships whose re-verification date has passed (the API already
    shows them as expired; this makes the stored status, the listings and the stream say so too)."""
    at, expired = now(), 0
    lapsed = MembershipItem.gsi3.query(EXPIRES, MembershipItem.gsi3sk <= at.isoformat(), limit=limit)
    for membership in lapsed:
        membership.status = machine.transition(Action.EXPIRE, state(membership), at)
        membership.updated_at = at
        # A code asked to renew it confirms nothing now: expired, the driver asks to join again.
        membership.verify_email = membership.verify_requested_at = None
        expired += save_if_unchanged(membership)  # a concurrent change (the driver renewing) wins
    return expired
