"""The link in an email, followed in Debian's Chromium: the email-domain code as `make run`'s stack sends it
(through the notify function and SES, read from /_local/outbox) links to the console's Verify page on the
stack's own URL, which, once the driver has signed in, confirms the address: the membership turns Active."""

import html
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_email_over_http import emails_to, given_connection, unique
from tests.support.browser import accessibility_problems, shoot

pytestmark = pytest.mark.e2e

WAIT_MS = 20_000  # for a page to show what the stack answered, on a loaded machine


def test_the_code_emails_link_opens_the_console_which_confirms_and_the_membership_turns_active(
    stack, browser
):
    admin, driver, work = unique("admin"), unique("driver"), f"{unique('pat')}@acme.example"
    _, connection = given_connection(
        stack, admin, approval_mode="email_domain", email_domains=["acme.example"]
    )
    cid = connection["connection_id"]
    status, membership, _ = stack.call(
        "POST",
        f"/connections/{cid}/memberships",
        user=driver,
        body={"code": connection["code"], "email": work},
    )
    assert (status, membership["status"]) == (201, "pending"), membership

    # The email to the work address links to the console's Verify page, with the code
    (email,) = emails_to(stack, work, 1)
    (link,) = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', email["html"])]
    assert link.startswith(f"{stack.base}/#/memberships/{cid}/verify?code=")
    assert link in email["text"]

    # Followed in a browser: the console asks who is there, then confirms
    page = browser.new_context(bypass_csp=True).new_page()  # bypass_csp: axe-core is injected inline
    page.goto(link)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("User name").fill(driver)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm your address")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Confirmed: your membership of Employees is active.")).to_be_visible(
        timeout=WAIT_MS
    )
    shoot(page, "verify-from-email")
    assert accessibility_problems(page) == []

    # And the membership is Active
    status, mine, _ = stack.call("GET", f"/me/memberships/{cid}", user=driver)
    assert (status, mine["status"], mine["verifying_email"]) == (200, "active", None)
