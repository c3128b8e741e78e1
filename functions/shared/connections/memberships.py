"""Writing membership changes: every change is a put conditioned on the version that was read
(PynamoDB's VersionAttribute), so of two writers racing exactly one wins."""

from pynamodb.exceptions import PutError

from connections.store import MembershipItem


def save_if_unchanged(item: MembershipItem) -> bool:
    """Write `item` unless somebody changed the membership since it was read; False when somebody did."""
    item.index()
    try:
        item.save()
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
