"""What a driver does: find connections, ask to join, see and end their own memberships.

Every function makes at most two DynamoDB round-trips (bench/dynamodb_calls.py counts them).
"""

from datetime import datetime

from connections.memberships import codes, present, tries, verify_email, views
from connections.memberships import state_machine as machine
from connections.memberships.approval import Approval, ApprovalMode, approval
from connections.memberships.changes import save_if_unchanged, state
from connections.memberships.items import BROWSE, CodeItem, CodesSentItem, ConnectionItem, MembershipItem
from connections.memberships.questions import Question, validate_answers
from connections.memberships.state_machine import ENDED, Action, Status
from connections.platform.caller import Caller
from connections.platform.errors import Conflict, InvalidInput, NotFound, ServiceError
from connections.platform.table import Found, Item, batch_get, decode_cursor, now, page
from connections.platform.views import Page

NO_SUCH_CODE = "No connection matches this code. Check the code with the organization that gave it to you."
NO_SUCH_CONNECTION = "There is no such connection, or it is not open to requests."
# Shown in the driver's list; withdrawn and left memberships are the driver's own doing and not listed.
LISTED = [Status.PENDING, Status.ACTIVE, Status.DENIED, Status.EXPIRED, Status.REMOVED]


def browse(
    *, name: str | None, organization: str | None, organization_id: str | None, limit: int, cursor: str | None
) -> Page[views.ConnectionForDriver]:
    """Public, enabled connections, narrowed by every filter given: an organization, an organization name
    prefix, a connection name prefix. The most selective one picks the index, the others filter."""
    name, organization = (name or "").lower(), (organization or "").lower()
    # The browse indexes carry only public, enabled connections; their sort keys hold both names.
    by_name = ConnectionItem.gsi2sk.startswith(name) if name else None
    by_organization = ConnectionItem.gsi3sk.startswith(organization) if organization else None
    if organization_id:
        browsable = ConnectionItem.gsi2pk == BROWSE
        found = ConnectionItem.gsi1.query(
            f"ORG#{organization_id}",
            ConnectionItem.gsi1sk.startswith(f"CONN#{name}"),
            filter_condition=browsable & by_organization if by_organization is not None else browsable,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor, "gsi1", f"ORG#{organization_id}"),
        )
    elif organization:
        found = ConnectionItem.gsi3.query(
            BROWSE,
            by_organization,
            filter_condition=by_name,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor, "gsi3", BROWSE),
        )
    else:
        # DynamoDB refuses an empty begins_with: no name means the whole browse list.
        found = ConnectionItem.gsi2.query(
            BROWSE, by_name, limit=limit, last_evaluated_key=decode_cursor(cursor, "gsi2", BROWSE)
        )
    items, next_cursor = page(found, cursor)
    return Page[views.ConnectionForDriver](
        items=[present.connection_for_driver(item) for item in items], next_cursor=next_cursor
    )


def look_up_code(caller: Caller, address: str, code: str) -> views.ConnectionForDriver:
    """The connection a code opens. Misses answer exactly like a code that never existed and count
    towards the caller's limit, so codes cannot be found by trying."""
    normal = codes.normalize(code)
    limited = tries.keys(caller.user_id, address)
    code_key = CodeItem.key(normal) if codes.is_well_formed(normal) else None
    found = batch_get([*limited, *([code_key] if code_key else [])], consistent=True)
    tries.check(found, limited)
    opened = found.get(code_key) if code_key else None
    hit = opened is not None and opened.enabled and opened.view is not None
    tries.Attempt(found, limited).record(missed=not hit)
    if opened is None or not hit:
        raise NotFound(NO_SUCH_CODE)
    return views.ConnectionForDriver.model_validate(opened.view)


def get_connection(caller: Caller, connection_id: str) -> views.ConnectionForDriver:
    """A public connection, or one the driver already has a membership in; any other answers 404."""
    connection_key, membership_key = (
        ConnectionItem.key(connection_id),
        MembershipItem.key(connection_id, caller.user_id),
    )
    found = batch_get([connection_key, membership_key])
    connection = found.get(connection_key)
    if connection is None or not _may_see(connection, found.get(membership_key)):
        raise NotFound(NO_SUCH_CONNECTION)
    return present.connection_for_driver(connection)


def _may_see(connection: ConnectionItem, membership: Item | None) -> bool:
    return membership is not None or (connection.public and connection.enabled)


def request(
    caller: Caller, address: str, connection_id: str, asked: views.MembershipRequest
) -> tuple[views.Membership, int]:
    """Ask to join. Returns the membership and 201 when it was created or changed, 200 when the driver
    already had a pending or active membership (no duplicate is made)."""
    at = now()
    connection_key, membership_key = (
        ConnectionItem.key(connection_id),
        MembershipItem.key(connection_id, caller.user_id),
    )
    limited = tries.keys(caller.user_id, address)
    email = asked.email or caller.email  # the address a code would go to; `address` is the caller's IP
    codes_key = verify_email.codes_sent_key(email)
    found = batch_get(
        [connection_key, membership_key, *limited, *([codes_key] if codes_key else [])], consistent=True
    )
    connection: ConnectionItem | None = found.get(connection_key)
    existing: MembershipItem | None = found.get(membership_key)
    if connection is None or not (connection.enabled or existing):
        raise NotFound(NO_SUCH_CONNECTION)
    reopening = existing is None or state(existing).effective_status(at) in ENDED - {Status.EXPIRED}
    sent = found.get(codes_key) if codes_key else None
    if connection.public or not reopening:
        return _ask(caller, connection, existing, asked, email, sent, at)
    # A private connection is reachable only with its code, also for a driver whose membership ended (the
    # organization may have changed the code since); an expired member re-verifies without it. A wrong code
    # is a miss like a lookup's. Whatever the code, the answer waits until the try is recorded (with the
    # request's write, or alone), so a burst cannot try more codes than the limit allows, and the 429 of a
    # try that lost the race says nothing about its code.
    tries.check(found, limited)
    attempt = tries.Attempt(found, limited)
    if codes.normalize(asked.code or "") != connection.code:
        attempt.record(missed=True)
        raise NotFound(NO_SUCH_CONNECTION)
    try:
        answer = _ask(caller, connection, existing, asked, email, sent, at, attempt)
    except ServiceError:
        attempt.record(missed=False)
        raise
    attempt.record(missed=False)  # recorded already when the request was written
    return answer


def _ask(
    caller: Caller,
    connection: ConnectionItem,
    existing: MembershipItem | None,
    asked: views.MembershipRequest,
    email: str | None,
    sent: CodesSentItem | None,
    at: datetime,
    attempt: tries.Attempt | None = None,
) -> tuple[views.Membership, int]:
    """The request once the driver may make it: a new or changed membership (201), or the one that stands
    (200). `attempt`, a try of the connection's code, is recorded with the write."""
    connection_id = connection.connection_id
    membership_key = MembershipItem.key(connection_id, caller.user_id)
    mode = ApprovalMode(connection.approval_mode)
    how = approval(mode, list(connection.email_domains), email)
    if asked.email and mode is ApprovalMode.EMAIL_DOMAIN and how is not Approval.BY_EMAIL_CODE:
        raise InvalidInput(
            "This connection approves addresses in its email domains only.",
            fields={"email": f"Use an address in {', '.join(connection.email_domains)}."},
        )
    outcome = machine.request(
        state(existing) if existing else None,
        auto_approved=how is Approval.AT_ONCE,
        by_code=how is Approval.BY_EMAIL_CODE,
        reverifies=bool(connection.reverify_days),
        now=at,
    )
    if outcome.status is None and not outcome.sends_code:
        assert existing is not None  # only a membership that stands is left as it is
        return present.membership_for_driver(existing, connection, at), 200
    renewing = outcome.renews or (outcome.sends_code and existing is not None and outcome.status is None)
    if not connection.enabled and not renewing:
        # A disabled connection takes no new requests; its members keep their status and may confirm.
        raise NotFound(NO_SUCH_CONNECTION)

    questions = [Question.model_validate(q) for q in connection.questions]
    answers = validate_answers(questions, asked.answers)
    item = existing or MembershipItem(
        *membership_key,
        connection_id=connection_id,
        organization_id=connection.organization_id,
        driver_id=caller.user_id,
        requested_at=at,
    )
    item.answers = answers
    item.driver_email, item.driver_email_verified = caller.email, caller.email_verified
    item.updated_at = at
    if outcome.status is not None:
        item.status = outcome.status
        if not outcome.renews:
            item.requested_at = at
            item.message = None
            item.decided_at = at if outcome.status is Status.ACTIVE else None
            item.decided_by = "automatic" if outcome.status is Status.ACTIVE else None
        item.expires_at = (
            machine.expiry(at, connection.reverify_days) if outcome.status is Status.ACTIVE else None
        )
    if outcome.sends_code:
        # The notify function sends it (stream); the address's count of codes is written with the request.
        assert email is not None  # a code goes to an address (Approval.BY_EMAIL_CODE needs one)
        counted = verify_email.ask_for_code(item, email, at, sent)
        saved = verify_email.save_asking(item, counted, attempt)
    else:
        item.verify_email = item.verify_requested_at = None
        saved = save_if_unchanged(item, attempt)
    if not saved:
        # Another request of the same driver (or an admin) got there first: answer with what stands now.
        current = MembershipItem.get(*membership_key, consistent_read=True)
        if state(current).effective_status(at) in (Status.PENDING, Status.ACTIVE):
            return present.membership_for_driver(current, connection, at), 200
        raise Conflict(
            "Your membership changed while you were asking; please try again.", code="membership_changed"
        )
    return present.membership_for_driver(item, connection, at), 201 if outcome.status is not None else 200


def my_memberships(caller: Caller, *, limit: int, cursor: str | None) -> Page[views.Membership]:
    at = now()
    found = MembershipItem.gsi1.query(
        f"DRIVER#{caller.user_id}",
        MembershipItem.gsi1sk.startswith("CONN#"),
        filter_condition=MembershipItem.status.is_in(*LISTED),
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi1", f"DRIVER#{caller.user_id}"),
    )
    memberships, next_cursor = page(found, cursor)
    connections = (
        batch_get([ConnectionItem.key(m.connection_id) for m in memberships]) if memberships else Found()
    )
    items = [
        present.membership_for_driver(m, connections.get(ConnectionItem.key(m.connection_id)), at)
        for m in memberships
    ]
    return Page[views.Membership](items=items, next_cursor=next_cursor)


def my_membership(caller: Caller, connection_id: str) -> views.Membership:
    connection_key, membership_key = (
        ConnectionItem.key(connection_id),
        MembershipItem.key(connection_id, caller.user_id),
    )
    found = batch_get([connection_key, membership_key])
    membership = found.get(membership_key)
    if membership is None or membership.status not in LISTED:
        raise NotFound("You have no membership in this connection.")
    return present.membership_for_driver(membership, found.get(connection_key), now())


def end(caller: Caller, connection_id: str) -> views.Membership:
    """Withdraw a pending request or leave an active membership."""
    at = now()
    try:
        membership = MembershipItem.get(*MembershipItem.key(connection_id, caller.user_id))
    except MembershipItem.DoesNotExist:
        raise NotFound("You have no membership in this connection.") from None
    current = state(membership)
    if current.effective_status(at) not in (Status.PENDING, Status.ACTIVE):
        raise NotFound("You have no pending request or active membership in this connection.")
    action = Action.WITHDRAW if current.effective_status(at) is Status.PENDING else Action.LEAVE
    membership.status = machine.transition(action, current, at)
    membership.updated_at = at
    membership.verify_email = membership.verify_requested_at = None  # ended: no code to wait for
    if not save_if_unchanged(membership):
        raise Conflict(
            "Your membership changed at the same moment (the organization may have just decided);"
            " look again.",
            code="membership_changed",
        )
    return present.membership_for_driver(membership, None, at)
