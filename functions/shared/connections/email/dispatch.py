"""Email for the changes people should hear about, from the table's stream (functions/notify).

email.notices decides which emails a change calls for; this module gathers what they say, renders them
(email.rendering) and sends each once (email.ses). Every send hangs on a stream record:

- a membership change: the driver's email (approved, denied, removed, expired), the code for an address
  to confirm, a reminder scheduled before the re-verification date, and the admins' alert windows moved;
- an admin alert item whose `sent` rose (a window opened, here or by the sweep): the admin's email listing
  what waits;
- a reminder item the sweep made due: the reminder, if the membership still has that date;
- a session that ended: its driver's receipt, if the service knows the driver's address.

Every email's idempotency key names its event (the membership's version, the moment the alert's window
opened, the reminder's date, the session), so a duplicated or retried record sends nothing more.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeGuard

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import PutError

from connections.email import notices, receipts, rendering, ses
from connections.email.items import DIGEST, REMIND, AdminAlertItem, ReminderItem
from connections.email.links import console_pages
from connections.email.notices import NEW_REQUESTS, AlertWindow, Notice, Seen
from connections.memberships import one_time_codes
from connections.memberships.approval import ApprovalMode
from connections.memberships.changes import save_if_unchanged, state
from connections.memberships.items import (
    AdminItem,
    ConnectionItem,
    MembershipItem,
    OrganizationItem,
    VerificationItem,
)
from connections.memberships.state_machine import Status
from connections.platform.table import Found, batch_get, now, of_kind
from connections.platform.telemetry import logger
from connections.sessions.items import SessionItem
from connections.stations import access
from connections.stations.allow_entries import image
from connections.stations.items import StationItem, UnlockItem

LISTED_REQUESTS = 20  # in an admin's email; the rest are counted
LISTED_STATIONS = 10  # in an approval
SWEEP_LIMIT = 500  # windows and reminders per sweep; the rest go in the next one, a minute later
KEEP_AFTER = timedelta(days=1)  # alert windows and reminders, after their date (TTL)
WRITE_TRIES = 3


class Contended(Exception):
    """An item kept changing under us: the record fails and is retried."""


@dataclass
class Batch:
    """One invocation's records share reads and their admins' alert updates."""

    at: datetime
    lambda_context: object = None
    connections: dict[str, ConnectionItem | None] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)  # connections whose admins' windows are up to date

    def connection(self, connection_id: str) -> ConnectionItem | None:
        if connection_id not in self.connections:
            key = ConnectionItem.key(connection_id)
            self.connections[connection_id] = batch_get([key]).get(key)
        return self.connections[connection_id]


def send_emails_for_change(record: dict, batch: Batch) -> None:
    """The emails one stream record calls for (see the module's docstring), each sent once."""
    old, new = image(record, "OldImage"), image(record, "NewImage")
    if isinstance(new, MembershipItem):
        _membership_changed(of_kind(MembershipItem, old), new, batch)
    elif isinstance(new, AdminAlertItem):
        alert = of_kind(AdminAlertItem, old)
        if int(new.sent) > (int(alert.sent) if alert else 0):
            _send_alert(new, batch)
    elif isinstance(new, ReminderItem):
        reminder = of_kind(ReminderItem, old)
        if new.due and not (reminder and reminder.due):
            _send_reminder(new, batch)
    elif isinstance(new, SessionItem):
        session = of_kind(SessionItem, old)
        if notices.receipt_due(session.status if session else None, new.status):
            _send_receipt(new, batch)


def _seen(item: MembershipItem) -> Seen:
    return Seen(Status(item.status), item.expires_at, item.verify_requested_at)


def when(at: datetime) -> str:
    return at.strftime("%-d %B %Y, %H:%M UTC")


# --- A membership changed


def _membership_changed(old: MembershipItem | None, new: MembershipItem, batch: Batch) -> None:
    before, after = (_seen(old) if old else None), _seen(new)
    # The writes first, then the sends: the writes are idempotent and cheap to do again, while a send SES
    # keeps refusing fails the record until it is parked in NotifyFailures, and must not take the reminder
    # or the admins' windows with it.
    if notices.alerts_admins(before, after):
        _update_alert_windows(new, batch)
    if notices.needs_reminder(before, after):
        _schedule_reminder(new)
    wanted = notices.driver_notices(before, after)
    if wanted:
        connection = batch.connection(new.connection_id)
        if connection is None:
            logger.warning("membership of an unknown connection", extra={"connection": new.connection_id})
            return
        for notice in wanted:
            if notice is Notice.VERIFY_EMAIL:
                _send_code(new, connection, batch)
            else:
                _send_to_driver(notice, new, connection, batch)


def _about(connection: ConnectionItem) -> dict:
    return {"connection": connection.name, "organization": connection.organization_name}


def _send_to_driver(
    notice: Notice, membership: MembershipItem, connection: ConnectionItem, batch: Batch
) -> None:
    def work() -> str | None:
        values = {**_about(connection), "link": console_pages().memberships()}
        if notice is Notice.APPROVED:
            stations, more = _unlocked_stations(membership, batch.at)
            values.update(
                description=connection.description,
                stations=stations,
                more_stations=more,
                expires_at=when(membership.expires_at) if membership.expires_at else None,
            )
        elif notice is Notice.DENIED:
            values["message"] = membership.message
        return ses.send(membership.driver_email, rendering.render(notice, **values))

    key = f"{notice}#{membership.connection_id}#{membership.driver_id}#{membership.version}"
    ses.once(key, work, batch.lambda_context)


# --- A charging session ended


def driver_address(driver_id: str) -> str | None:
    """The address a driver gave with their memberships (and requests), a verified one first: cards carry
    none, and the service has no other record of drivers."""
    memberships = MembershipItem.gsi1.query(f"DRIVER#{driver_id}", MembershipItem.gsi1sk.startswith("CONN#"))
    found = sorted(
        (m for m in memberships if m.driver_email),
        key=lambda m: not m.driver_email_verified,
    )
    return found[0].driver_email if found else None


def _send_receipt(session: SessionItem, batch: Batch) -> None:
    if session.driver_id is None:
        return  # a card nobody registered: nobody to send it to
    driver_id = session.driver_id

    def work() -> str | None:
        address = driver_address(driver_id)
        if address is None:
            logger.info("no address for the driver; no receipt", extra={"station": session.station_id})
            return None
        key = StationItem.key(session.station_id)
        station = batch_get([key]).get(key)
        values = receipts.receipt_values(session, station.name if station else session.station_id)
        organization = station.organization_name if station else None
        email = rendering.render(
            Notice.RECEIPT, **values, organization=organization or "", link=console_pages().sessions()
        )
        return ses.send(address, email)

    ses.once(f"{Notice.RECEIPT}#{session.station_id}#{session.transaction_id}", work, batch.lambda_context)


def _unlocked_stations(membership: MembershipItem, at: datetime) -> tuple[list[str], int]:
    """The names of the first stations the membership's connection unlocks and shows the driver, and how
    many more there are."""
    connection_id = membership.connection_id
    unlocks = list(UnlockItem.query(f"CONN#{connection_id}", UnlockItem.sk.startswith("UNLOCKS#")))
    policies = access.Policies()
    policies.read(u.policy_id for u in unlocks)
    # This email is the approval: Active here, whatever the driver index shows yet.
    active = access.driver(membership.driver_id, at).active | {connection_id}
    names: dict[str, str] = {}
    for unlock in access.shown(unlocks, policies, active):
        for station in StationItem.gsi2.query(StationItem.policy_key(unlock.policy_id)):
            names.setdefault(station.station_id, station.name)
    listed = sorted(names.values(), key=str.lower)
    return listed[:LISTED_STATIONS], max(0, len(listed) - LISTED_STATIONS)


def _send_code(membership: MembershipItem, connection: ConnectionItem, batch: Batch) -> None:
    """A new code for the address, its hash stored for the request it answers, then the email. Made
    inside the idempotent send, so a duplicated record never replaces the code that was emailed."""
    requested_at, address = membership.verify_requested_at, membership.verify_email
    key = (
        f"{Notice.VERIFY_EMAIL}#{membership.connection_id}#{membership.driver_id}#{requested_at.isoformat()}"
    )

    def issue() -> str | None:
        code, salt, at = one_time_codes.new_code(), one_time_codes.new_salt(), now()
        stored = VerificationItem(
            *VerificationItem.key(membership.connection_id, membership.driver_id),
            connection_id=membership.connection_id,
            driver_id=membership.driver_id,
            email=address,
            requested_at=requested_at,
            salt=salt,
            code_hash=one_time_codes.hash_code(code, salt),
            attempts=0,
            expires_at=at + one_time_codes.VALID_FOR,
            expires=at + one_time_codes.VALID_FOR + KEEP_AFTER,
        )
        try:
            # A newer request's code is never replaced by an older one's.
            stored.save(
                condition=VerificationItem.requested_at.does_not_exist()
                | (VerificationItem.requested_at <= requested_at)
            )
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        shown = one_time_codes.display(code)
        email = rendering.render(
            Notice.VERIFY_EMAIL,
            **_about(connection),
            link=console_pages().verify(membership.connection_id, shown),
            code=shown,
            email=address,
            renewal=membership.status == Status.ACTIVE,
            valid_minutes=int(one_time_codes.VALID_FOR.total_seconds() // 60),
        )
        return ses.send(address, email)

    ses.once(key, issue, batch.lambda_context)


def _schedule_reminder(membership: MembershipItem) -> None:
    key = ReminderItem.key(membership.connection_id, membership.driver_id)
    remind_at = notices.reminder_at(membership.updated_at, membership.expires_at)
    for _ in range(WRITE_TRIES):
        try:
            reminder = ReminderItem.get(*key, consistent_read=True)
        except ReminderItem.DoesNotExist:
            reminder = ReminderItem(
                *key, connection_id=membership.connection_id, driver_id=membership.driver_id
            )
        if reminder.membership_version is not None and reminder.membership_version >= membership.version:
            return  # a record older than the one that scheduled it, delivered again
        reminder.expires_at, reminder.remind_at = membership.expires_at, remind_at
        reminder.membership_version, reminder.due = membership.version, False
        reminder.expires = membership.expires_at + KEEP_AFTER
        if save_if_unchanged(reminder):
            return
    raise Contended("the reminder kept changing")


# --- Admins: new requests, at most one email per window


def _window(alert: AdminAlertItem) -> AlertWindow:
    return AlertWindow(
        ends=alert.window_ends, waiting=bool(alert.waiting), listed_through=alert.listed_through
    )


def _move_window(alert: AdminAlertItem, after: AlertWindow, send: bool) -> None:
    alert.window_ends, alert.waiting, alert.listed_through = after.ends, after.waiting, after.listed_through
    assert after.ends is not None  # a window that moves has an end (notices.on_new_request, on_window_end)
    alert.expires = after.ends + KEEP_AFTER
    if send:
        alert.sent = int(alert.sent or 0) + 1


def _update_alert_windows(membership: MembershipItem, batch: Batch) -> None:
    """Every admin who wants alerts: open a window (its email follows on the stream) or mark the open one
    as waiting for its digest. Either covers every request made before this batch, so the connection's
    later records in the batch need nothing more."""
    if membership.connection_id in batch.alerted:
        return
    organization_pk, _ = OrganizationItem.key(membership.organization_id)
    admins = [a for a in AdminItem.query(organization_pk, AdminItem.sk.startswith("ADMIN#")) if _alerted(a)]
    keys = {a.email: AdminAlertItem.key(membership.connection_id, a.email) for a in admins}
    found = batch_get(keys.values()) if keys else Found()
    covered = True
    for email, key in keys.items():
        alert = found.get(key) or AdminAlertItem(
            *key,
            organization_id=membership.organization_id,
            connection_id=membership.connection_id,
            email=email,
        )
        covered &= _on_new_request(alert, membership.requested_at, batch.at)
    if covered:
        batch.alerted.add(membership.connection_id)


def _alerted(admin: AdminItem | None) -> TypeGuard[AdminItem]:
    """An alert lists drivers' addresses and answers: only to an admin who wants it and whose address someone
    has signed in with (connections.memberships.admins records it), never to an address an admin typed
    and nobody has shown is right. Leaving the details out for the others would still tell a stranger
    who asks to join."""
    return admin is not None and bool(admin.new_request_alerts) and admin.signed_in_at is not None


def _on_new_request(alert: AdminAlertItem, requested_at: datetime, at: datetime) -> bool:
    """Move the window for a request; True when it now covers every request made before `at` (an email
    goes now or the digest waits), False when an email listed this request already."""
    for _ in range(WRITE_TRIES):
        send, after = notices.on_new_request(_window(alert), requested_at, at)
        if after == _window(alert):
            return after.waiting
        _move_window(alert, after, send)
        if save_if_unchanged(alert):
            return True
        try:  # another record or the sweep changed it: decide again on what is stored now
            alert = AdminAlertItem.get(alert.pk, alert.sk, consistent_read=True)
        except AdminAlertItem.DoesNotExist:
            alert = AdminAlertItem(
                alert.pk,
                alert.sk,
                organization_id=alert.organization_id,
                connection_id=alert.connection_id,
                email=alert.email,
            )
    raise Contended("the alert window kept changing")


def _send_alert(alert: AdminAlertItem, batch: Batch) -> None:
    admin_key = AdminItem.key(alert.organization_id, alert.email)
    found = batch_get([admin_key])
    admin = found.get(admin_key)
    if not _alerted(admin):
        return  # no longer an admin, turned the alerts off since, or never signed in
    connection = batch.connection(alert.connection_id)
    if connection is None:
        return
    # The moment the window opened names this email: `sent` would start again at 1 once the item's TTL
    # deleted it, while the idempotency record of the old email #1 is still remembered.
    key = f"{NEW_REQUESTS}#{alert.connection_id}#{alert.email}#{alert.listed_through.isoformat()}"

    def work() -> str | None:
        # What waits when the email goes, so that a request that arrived meanwhile is in it too.
        waiting_key = MembershipItem.status_key(alert.connection_id, Status.PENDING)
        waiting = list(MembershipItem.gsi2.query(waiting_key, limit=LISTED_REQUESTS))
        if not waiting:
            return None  # all decided already
        total = len(waiting)
        if total == LISTED_REQUESTS:
            total = MembershipItem.gsi2.count(waiting_key)
        email = rendering.render(
            NEW_REQUESTS,
            **_about(connection),
            link=console_pages().requests(alert.organization_id, alert.connection_id),
            requests=[_request_line(m, connection) for m in waiting],
            total=total,
            more=total - len(waiting),
            window_minutes=int(notices.ALERT_WINDOW.total_seconds() // 60),
        )
        return ses.send(admin.email, email)

    ses.once(key, work, batch.lambda_context)


def _request_line(membership: MembershipItem, connection: ConnectionItem) -> dict:
    labels = {q["id"]: q["label"] for q in connection.questions}
    answers = membership.answers  # a dict as written, a MapAttribute as read
    if isinstance(answers, MapAttribute):
        answers = answers.as_dict()
    return {
        "email": membership.driver_email,
        "driver_id": membership.driver_id,
        "requested_at": when(membership.requested_at),
        "confirming": membership.verify_email is not None,
        "answers": [(labels.get(k, k), v) for k, v in answers.items()],
    }


# --- Reminders


def _send_reminder(reminder: ReminderItem, batch: Batch) -> None:
    membership_key = MembershipItem.key(reminder.connection_id, reminder.driver_id)
    membership = batch_get([membership_key]).get(membership_key)
    if membership is None or membership.expires_at != reminder.expires_at:
        return  # renewed or gone since it was scheduled
    if state(membership).effective_status(batch.at) is not Status.ACTIVE:
        return  # ended, or its date passed before the reminder came due (a late sweep)
    connection = batch.connection(reminder.connection_id)
    if connection is None:
        return
    email = rendering.render(
        Notice.EXPIRING,
        **_about(connection),
        link=console_pages().memberships(),
        expires_at=when(reminder.expires_at),
        by_code=connection.approval_mode == ApprovalMode.EMAIL_DOMAIN,
    )
    key = f"{Notice.EXPIRING}#{reminder.connection_id}#{reminder.driver_id}#{reminder.expires_at.isoformat()}"
    ses.once(key, lambda: ses.send(membership.driver_email, email), batch.lambda_context)


# --- The sweep (every minute)


def send_due_emails(at: datetime | None = None) -> dict[str, int]:
    """Send the digests of windows that ended with requests waiting, and make due the reminders whose
    time came: each by a conditional write whose stream record the notify function sends."""
    at = at or now()
    digests = reminders = 0
    for alert in AdminAlertItem.gsi3.query(
        DIGEST, AdminAlertItem.gsi3sk <= at.isoformat(), limit=SWEEP_LIMIT
    ):
        send, after = notices.on_window_end(_window(alert), at)
        if send:
            _move_window(alert, after, send)
            digests += save_if_unchanged(alert)  # a request changing it meanwhile: the next sweep
    for reminder in ReminderItem.gsi3.query(REMIND, ReminderItem.gsi3sk <= at.isoformat(), limit=SWEEP_LIMIT):
        reminder.due = True
        reminders += save_if_unchanged(reminder)
    return {"digests": digests, "reminders": reminders}
