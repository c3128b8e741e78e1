"""Writing membership changes: every change is a put conditioned on the version that was read
(PynamoDB's VersionAttribute), so of two writers racing exactly one wins."""

from pynamodb.exceptions import PutError, TransactWriteError

from connections.memberships import state_machine as machine
from connections.memberships import tries
from connections.memberships.items import EXPIRES, MembershipItem
from connections.memberships.state_machine import Action, Membership, Status
from connections.platform.table import now


def state(item: MembershipItem) -> Membership:
    """What the state machine needs of a stored membership."""
    return Membership(Status(item.status), item.expires_at)


def save_if_unchanged(item: MembershipItem, attempt: tries.Attempt | None = None) -> bool:
    """Write `item` unless somebody changed the membership since it was read; False when somebody did.
    With `attempt` (a try of the connection's code), the try is recorded in the same transaction."""
    item.index()
    if attempt is None:
        try:
            item.save()
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
    try:
        with attempt.recorded_with() as write:
            write.save(item)
    except TransactWriteError as error:
        first = (error.cancellation_reasons or [None])[0]  # the membership's: the try's come after it
        if first is not None and first.code == "ConditionalCheckFailed":
            return False
        raise
    return True


def expire_lapsed(limit: int = 500) -> int:
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
