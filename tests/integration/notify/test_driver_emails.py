"""The driver's emails, from the table's stream through the notify function to SES (moto): approved with
what the connection unlocks, denied with the organization's message, removed, expired, and the reminder
before a re-verification date. Exactly one email per event, however the stream delivers it."""

from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from connections.email import ses
from connections.email.dispatch import send_due_emails as sweep_at
from connections.email.items import ReminderItem
from connections.memberships.items import MembershipItem
from connections.platform.table import now
from tests.support.mail import failed, sent, sent_to, sweep
from tests.support.memberships import (
    DRIVER,
    OTHER_DRIVER,
    as_driver,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
    request_membership,
)
from tests.support.stations import given_policy, given_station, move_expiry, run_expiry

DRIVER_EMAIL = f"{DRIVER}@example.com"


@pytest.fixture
def connection() -> dict:
    return given_connection(
        given_organization("Acme"), name="Employees", description="Free charging at the campus."
    )


def test_an_approved_driver_learns_what_the_connection_unlocks(notify, connection):
    # Given a connection that unlocks two stations, and a pending request
    organization = connection["organization"]["organization_id"]
    policy = given_policy(organization, [connection["connection_id"]], name="Campus")
    given_station(organization, "HQ-1", policy["policy_id"], name="HQ garage, bay 1")
    given_station(organization, "HQ-2", policy["policy_id"], name="HQ garage, bay 2")
    given_pending(connection)
    notify.drain()
    # When an admin approves it
    decide(connection, DRIVER, "approve")
    notify.drain()
    # Then the driver gets one email, with both parts, naming the stations
    (email,) = sent_to(DRIVER_EMAIL)
    assert email["subject"] == "You are in: Employees by Acme"
    assert email["from"] == "no-reply@connections.example"
    for part in (email["text"], email["html"]):
        assert "Free charging at the campus." in part
        assert "HQ garage, bay 1" in part and "HQ garage, bay 2" in part


def test_an_approval_names_only_the_stations_the_driver_may_see(notify, connection):
    # Given a connection that unlocks an open station and one shown only to members of Staff
    organization = connection["organization"]["organization_id"]
    staff = given_connection(organization, name="Staff")
    shown = given_policy(organization, [connection["connection_id"]], name="Campus")
    hidden = given_policy(
        organization, [connection["connection_id"]], "Staff garage", {"visible_to": [staff["connection_id"]]}
    )
    given_station(organization, "HQ-1", shown["policy_id"], name="HQ garage, bay 1")
    given_station(organization, "STAFF-1", hidden["policy_id"], name="Staff garage, bay 1")
    # and two requests: a driver who is not on Staff, and one who is
    given_pending(connection)
    given_active(staff, OTHER_DRIVER)
    given_pending(connection, OTHER_DRIVER)
    notify.drain()

    # When an admin approves both
    decide(connection, DRIVER, "approve")
    decide(connection, OTHER_DRIVER, "approve")
    notify.drain()

    # Then each email names what its driver sees on the map: the Staff garage only for the Staff member
    (outsider,) = sent_to(DRIVER_EMAIL)
    insider = next(m for m in sent_to(f"{OTHER_DRIVER}@example.com") if "Employees" in m["subject"])
    for part in (outsider["text"], outsider["html"]):
        assert "HQ garage, bay 1" in part and "Staff garage" not in part and "1 more" not in part
    for part in (insider["text"], insider["html"]):
        assert "HQ garage, bay 1" in part and "Staff garage, bay 1" in part


def test_a_denied_driver_reads_the_message_escaped_in_html(notify, connection):
    given_pending(connection)
    message = 'Use your badge number <b>not</b> "E0000".'
    decide(connection, DRIVER, "deny", body={"message": message})
    notify.drain()
    (email,) = sent_to(DRIVER_EMAIL)
    assert email["subject"] == "Your request to join Employees was not approved"
    assert message in email["text"]
    assert "Use your badge number &lt;b&gt;not&lt;/b&gt; &#34;E0000&#34;." in email["html"]
    assert "<b>not</b>" not in email["html"]


def test_a_removed_member_is_told(notify, connection):
    given_active(connection)
    decide(connection, DRIVER, "remove")
    notify.drain()
    subjects = [m["subject"] for m in sent_to(DRIVER_EMAIL)]
    assert subjects == ["You are in: Employees by Acme", "Your membership of Employees has ended"]


def test_the_driver_withdrawing_or_leaving_gets_no_email(notify, connection):
    mine = f"/me/memberships/{connection['connection_id']}"
    # One driver withdraws a request (after asking again while pending, which changes nothing)
    given_pending(connection)
    request_membership(connection)
    assert as_driver("DELETE", mine).body["status"] == "withdrawn"
    # Another is approved, then leaves
    given_active(connection, "driver-2")
    assert as_driver("DELETE", mine, sub="driver-2").body["status"] == "left"
    notify.drain()
    # Then neither hears of what they just did themselves
    assert sent_to(DRIVER_EMAIL) == []
    assert [m["subject"] for m in sent_to("driver-2@example.com")] == ["You are in: Employees by Acme"]


def test_a_reminder_comes_before_the_reverification_date_and_expiry_is_told(notify):
    # Given a member of a connection that re-verifies every 30 days
    connection = given_connection(given_organization("Acme"), name="Residents", reverify_days=30)
    member = given_active(connection)
    notify.drain()
    reminder = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    assert reminder.remind_at == reminder.expires_at - timedelta(days=7)
    # When the sweep runs before the reminder's time, nothing; after it, the reminder goes once
    sweep()
    notify.drain()
    assert len(sent_to(DRIVER_EMAIL)) == 1  # the approval
    assert sweep_at(reminder.remind_at + timedelta(seconds=1)) == {"digests": 0, "reminders": 1}
    notify.drain()
    assert sweep_at(reminder.remind_at + timedelta(minutes=2)) == {"digests": 0, "reminders": 0}
    notify.drain()
    emails = sent_to(DRIVER_EMAIL)
    assert [m["subject"].split(" before ")[0] for m in emails] == [
        "You are in: Residents by Acme",
        "Confirm your membership of Residents",
    ]
    assert member["expires_at"] and "ask to join" in emails[1]["text"]
    # And when the date passes, the expiry sweep records it and the driver is told
    move_expiry(connection["connection_id"], DRIVER, now() - timedelta(seconds=1))
    notify.drain()
    run_expiry()
    notify.drain()
    assert sent_to(DRIVER_EMAIL)[-1]["subject"] == "Your membership of Residents has expired"


def test_a_renewal_moves_the_reminder_and_an_ended_membership_gets_none(notify):
    connection = given_connection(given_organization("Acme"), name="Residents", reverify_days=30)
    given_active(connection)
    notify.drain()
    old = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    # When the driver confirms again (asks while active), the reminder moves to the new date
    assert request_membership(connection).status == 201
    notify.drain()
    new = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    assert new.expires_at > old.expires_at and new.remind_at > old.remind_at
    # And when the member is removed before the reminder is due, the reminder sends nothing
    decide(connection, DRIVER, "remove")
    notify.drain()
    assert sweep_at(new.remind_at + timedelta(seconds=1))["reminders"] == 1
    notify.drain()
    assert [m["subject"] for m in sent_to(DRIVER_EMAIL)] == [
        "You are in: Residents by Acme",
        "Your membership of Residents has ended",
    ]


def test_a_reminder_that_comes_due_after_its_date_is_not_sent(notify, monkeypatch):
    connection = given_connection(given_organization("Acme"), name="Residents", reverify_days=30)
    given_active(connection)
    notify.drain()
    reminder = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    # Given the sweep ran late, after the date itself, and the expiry sweep has not recorded the lapse yet
    late = reminder.expires_at + timedelta(minutes=1)
    assert sweep_at(late)["reminders"] == 1
    monkeypatch.setattr("functions.notify.app.now", lambda: late)
    notify.drain()
    # Then no reminder asks the driver to act before a date that has passed
    assert [m["subject"] for m in sent_to(DRIVER_EMAIL)] == ["You are in: Residents by Acme"]


def test_duplicated_and_redelivered_records_send_each_email_once(notify, connection):
    # Given an approval and a denial on the stream
    given_pending(connection)
    given_pending(connection, "driver-2")
    decide(connection, DRIVER, "approve")
    decide(connection, "driver-2", "deny", body={"message": "No."})
    records = notify.new_records()
    # When the same records arrive twice in one batch, then again in another batch, reversed
    assert failed(notify.deliver(records + records)) == []
    assert failed(notify.deliver(list(reversed(records)))) == []
    notify.drain()
    # Then each driver has exactly one email
    assert len(sent_to(DRIVER_EMAIL)) == 1
    assert len(sent_to("driver-2@example.com")) == 1


class FlakySes:
    """SES through connections.email.ses, except that the next `failures` sends (to `only_to`, if given) are
    refused: throttled by default, or with another of SES's errors."""

    REFUSALS = {
        "TooManyRequestsException": "Maximum sending rate exceeded.",
        "MessageRejected": "Email address is not verified. The following identities failed the check.",
        "BadRequestException": "Missing final '@domain'",
    }

    def __init__(self, failures: int, code: str = "TooManyRequestsException", only_to: str | None = None):
        self.real, self.failures, self.calls = ses._ses(), failures, 0
        self.code, self.only_to = code, only_to

    def send_email(self, **kwargs):
        self.calls += 1
        aimed = self.only_to is None or self.only_to in kwargs["Destination"]["ToAddresses"]
        if self.failures and aimed:
            self.failures -= 1
            refusal = {"Error": {"Code": self.code, "Message": self.REFUSALS[self.code]}}
            raise ClientError(refusal, "SendEmail")
        return self.real.send_email(**kwargs)


def test_a_refused_send_fails_its_record_and_the_retry_sends_it_once(notify, connection, monkeypatch):
    flaky = FlakySes(failures=1)
    monkeypatch.setattr(ses, "_ses", lambda: flaky)
    given_pending(connection)
    given_pending(connection, "driver-2")
    decide(connection, DRIVER, "approve")
    decide(connection, "driver-2", "approve")
    records = notify.new_records()
    approvals = [r for r in records if r["dynamodb"]["NewImage"].get("status", {}).get("S") == "active"]
    # When SES refuses the first send
    reported = failed(notify.deliver(records))
    # Then that record is reported (Lambda retries from it), nothing is lost, and nothing is sent twice
    assert reported == [approvals[0]["dynamodb"]["SequenceNumber"]]
    assert len(sent()) == 1
    first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == reported[0])
    assert failed(notify.deliver(records[first:])) == []
    assert len(sent_to(DRIVER_EMAIL)) == 1 and len(sent_to("driver-2@example.com")) == 1
    assert flaky.calls == 3


def test_the_reminder_does_not_wait_for_an_approval_email_that_keeps_failing(notify, monkeypatch):
    # Given SES throttles every send, for longer than Lambda retries a record
    connection = given_connection(given_organization("Acme"), name="Residents", reverify_days=30)
    given_pending(connection)
    notify.drain()
    failing = FlakySes(failures=1000)
    monkeypatch.setattr(ses, "_ses", lambda: failing)
    decide(connection, DRIVER, "approve")
    (approval,) = notify.new_records()
    # When the approval's record fails every time (MaximumRetryAttempts: 5, then NotifyFailures)
    for _ in range(1 + 5):
        with pytest.raises(BatchProcessingError):  # its only record failed: the whole batch fails
            notify.deliver([approval])
    # Then the approval email waits in the failure queue, but the reminder was scheduled all the same
    reminder = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    membership = MembershipItem.get(*MembershipItem.key(connection["connection_id"], DRIVER))
    assert reminder.expires_at == membership.expires_at
    # And once SES accepts again, the record read back from the stream sends the approval, once
    monkeypatch.setattr(ses, "_ses", lambda: failing.real)
    assert failed(notify.deliver([approval])) == [] and failed(notify.deliver([approval])) == []
    assert [m["subject"] for m in sent_to(DRIVER_EMAIL)] == ["You are in: Residents by Acme"]


@pytest.mark.parametrize("code", ["MessageRejected", "BadRequestException"])
def test_an_email_ses_refuses_for_good_is_dropped_and_the_others_go_on(notify, connection, monkeypatch, code):
    refusing = FlakySes(failures=1000, code=code, only_to=DRIVER_EMAIL)
    monkeypatch.setattr(ses, "_ses", lambda: refusing)
    metrics = []
    monkeypatch.setattr(ses.metrics, "add_metric", lambda **kwargs: metrics.append(kwargs["name"]))
    given_pending(connection)
    given_pending(connection, "driver-2")
    decide(connection, DRIVER, "approve")
    decide(connection, "driver-2", "approve")
    records = notify.new_records()
    # When SES refuses the driver's email for good, the record does not fail (no retry holds the shard)
    assert failed(notify.deliver(records)) == []
    assert failed(notify.deliver(records)) == []  # nor does a redelivery ask SES again
    notify.drain()
    # Then that email is dropped and counted, and every other one is sent
    assert sent_to(DRIVER_EMAIL) == [] and len(sent_to("driver-2@example.com")) == 1
    assert refusing.calls == len(sent()) + 1
    assert metrics.count("EmailsRejected") == 1
