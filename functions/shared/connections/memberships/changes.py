"""Writing membership changes: every change is a put conditioned on the version that was read
(PynamoDB's VersionAttribute), so of two writers racing exactly one wins."""

from pynamodb.exceptions import PutError, TransactWriteError

from connections.memberships import tries
from connections.memberships.items import MembershipItem
from connections.memberships.state_machine import Membership, Status
from connections.platform.table import Item


def state(item: MembershipItem) -> Membership:
    """What the state machine needs of a stored membership."""
    return Membership(Status(item.status), item.expires_at)


def save_if_unchanged(item: Item, attempt: tries.Attempt | None = None) -> bool:
    """Write `item` (a membership, or an item versioned like one) unless somebody changed it since it was
    read; False when somebody did.
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
