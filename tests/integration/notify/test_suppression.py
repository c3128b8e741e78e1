"""Bounces and complaints SES publishes (through the configuration set's SNS event destination) put the
address on the suppression list, and nothing is sent to a suppressed address again."""

from functions.notify.ses_events import handler as ses_events_handler
from tests.support.api import FakeLambdaContext
from tests.support.events import bounce, ses_event, sns_event
from tests.support.mail import sent_to
from tests.support.memberships import DRIVER, decide, given_connection, given_organization, given_pending

DRIVER_EMAIL = f"{DRIVER}@example.com"


def report(event: dict) -> dict:
    return ses_events_handler(sns_event(event), FakeLambdaContext())


def test_nothing_is_sent_to_an_address_that_bounced_for_good(notify):
    connection = given_connection(given_organization("Acme"), name="Employees")
    # Given SES reported a permanent bounce for the driver's address (twice: SNS delivers at least once)
    assert report(bounce(DRIVER_EMAIL.upper())) == {"suppressed": 1}
    assert report(bounce(DRIVER_EMAIL)) == {"suppressed": 0}
    # When the driver's request is approved
    given_pending(connection)
    decide(connection, DRIVER, "approve")
    notify.drain()
    # Then no email goes to it
    assert sent_to(DRIVER_EMAIL) == []


def test_a_complaint_suppresses_and_a_transient_bounce_does_not(notify):
    connection = given_connection(given_organization("Acme"), name="Employees")
    complaint = ses_event(
        "Complaint",
        "driver-2@example.com",
        complainedRecipients=[{"emailAddress": "driver-2@example.com"}],
        complaintFeedbackType="abuse",
        timestamp="2026-11-23T12:00:01.000Z",
        feedbackId="0100015e83b1ab8b-complaint",
    )
    assert report(complaint) == {"suppressed": 1}
    assert report(bounce(DRIVER_EMAIL, kind="Transient")) == {"suppressed": 0}
    for driver in (DRIVER, "driver-2"):
        given_pending(connection, driver)
        decide(connection, driver, "approve")
    notify.drain()
    assert len(sent_to(DRIVER_EMAIL)) == 1
    assert sent_to("driver-2@example.com") == []


def test_a_message_that_is_not_an_ses_event_is_skipped():
    event = sns_event({})
    event["Records"][0]["Sns"]["Message"] = "not json"
    assert ses_events_handler(event, FakeLambdaContext()) == {"suppressed": 0}
    assert report({"eventType": "Delivery", "delivery": {"recipients": [DRIVER_EMAIL]}}) == {"suppressed": 0}
