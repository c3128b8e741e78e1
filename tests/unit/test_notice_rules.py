"""Which emails a change calls for, the admins' alert windows, reminders, verification codes and what SES
reports: the pure rules (each feature's pure modules), no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from connections.email.addresses import sendable
from connections.email.feedback import suppressions
from connections.email.notices import (
    ALERT_WINDOW,
    AlertWindow,
    Notice,
    Seen,
    alerts_admins,
    driver_notices,
    needs_reminder,
    on_new_request,
    on_window_end,
    reminder_at,
)
from connections.memberships import one_time_codes
from connections.memberships.state_machine import Status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (Seen(Status.PENDING), Seen(Status.ACTIVE, LATER), [Notice.APPROVED]),
        (None, Seen(Status.ACTIVE), [Notice.APPROVED]),  # approved at once
        (Seen(Status.DENIED), Seen(Status.ACTIVE), [Notice.APPROVED]),  # asked again, approved at once
        (Seen(Status.PENDING), Seen(Status.DENIED), [Notice.DENIED]),
        (Seen(Status.ACTIVE), Seen(Status.REMOVED), [Notice.REMOVED]),
        (Seen(Status.ACTIVE, NOW), Seen(Status.EXPIRED, NOW), [Notice.EXPIRED]),
        (Seen(Status.PENDING), Seen(Status.WITHDRAWN), []),  # the driver's own doing
        (Seen(Status.ACTIVE), Seen(Status.LEFT), []),
        (Seen(Status.ACTIVE, NOW), Seen(Status.ACTIVE, LATER), []),  # renewed by the driver
        (None, Seen(Status.PENDING), []),  # the admins hear of it, not the driver
        (Seen(Status.ACTIVE), Seen(Status.ACTIVE), []),  # written again unchanged
        (None, Seen(Status.PENDING, None, NOW), [Notice.VERIFY_EMAIL]),
        (Seen(Status.PENDING, None, NOW), Seen(Status.PENDING, None, NOW), []),  # the same code request
        (Seen(Status.PENDING, None, NOW), Seen(Status.PENDING, None, LATER), [Notice.VERIFY_EMAIL]),
        (Seen(Status.ACTIVE, LATER), Seen(Status.ACTIVE, LATER, NOW), [Notice.VERIFY_EMAIL]),  # renewal
        (Seen(Status.PENDING, None, NOW), Seen(Status.ACTIVE, LATER), [Notice.APPROVED]),  # code confirmed
    ],
)
def test_the_driver_hears_of_what_others_decided(old, new, expected):
    assert driver_notices(old, new) == expected


@pytest.mark.parametrize(
    ("old", "new", "alerts"),
    [
        (None, Seen(Status.PENDING), True),
        (Seen(Status.DENIED), Seen(Status.PENDING), True),  # asked again
        (Seen(Status.PENDING), Seen(Status.PENDING), False),  # the same request written again
        (None, Seen(Status.PENDING, None, NOW), False),  # waits for the driver's code, not for an admin
        (None, Seen(Status.ACTIVE), False),
        (Seen(Status.PENDING), Seen(Status.ACTIVE), False),
    ],
)
def test_admins_hear_of_requests_that_wait_for_them(old, new, alerts):
    assert alerts_admins(old, new) is alerts


def test_a_reminder_is_scheduled_for_each_new_reverification_date():
    assert needs_reminder(None, Seen(Status.ACTIVE, LATER))
    assert needs_reminder(Seen(Status.PENDING), Seen(Status.ACTIVE, LATER))
    assert needs_reminder(Seen(Status.ACTIVE, NOW), Seen(Status.ACTIVE, LATER))  # renewed
    assert not needs_reminder(Seen(Status.ACTIVE, LATER), Seen(Status.ACTIVE, LATER))
    assert not needs_reminder(None, Seen(Status.ACTIVE))  # no re-verification
    assert not needs_reminder(Seen(Status.ACTIVE, LATER), Seen(Status.REMOVED, LATER))


def test_the_reminder_comes_a_week_ahead_or_a_quarter_of_a_short_period_ahead():
    assert reminder_at(NOW, NOW + timedelta(days=365)) == NOW + timedelta(days=358)
    assert reminder_at(NOW, NOW + timedelta(days=28)) == NOW + timedelta(days=21)
    assert reminder_at(NOW, NOW + timedelta(days=1)) == NOW + timedelta(hours=18)


def test_the_first_request_after_a_quiet_spell_is_sent_at_once_and_opens_a_window():
    send, window = on_new_request(AlertWindow(), NOW, NOW)
    assert send and window == AlertWindow(ends=NOW + ALERT_WINDOW, listed_through=NOW)
    # and a window that has ended is like none
    later = NOW + timedelta(minutes=20)
    send, window = on_new_request(window, later, later)
    assert send and window == AlertWindow(ends=later + ALERT_WINDOW, listed_through=later)


def test_requests_while_a_window_is_open_wait_for_its_digest():
    open_window = AlertWindow(ends=NOW + timedelta(minutes=5), listed_through=NOW - timedelta(minutes=10))
    send, window = on_new_request(open_window, NOW, NOW)
    assert not send and window == AlertWindow(open_window.ends, True, open_window.listed_through)
    # a second one changes nothing more
    assert on_new_request(window, NOW, NOW + timedelta(minutes=1)) == (False, window)


def test_a_request_an_email_listed_already_changes_nothing_when_its_record_comes_again():
    listed = AlertWindow(ends=NOW + timedelta(minutes=5), listed_through=NOW)
    assert on_new_request(listed, NOW - timedelta(seconds=1), NOW + timedelta(minutes=1)) == (False, listed)
    ended = AlertWindow(ends=NOW - timedelta(minutes=1), listed_through=NOW - timedelta(minutes=16))
    assert on_new_request(ended, NOW - timedelta(minutes=20), NOW) == (False, ended)


def test_the_digest_goes_when_the_window_ends_and_opens_the_next_window():
    waiting = AlertWindow(ends=NOW, waiting=True)
    assert on_window_end(waiting, NOW - timedelta(seconds=1)) == (False, waiting)  # not yet
    swept = NOW + timedelta(minutes=1)
    assert on_window_end(waiting, swept) == (
        True,
        AlertWindow(ends=swept + ALERT_WINDOW, listed_through=swept),
    )
    assert on_window_end(AlertWindow(ends=NOW), NOW + timedelta(minutes=1))[0] is False  # nothing waits


def test_at_most_one_alert_per_window_whatever_arrives():
    # Given requests every 10 seconds for an hour, each record also delivered again a minute late, and a
    # sweep every minute
    window, sent = AlertWindow(), []
    for second in range(0, 3600, 10):
        at = NOW + timedelta(seconds=second)
        for requested in (at, at - timedelta(minutes=1)):
            send, window = on_new_request(window, requested, at)
            if send:
                sent.append(at)
        if second % 60 == 0:
            send, window = on_window_end(window, at)
            if send:
                sent.append(at)
    # Then the emails are at least a window apart, and every request was covered by one
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(sent) == 4 and all(gap >= ALERT_WINDOW for gap in gaps), sent
    assert window.waiting and window.listed_through == sent[-1]


def test_codes_use_the_unambiguous_alphabet_and_hash_with_a_salt():
    code, salt = one_time_codes.new_code(), one_time_codes.new_salt()
    assert len(code) == one_time_codes.CODE_LENGTH and set(code) <= set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    stored = one_time_codes.hash_code(code, salt)
    assert code not in stored and len(stored) == 64
    assert one_time_codes.hash_code(code, one_time_codes.new_salt()) != stored  # another salt, another hash


def test_a_code_matches_as_typed_in_any_case_with_spaces_or_the_dash():
    salt = one_time_codes.new_salt()
    stored = one_time_codes.hash_code("ABCD2345", salt)
    for typed in ("ABCD2345", "abcd-2345", " abcd 2345 ", one_time_codes.display("ABCD2345")):
        assert one_time_codes.matches(typed, salt, stored), typed
    for typed in ("ABCD2346", "ABCD234", "", "ABCD23455", "ABCD234!"):
        assert not one_time_codes.matches(typed, salt, stored), typed


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("dave@acme.com", True),
        ("d.o'brien+ev@mail.acme.co.uk", True),
        ("a,b@acme.com", False),  # a list
        ('"x"@acme.com', False),
        ("Dave <dave@acme.com>", False),
        ("dave@acme.com\r\nBcc: x@evil.example", False),
        ("dave@acme.com\n", False),  # `$` alone would let a trailing line break through
        ("dave@localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_only_one_plain_address_is_sendable(address, ok):
    assert sendable(address) is ok


def _bounce(kind: str, *addresses: str) -> dict:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": a, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550"}
                for a in addresses
            ],
        },
    }


def test_a_permanent_bounce_suppresses_each_bounced_address():
    found = suppressions(_bounce("Permanent", "Gone@Acme.com", "Old <old@acme.com>"))
    assert [(s.email, s.reason) for s in found] == [("gone@acme.com", "bounce"), ("old@acme.com", "bounce")]


def test_a_transient_bounce_suppresses_nothing():
    assert suppressions(_bounce("Transient", "full@acme.com")) == []


def test_a_complaint_suppresses_in_either_shape_ses_publishes():
    complaint = {
        "complainedRecipients": [{"emailAddress": "angry@acme.com"}],
        "complaintFeedbackType": "abuse",
    }
    for shape in ({"eventType": "Complaint"}, {"notificationType": "Complaint"}):
        found = suppressions({**shape, "complaint": complaint})
        assert [(s.email, s.reason, s.detail) for s in found] == [("angry@acme.com", "complaint", "abuse")]


def test_other_events_suppress_nothing():
    assert suppressions({"eventType": "Delivery", "delivery": {"recipients": ["a@acme.com"]}}) == []
    assert suppressions({"eventType": "Bounce"}) == []
    assert suppressions({}) == []
