"""What an organization's admins do: organizations and admins, connections, decisions on requests.

Admins are identified by their verified email address. Anything of an organization the caller does not
administer answers 404, exactly as if it did not exist. A single decision makes at most three DynamoDB
round-trips (bench/dynamodb_calls.py counts them).
"""

import uuid

from pynamodb.exceptions import TransactWriteError, UpdateError

from connections.memberships import codes, present, tries, views
from connections.memberships import state_machine as machine
from connections.memberships.approval import ApprovalMode
from connections.memberships.changes import save_if_unchanged, state
from connections.memberships.items import (
    AdminItem,
    CodeItem,
    ConnectionItem,
    MembershipItem,
    OrganizationItem,
)
from connections.memberships.questions import check_unique
from connections.memberships.state_machine import Action, Status, TransitionRefused
from connections.platform.caller import Caller
from connections.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from connections.platform.table import Found, Key, batch_get, decode_cursor, now, page, transaction
from connections.platform.views import Page

NO_SUCH_ORGANIZATION = "There is no such organization, or you are not one of its admins."
NO_SUCH_CONNECTION = "There is no such connection in this organization."
NO_SUCH_REQUEST = "This driver has no request or membership in this connection."


def _admin_key(caller: Caller, organization_id: str) -> Key[AdminItem] | None:
    # Only a verified email address can carry admin rights.
    return AdminItem.key(organization_id, caller.email) if caller.email and caller.email_verified else None


def as_admin(caller: Caller, organization_id: str, *keys: Key, consistent: bool = False) -> Found:
    """The items at `keys`, read in the same round-trip as the check that the caller administers the
    organization (NotFound otherwise)."""
    admin_key = _admin_key(caller, organization_id)
    if admin_key is None:
        raise NotFound(NO_SUCH_ORGANIZATION)
    found = batch_get([admin_key, *keys], consistent=consistent)
    if admin_key not in found:
        raise NotFound(NO_SUCH_ORGANIZATION)
    _signed_in(found[admin_key])
    return found


def _signed_in(admin: AdminItem) -> None:
    """Record that the admin's address is someone's verified sign-in, the first time they use the
    organization: alerts carry drivers' names, addresses and answers, and go only to such addresses (a
    mistyped one never gets them). One conditional write, once per admin and organization; every later call
    reads the date with the admin check and writes nothing."""
    if admin.signed_in_at is not None:
        return
    try:
        admin.update(
            actions=[AdminItem.signed_in_at.set(now())],
            condition=AdminItem.pk.exists() & AdminItem.signed_in_at.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        # Another call recorded it first, or the admin was removed meanwhile: nothing to do either way.


def _connection_of(found: Found, organization_id: str, connection_id: str) -> ConnectionItem:
    connection = found.get(ConnectionItem.key(connection_id))
    if connection is None or connection.organization_id != organization_id:
        raise NotFound(NO_SUCH_CONNECTION)
    return connection


def _reasons(error: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


# --- Organizations and admins


def create_organization(caller: Caller, new: views.NewOrganization) -> views.Organization:
    if not (caller.email and caller.email_verified):
        raise Forbidden("Verify your email address before creating an organization: admins sign in with it.")
    at = now()
    organization_id = uuid.uuid4().hex
    organization = OrganizationItem(
        *OrganizationItem.key(organization_id),
        organization_id=organization_id,
        name=new.name,
        admin_count=1,
        created_at=at,
        created_by=caller.email,
    )
    with transaction() as write:
        write.save(organization, condition=OrganizationItem.pk.does_not_exist())
        write.save(AdminItem.new(organization_id, caller.email, caller.email, at, signed_in=True))
    return present.organization(organization)


def my_organizations(caller: Caller) -> list[views.Organization]:
    if not (caller.email and caller.email_verified):
        return []
    admin_of = [a.organization_id for a in AdminItem.gsi1.query(f"ADMIN#{caller.email}", limit=100)]
    found = batch_get([OrganizationItem.key(o) for o in admin_of]) if admin_of else Found()
    return sorted((present.organization(o) for o in found.of(OrganizationItem)), key=lambda o: o.name.lower())


def get_organization(caller: Caller, organization_id: str) -> views.Organization:
    key = OrganizationItem.key(organization_id)
    return present.organization(as_admin(caller, organization_id, key)[key])


def list_admins(caller: Caller, organization_id: str) -> list[views.Admin]:
    admin_key = _admin_key(caller, organization_id)
    pk, _ = OrganizationItem.key(organization_id)
    admins = list(AdminItem.query(pk, AdminItem.sk.startswith("ADMIN#"), consistent_read=True))
    me = next((a for a in admins if (a.pk, a.sk) == admin_key), None)
    if me is None:
        raise NotFound(NO_SUCH_ORGANIZATION)
    _signed_in(me)
    return [present.admin(a) for a in admins]


def add_admin(caller: Caller, organization_id: str, new: views.NewAdmin) -> views.Admin:
    as_admin(caller, organization_id)
    assert caller.email is not None  # as_admin admits only a verified address
    at = now()
    admin = AdminItem.new(organization_id, new.email, caller.email, at)
    organization = OrganizationItem(*OrganizationItem.key(organization_id))
    try:
        with transaction() as write:
            write.save(admin, condition=AdminItem.pk.does_not_exist())
            write.update(
                organization,
                actions=[OrganizationItem.admin_count.add(1)],
                condition=OrganizationItem.pk.exists(),
            )
    except TransactWriteError as error:
        if _reasons(error)[:1] == ["ConditionalCheckFailed"]:
            raise Conflict(
                f"{new.email} is already an admin of this organization.", code="already_admin"
            ) from None
        raise NotFound(NO_SUCH_ORGANIZATION) from None
    return present.admin(admin)


def remove_admin(caller: Caller, organization_id: str, email: str) -> None:
    as_admin(caller, organization_id)
    organization = OrganizationItem(*OrganizationItem.key(organization_id))
    try:
        with transaction() as write:
            write.delete(AdminItem(*AdminItem.key(organization_id, email)), condition=AdminItem.pk.exists())
            write.update(
                organization,
                actions=[OrganizationItem.admin_count.add(-1)],
                condition=OrganizationItem.admin_count > 1,
            )
    except TransactWriteError as error:
        reasons = _reasons(error)
        if reasons[:1] == ["ConditionalCheckFailed"]:
            raise NotFound(f"{email} is not an admin of this organization.") from None
        raise Conflict(
            "An organization keeps at least one admin: add another admin before removing this one.",
            code="last_admin",
        ) from None


def alert_settings(caller: Caller, organization_id: str) -> views.AlertSettings:
    admin_key = _admin_key(caller, organization_id)
    found = as_admin(caller, organization_id)
    assert admin_key is not None  # as_admin refuses a caller who has none
    admin = found[admin_key]
    return views.AlertSettings(new_requests=admin.new_request_alerts)


def change_alert_settings(
    caller: Caller, organization_id: str, settings: views.AlertSettings
) -> views.AlertSettings:
    """The caller's own emails about new requests to this organization's connections, on or off."""
    admin_key = _admin_key(caller, organization_id)
    as_admin(caller, organization_id)
    assert admin_key is not None  # as_admin refuses a caller who has none
    try:
        AdminItem(*admin_key).update(
            actions=[AdminItem.new_request_alerts.set(settings.new_requests)],
            condition=AdminItem.pk.exists(),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(NO_SUCH_ORGANIZATION) from None  # removed as an admin meanwhile
        raise
    return settings


# --- Connections


def _code_of(connection: ConnectionItem) -> CodeItem:
    """The connection's code item, with what a lookup of the code answers (see CodeItem)."""
    return CodeItem(
        *CodeItem.key(connection.code),
        code=connection.code,
        connection_id=connection.connection_id,
        enabled=connection.enabled,
        view=present.connection_for_driver(connection).model_dump(mode="json"),
    )


def _check_connection_rules(connection: ConnectionItem) -> None:
    if connection.approval_mode == ApprovalMode.EMAIL_DOMAIN and not connection.email_domains:
        raise InvalidInput(
            "Approval by email domain needs at least one domain.",
            fields={
                "email_domains": "List the domains whose verified addresses are approved, e.g. example.com."
            },
        )


def _code_taken(chosen: bool) -> Conflict:
    message = (
        "This connection code is already in use; choose another one or leave it out to get a generated one."
    )
    return Conflict(
        message if chosen else "Please try again.", code="code_taken", fields={"code": "already in use"}
    )


def create_connection(
    caller: Caller, address: str, organization_id: str, new: views.NewConnection
) -> views.ConnectionForAdmin:
    check_unique(new.questions)
    organization_key = OrganizationItem.key(organization_id)
    # A chosen code that is taken reveals that the code exists, so choosing codes is limited like lookups.
    limited = tries.keys(caller.user_id, address) if new.code else {}
    found = as_admin(caller, organization_id, organization_key, *limited, consistent=bool(limited))
    tries.check(found, limited)
    organization = found[organization_key]
    at = now()
    connection_id = uuid.uuid4().hex
    connection = ConnectionItem(
        *ConnectionItem.key(connection_id),
        connection_id=connection_id,
        organization_id=organization_id,
        organization_name=organization.name,
        name=new.name,
        description=new.description,
        public=new.public,
        enabled=new.enabled,
        code=codes.chosen(new.code) if new.code else codes.generate(),
        questions=[q.model_dump(mode="json", exclude_none=True) for q in new.questions],
        approval_mode=new.approval_mode,
        email_domains=new.email_domains,
        reverify_days=new.reverify_days,
        created_at=at,
        updated_at=at,
    )
    _check_connection_rules(connection)
    connection.index()
    attempt = tries.Attempt(found, limited)  # a chosen code is a try, recorded before it is answered
    for _ in range(3):  # a generated code collides with an existing one about never; retry if it does
        try:
            with attempt.recorded_with() as write:
                write.save(connection)
                write.save(_code_of(connection), condition=CodeItem.pk.does_not_exist())
            break
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in error.cancellation_reasons or []]
            if reasons[1:2] != ["ConditionalCheckFailed"]:  # the code item's (puts keep their order)
                raise  # not the code: DynamoDB's contention or a bug, answered as such
            if new.code:
                attempt.record(missed=True)
                raise _code_taken(chosen=True) from None
            connection.code = codes.generate()
    else:
        raise _code_taken(chosen=False)
    return present.connection_for_admin(connection)


def list_connections(
    caller: Caller, organization_id: str, *, limit: int, cursor: str | None
) -> Page[views.ConnectionForAdmin]:
    as_admin(caller, organization_id)
    found = ConnectionItem.gsi1.query(
        f"ORG#{organization_id}",
        ConnectionItem.gsi1sk.startswith("CONN#"),
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi1", f"ORG#{organization_id}"),
    )
    items, next_cursor = page(found, cursor)
    return Page[views.ConnectionForAdmin](
        items=[present.connection_for_admin(c) for c in items], next_cursor=next_cursor
    )


def get_connection(caller: Caller, organization_id: str, connection_id: str) -> views.ConnectionForAdmin:
    found = as_admin(caller, organization_id, ConnectionItem.key(connection_id))
    return present.connection_for_admin(_connection_of(found, organization_id, connection_id))


def update_connection(
    caller: Caller, address: str, organization_id: str, connection_id: str, changes: views.ConnectionChanges
) -> views.ConnectionForAdmin:
    if changes.code and changes.regenerate_code:
        raise InvalidInput(
            "Either choose a code or ask for a generated one, not both.", fields={"code": "conflicts"}
        )
    if changes.questions is not None:
        check_unique(changes.questions)
    limited = tries.keys(caller.user_id, address) if changes.code else {}
    connection_key = ConnectionItem.key(connection_id)
    found = as_admin(caller, organization_id, connection_key, *limited, consistent=bool(limited))
    tries.check(found, limited)
    connection = _connection_of(found, organization_id, connection_id)
    old_code = connection.code
    given = changes.model_dump(
        exclude_unset=True, exclude={"code", "regenerate_code", "questions", "clear_reverify"}
    )
    for field, value in given.items():
        if value is not None:
            setattr(connection, field, value)
    if changes.questions is not None:
        connection.questions = [q.model_dump(mode="json", exclude_none=True) for q in changes.questions]
    if changes.clear_reverify:
        connection.reverify_days = None
    if changes.code:
        connection.code = codes.chosen(changes.code)
    elif changes.regenerate_code:
        connection.code = codes.generate()
    _check_connection_rules(connection)
    connection.updated_at = now()
    connection.index()
    attempt = tries.Attempt(found, limited)  # a chosen code is a try, recorded before it is answered
    try:
        with attempt.recorded_with() as write:
            write.save(connection)  # conditioned on the version read (VersionAttribute)
            if connection.code != old_code:
                write.delete(CodeItem(*CodeItem.key(old_code)))
                write.save(_code_of(connection), condition=CodeItem.pk.does_not_exist())
            else:  # what a lookup of the code answers changes with the connection
                write.save(_code_of(connection), condition=CodeItem.connection_id == connection_id)
    except TransactWriteError as error:
        # PynamoDB sends a transaction's deletes before its puts: with a new code, the old one's delete
        # comes first and the connection second.
        at = 1 if connection.code != old_code else 0
        if _reasons(error)[at : at + 1] == ["ConditionalCheckFailed"]:
            raise Conflict(
                "Someone else changed this connection at the same time; reload it and apply your change"
                " again.",
                code="connection_changed",
            ) from None
        if changes.code:
            attempt.record(missed=True)
        raise _code_taken(chosen=bool(changes.code)) from None
    return present.connection_for_admin(connection)


# --- Requests and members


def list_requests(
    caller: Caller,
    organization_id: str,
    connection_id: str,
    *,
    status: Status,
    limit: int,
    cursor: str | None,
) -> Page[views.MemberRequest]:
    """Memberships of a connection in one status, oldest change first (pending requests in arrival order).

    A membership past its re-verification date is Expired even before the expiry sweep (functions/
    expire_memberships, every minute) stores that: it is left out of the active ones and put at the head
    of the first page of expired ones."""
    found = as_admin(caller, organization_id, ConnectionItem.key(connection_id))
    _connection_of(found, organization_id, connection_id)
    at = now()
    lapsed = MembershipItem.expires_at <= at
    partition = MembershipItem.status_key(connection_id, status)
    query = MembershipItem.gsi2.query(
        partition,
        filter_condition=~lapsed if status is Status.ACTIVE else None,
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi2", partition),
    )
    items, next_cursor = page(query, cursor)
    if status is Status.EXPIRED and cursor is None:
        active = MembershipItem.status_key(connection_id, Status.ACTIVE)
        items = list(MembershipItem.gsi2.query(active, filter_condition=lapsed)) + items
    return Page[views.MemberRequest](
        items=[present.membership_for_admin(m, at) for m in items], next_cursor=next_cursor
    )


def _apply(
    caller: Caller,
    connection: ConnectionItem,
    membership: MembershipItem | None,
    action: Action,
    message: str | None,
) -> MembershipItem:
    """Decide and write one admin action on one membership. TransitionRefused, with the reason as it
    stands after any concurrent change, when the action does not apply."""
    at = now()
    if membership is None:
        raise NotFound(NO_SUCH_REQUEST)
    membership.status = machine.transition(action, state(membership), at)
    membership.decided_at, membership.decided_by, membership.updated_at = at, caller.email, at
    membership.verify_email = membership.verify_requested_at = None  # decided: no code to wait for
    if action is Action.APPROVE:
        membership.message = None
        membership.expires_at = machine.expiry(at, connection.reverify_days)
    elif action is Action.DENY:
        membership.message = message
    if not save_if_unchanged(membership):
        # Another admin (or the driver) changed it first: explain with the status that won.
        winner = MembershipItem.get(membership.pk, membership.sk, consistent_read=True)
        machine.transition(action, state(winner), at)  # raises with the reason
        raise Conflict(
            "This request changed at the same moment; look at it again.", code="membership_changed"
        )
    return membership


def decide(
    caller: Caller,
    organization_id: str,
    connection_id: str,
    driver_id: str,
    action: Action,
    message: str | None = None,
) -> views.MemberRequest:
    """Approve, deny (with an optional message to the driver) or remove."""
    membership_key = MembershipItem.key(connection_id, driver_id)
    found = as_admin(caller, organization_id, ConnectionItem.key(connection_id), membership_key)
    connection = _connection_of(found, organization_id, connection_id)
    return present.membership_for_admin(
        _apply(caller, connection, found.get(membership_key), action, message), now()
    )


def decide_many(
    caller: Caller, organization_id: str, connection_id: str, decisions: views.Decisions
) -> views.DecisionResults:
    """Up to 100 approvals and denials in one call, each decided on its own, with a result per item."""
    driver_ids = [d.driver_id for d in decisions.decisions]
    if len(set(driver_ids)) != len(driver_ids):
        raise InvalidInput(
            "Each driver may appear once in a bulk decision.", fields={"decisions": "duplicate driver_id"}
        )
    found = as_admin(caller, organization_id, ConnectionItem.key(connection_id))
    connection = _connection_of(found, organization_id, connection_id)
    memberships = batch_get([MembershipItem.key(connection_id, d) for d in driver_ids])
    results = []
    for decision in decisions.decisions:
        action = Action.APPROVE if decision.decision == "approve" else Action.DENY
        membership = memberships.get(MembershipItem.key(connection_id, decision.driver_id))
        try:
            done = _apply(caller, connection, membership, action, decision.message)
            results.append(
                views.DecisionResult(
                    driver_id=decision.driver_id,
                    ok=True,
                    membership=present.membership_for_admin(done, now()),
                )
            )
        except (TransitionRefused, Conflict, NotFound) as refused:
            results.append(
                views.DecisionResult(
                    driver_id=decision.driver_id, ok=False, error=refused.code, message=refused.message
                )
            )
    return views.DecisionResults(results=results)
