"""Confirming an address in a connection's email domains: the driver asks (drivers.request records the
address), the notify function emails a one-time code and stores its hash, and the driver confirms it here.
one_time_codes holds the rules (code shape, hashing, expiry, tries, how often codes may be asked)."""

from datetime import datetime, timedelta
from typing import TypeGuard

from pynamodb.exceptions import TransactWriteError, UpdateError

from connections.memberships import one_time_codes as rules
from connections.memberships import present, ratelimit, tries, views
from connections.memberships import state_machine as machine
from connections.memberships.approval import Approval, ApprovalMode, approval
from connections.memberships.changes import state
from connections.memberships.items import CodesSentItem, ConnectionItem, MembershipItem, VerificationItem
from connections.memberships.state_machine import Action, Status
from connections.platform.caller import Caller
from connections.platform.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from connections.platform.table import Key, batch_get, now, transaction

NOTHING_TO_CONFIRM = "No code waits for confirmation in this connection; ask to join it to get one."
NO_VALID_CODE = (
    "There is no valid code for your latest request: use the code from the latest email, or ask to join"
    " again for a new one."
)


def codes_sent_key(email: str | None) -> Key[CodesSentItem] | None:
    """Where the codes asked for `email` are counted; read with the request, before it is known whether a
    code is asked, so that the limit costs no round-trip of its own."""
    return CodesSentItem.key(email) if email else None


def ask_for_code(
    membership: MembershipItem, address: str, at: datetime, sent: CodesSentItem | None
) -> CodesSentItem:
    """Record that a code is to be sent to `address`, and return the address's count of codes to write with
    the membership (`save_asking`). TooManyRequests when codes were asked too often for this membership, or
    sent too often to this address by anyone."""
    moment = int(at.timestamp())
    sends = _within(
        list(membership.verify_sends),
        moment,
        rules.SENDS,
        f"{rules.SENDS.limit} codes were sent for this connection in the last {rules.SENDS.window // 60}"
        " minutes.",
    )
    to_address = _within(
        list(sent.sends) if sent else [],
        moment,
        rules.TO_ADDRESS,
        f"{address} has received {rules.TO_ADDRESS.limit} codes in the last hour, the most it is sent.",
    )
    membership.verify_email, membership.verify_requested_at = address, at
    membership.verify_sends = [*sends, moment]
    counted = sent or CodesSentItem(*CodesSentItem.key(address), email=address)
    counted.sends = [*to_address, moment]
    counted.expires = at + timedelta(seconds=rules.TO_ADDRESS.window)
    return counted


def _within(sends: list[int], moment: int, rule: ratelimit.Limit, too_many: str) -> list[int]:
    """The sends still in the rule's window; TooManyRequests, saying `too_many`, when one more is too many."""
    recent = ratelimit.recent(sends, moment, rule)
    wait = ratelimit.retry_after(recent, moment, rule)
    if wait:
        raise TooManyRequests(
            f"{too_many} Use the latest one, or ask again in {wait} seconds.", retry_after=wait
        )
    return recent


def save_asking(
    membership: MembershipItem, counted: CodesSentItem, attempt: tries.Attempt | None = None
) -> bool:
    """Write a membership that asks for a code together with its address's count, in one transaction, each
    conditioned on the version that was read. False when the membership changed meanwhile (as
    memberships.save_if_unchanged); TooManyRequests when a request for the same address got there first.
    With `attempt` (a try of the connection's code), the try is recorded in the same transaction."""
    membership.index()
    try:
        with attempt.recorded_with() if attempt else transaction() as write:
            write.save(membership)
            write.save(counted)
    except TransactWriteError as error:
        reasons = [reason.code if reason else None for reason in error.cancellation_reasons or []]
        if reasons[:1] == ["ConditionalCheckFailed"]:
            return False
        if "ConditionalCheckFailed" in reasons:
            raise TooManyRequests(
                f"Another code was asked for {counted.email} at the same moment; ask again in a second.",
                retry_after=1,
            ) from None
        raise
    return True


def confirm(caller: Caller, connection_id: str, asked: views.VerificationCode) -> views.Membership:
    """The code confirms the address: a pending request becomes Active, an active membership is renewed.
    The code is deleted with the change, in one transaction conditioned on it, so it works once."""
    at = now()
    membership_key = MembershipItem.key(connection_id, caller.user_id)
    code_key = VerificationItem.key(connection_id, caller.user_id)
    connection_key = ConnectionItem.key(connection_id)
    found = batch_get([membership_key, code_key, connection_key])
    membership: MembershipItem | None = found.get(membership_key)
    if membership is None or membership.verify_email is None:
        raise NotFound(NOTHING_TO_CONFIRM)
    sent: VerificationItem | None = found.get(code_key)
    if sent is None or sent.requested_at != membership.verify_requested_at:
        raise Conflict(NO_VALID_CODE, code="no_valid_code")
    connection: ConnectionItem | None = found.get(connection_key)
    if not _still_approves(connection, sent.email):
        # The organization removed the domain or changed the approval mode after the code was sent: the
        # code proves the address, but the address no longer approves anyone here.
        raise Conflict(
            f"This code can no longer approve you: since it was sent, the organization changed how this"
            f" connection approves requests, and {sent.email} no longer does. Your"
            f" {'membership' if membership.status == Status.ACTIVE else 'request'} stays as it is; ask the"
            " organization.",
            code="approval_changed",
        )
    if rules.expired(sent.expires_at, at):
        raise Conflict("This code has expired; ask to join again for a new one.", code="code_expired")
    if int(sent.attempts) >= rules.MAX_ATTEMPTS:
        raise Conflict("Too many wrong codes; ask to join again for a new one.", code="too_many_attempts")
    if not rules.matches(asked.code, sent.salt, sent.code_hash):
        left = _count_wrong(sent)
        raise InvalidInput(
            f"This code is not right; check the latest email ({left} tries left).",
            code="wrong_code",
            fields={"code": "does not match"},
        )
    renewal = membership.status == Status.ACTIVE
    membership.status = machine.transition(Action.CONFIRM, state(membership), at)
    membership.expires_at = machine.expiry(at, connection.reverify_days)
    if not renewal:
        membership.decided_at, membership.decided_by = at, f"automatic: confirmed {sent.email}"
        membership.message = None
    membership.updated_at = at
    membership.verify_email = membership.verify_requested_at = None
    membership.index()
    try:
        with transaction() as write:
            write.save(membership)  # conditioned on the version read (VersionAttribute)
            write.delete(
                VerificationItem(*code_key),
                condition=(VerificationItem.code_hash == sent.code_hash)
                & (VerificationItem.attempts < rules.MAX_ATTEMPTS),
            )
    except TransactWriteError:
        raise Conflict(
            "Your membership changed at the same moment, or this code was just used; look again.",
            code="membership_changed",
        ) from None
    return present.membership_for_driver(membership, connection, at)


def _still_approves(connection: ConnectionItem | None, address: str) -> TypeGuard[ConnectionItem]:
    """The connection still approves `address` by a code sent to it (mode and domains as they are now)."""
    if connection is None:
        return False
    how = approval(ApprovalMode(connection.approval_mode), list(connection.email_domains), address)
    return how is Approval.BY_EMAIL_CODE


def _count_wrong(sent: VerificationItem) -> int:
    """Count a wrong try against the code; the tries left."""
    try:
        sent.update(
            actions=[VerificationItem.attempts.add(1)],
            condition=(VerificationItem.code_hash == sent.code_hash)
            & (VerificationItem.attempts < rules.MAX_ATTEMPTS),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return 0  # replaced or used up meanwhile
    return max(0, rules.MAX_ATTEMPTS - int(sent.attempts))
