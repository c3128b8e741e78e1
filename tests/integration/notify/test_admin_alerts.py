"""Admins hear of new requests at most once per connection every 15 minutes each: the first request after
a quiet spell at once, the rest in one digest when the window ends (the sweep), none lost. An admin may
turn the alerts off."""

from datetime import timedelta

from connections.email.dispatch import send_due_emails as sweep_at
from connections.email.items import AdminAlertItem
from connections.platform.table import now
from tests.support.aws import CONSOLE_URL
from tests.support.mail import failed, sent, sent_to
from tests.support.memberships import (
    ADA,
    BOB,
    EVE,
    admin_path,
    as_admin,
    decide,
    given_admin,
    given_connection,
    given_organization,
    given_pending,
)

ALERTS = "/admins/me/alerts"


def given_connection_with_two_admins() -> dict:
    organization = given_organization("Acme")
    given_admin(organization, BOB, signed_in=True)
    return given_connection(
        organization,
        name="Employees",
        questions=[{"id": "employee_id", "label": "Employee id", "required": False}],
    )


def window_end(connection: dict, admin: str = ADA):
    return AdminAlertItem.get(*AdminAlertItem.key(connection["connection_id"], admin)).window_ends


def test_the_first_request_alerts_every_admin_at_once_listing_what_waits(notify):
    connection = given_connection_with_two_admins()
    organization_id = connection["organization"]["organization_id"]
    connection_id = connection["connection_id"]
    given_pending(connection, "pat", answers={"employee_id": "<E1234>"})
    notify.drain()
    for admin in (ADA, BOB):
        (email,) = sent_to(admin)
        assert email["subject"] == "1 request to join Employees waits for you"
        assert "pat@example.com" in email["text"] and "Employee id: <E1234>" in email["text"]
        assert "Employee id: &lt;E1234&gt;" in email["html"]
        # with a link to the connection's requests in the console
        requests = f"{CONSOLE_URL}/#/organizations/{organization_id}/connections/{connection_id}/requests"
        assert f'href="{requests}"' in email["html"] and requests in email["text"]


def test_only_admins_who_signed_in_with_their_address_get_drivers_details(notify):
    # Given an admin added with a mistyped address, which nobody has signed in with
    organization = given_organization("Acme")
    given_admin(organization, "bob@fleet-typo.example")
    connection = given_connection(organization, name="Employees")
    given_pending(connection, "pat")
    notify.drain()
    # Then the request's details go to Ada only
    assert [m["to"] for m in sent()] == [[ADA]]
    # And once Bob signs in with the address and uses the organization, he hears of the next requests
    given_admin(organization, BOB, signed_in=True)
    given_pending(connection, "lee")
    notify.drain()
    assert len(sent_to(BOB)) == 1 and sent_to("bob@fleet-typo.example") == []


def test_a_burst_waits_for_one_digest_per_admin_at_the_end_of_the_window(notify):
    # Given a first request, alerted at once
    connection = given_connection_with_two_admins()
    given_pending(connection, "driver-0")
    notify.drain()
    assert len(sent()) == 2
    # When 12 more arrive within the window, across several batches
    for n in range(1, 13):
        given_pending(connection, f"driver-{n}")
        if n % 5 == 0:
            notify.drain()
    notify.drain()
    # Then nobody gets another email until the window ends
    assert len(sent()) == 2
    assert sweep_at(now()) == {"digests": 0, "reminders": 0}
    # And at its end one digest per admin lists all 13 that wait (one decided meanwhile is not listed)
    decide(connection, "driver-0", "approve")
    assert sweep_at(window_end(connection) + timedelta(seconds=1)) == {"digests": 2, "reminders": 0}
    notify.drain()
    for admin in (ADA, BOB):
        first, digest = sent_to(admin)
        assert digest["subject"] == "12 requests to join Employees wait for you"
        assert all(f"driver-{n}@example.com" in digest["text"] for n in range(1, 13))
        assert "driver-0@example.com" not in digest["text"]
    # And a sweep right after sends nothing more
    assert sweep_at(window_end(connection) + timedelta(seconds=2))["digests"] == 0
    notify.drain()
    assert len(sent_to(ADA)) == len(sent_to(BOB)) == 2


def test_a_window_that_ends_with_nothing_new_sends_no_digest(notify):
    connection = given_connection_with_two_admins()
    given_pending(connection)
    notify.drain()
    assert sweep_at(window_end(connection) + timedelta(minutes=1))["digests"] == 0
    notify.drain()
    assert len(sent()) == 2


def test_a_request_after_the_window_alerts_at_once_again(notify):
    connection = given_connection_with_two_admins()
    given_pending(connection, "driver-1")
    notify.drain()
    # Given the window ended (moved into the past: the clock cannot be moved forward)
    for admin in (ADA, BOB):
        alert = AdminAlertItem.get(*AdminAlertItem.key(connection["connection_id"], admin))
        alert.window_ends = now() - timedelta(seconds=1)
        alert.save()
    notify.drain()
    given_pending(connection, "driver-2")
    notify.drain()
    assert [m["subject"] for m in sent_to(ADA)] == [
        "1 request to join Employees waits for you",
        "2 requests to join Employees wait for you",
    ]


def test_an_alert_after_the_window_item_expired_is_sent(notify):
    connection = given_connection_with_two_admins()
    given_pending(connection, "driver-1")
    notify.drain()
    # Given the window items were deleted by their TTL (a day after the window ended), while the emails'
    # idempotency records (2 days) still remember the first alert
    for admin in (ADA, BOB):
        AdminAlertItem.get(*AdminAlertItem.key(connection["connection_id"], admin)).delete()
    notify.drain()
    # When the next request opens new windows, each admin is alerted again
    given_pending(connection, "driver-2")
    notify.drain()
    assert len(sent_to(ADA)) == len(sent_to(BOB)) == 2


def test_redelivered_records_do_not_alert_twice(notify):
    connection = given_connection_with_two_admins()
    given_pending(connection)
    records = notify.new_records()
    assert failed(notify.deliver(records)) == [] and failed(notify.deliver(records)) == []
    alerts = notify.new_records()
    assert len(alerts) == 2  # one window opened per admin
    assert failed(notify.deliver(alerts)) == [] and failed(notify.deliver(alerts + alerts)) == []
    notify.drain()
    assert len(sent()) == 2


def test_an_admin_can_turn_new_request_alerts_off_and_on(notify):
    connection = given_connection_with_two_admins()
    organization = connection["organization"]["organization_id"]
    path = f"/organizations/{organization}{ALERTS}"
    assert as_admin("GET", path, email=BOB).body == {"new_requests": True}
    # When Bob turns them off
    answer = as_admin("PUT", path, email=BOB, body={"new_requests": False})
    assert (answer.status, answer.body) == (200, {"new_requests": False})
    assert as_admin("GET", path, email=BOB).body == {"new_requests": False}
    given_pending(connection)
    notify.drain()
    # Then only Ada hears of the request
    assert [m["to"] for m in sent()] == [[ADA]]
    # And when he turns them on again, he hears of the next one
    as_admin("PUT", path, email=BOB, body={"new_requests": True})
    given_pending(connection, "driver-2")
    notify.drain()
    assert len(sent_to(BOB)) == 1


def test_alert_settings_are_an_admins_own_and_need_a_boolean():
    connection = given_connection_with_two_admins()
    organization = connection["organization"]["organization_id"]
    path = f"/organizations/{organization}{ALERTS}"
    assert as_admin("GET", path, email=EVE).status == 404  # not an admin of this organization
    assert as_admin("PUT", path, email=EVE, body={"new_requests": False}).status == 404
    refused = as_admin("PUT", path, body={"new_requests": "sometimes"})
    assert refused.status == 422 and "new_requests" in refused.body["fields"]
    assert as_admin("GET", admin_path(connection, "/requests")).status == 200


def test_a_request_waiting_for_the_drivers_code_alerts_nobody(notify):
    organization = given_organization("Acme")
    connection = given_connection(
        organization, name="Staff", public=True, approval_mode="email_domain", email_domains=["acme.example"]
    )
    from tests.support.memberships import request_membership

    assert request_membership(connection, body={"email": "pat@acme.example"}).status == 201
    notify.drain()
    assert sent_to(ADA) == [] and len(sent_to("pat@acme.example")) == 1
