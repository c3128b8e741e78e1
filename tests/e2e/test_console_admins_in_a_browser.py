"""The organization admins' pages of the web console in Debian's Chromium, against `make run`'s stack: a
driver asks in one browser context while the admin, signed in through the local sign-in page in another,
sees the request arrive and approves it (both ways timed); an admin creates an organization and a
connection with questions, decides requests one by one and in bulk, removes a member, manages the admins,
and a busy answer is retried. Every page is checked with axe-core and photographed into .local/screenshots/,
and each is used with the keyboard somewhere below."""

import json
import time

import pytest
from playwright.sync_api import expect

from infra.template import ROOT
from tests.support.browser import READER, WAIT_MS, checked, ok, sign_in, tab_to, unique, worded

pytestmark = pytest.mark.e2e

TIMINGS = ROOT / ".local" / "console-timings.json"


def organization(stack, admin: str, **connection) -> dict:
    """An organization of `admin` with one private connection (set up through the API: the pages under
    test are the ones that use them)."""
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": unique("Org")}))[
        "organization_id"
    ]
    body = {"name": "Employees", "code": unique("STAFF").replace("-", "").upper()[:20], **connection}
    made = ok(stack.call("POST", f"/organizations/{org}/connections", user=admin, body=body))
    cid = made["connection_id"]
    return {
        "org": org,
        "cid": cid,
        "code": made["code"],
        "path": f"/organizations/{org}/connections/{cid}",
    }


def ask(stack, driver: str, place: dict, answers: dict | None = None) -> None:
    body = {"code": place["code"], "answers": answers or {}}
    ok(stack.call("POST", f"/connections/{place['cid']}/memberships", user=driver, body=body))


def status_of(stack, driver: str, place: dict) -> str:
    return ok(stack.call("GET", f"/me/memberships/{place['cid']}", user=driver))["status"]


def signed_in(browser, base: str, sub: str):
    """A page in a browser context of its own (its own session), signed in as `sub`."""
    page = browser.new_context(
        bypass_csp=True, **READER
    ).new_page()  # bypass_csp: axe-core is injected inline
    sign_in(page, base, sub)
    return page


def record(figures: dict) -> None:
    """Into .local/console-timings.json, keeping what other tests wrote there."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {}
    TIMINGS.write_text(json.dumps({**known, **figures}, indent=2) + "\n")


def test_a_driver_asks_by_code_and_the_admin_in_another_browser_sees_it_and_approves_it(stack, browser):
    admin, driver = unique("admin"), unique("dave")
    place = organization(
        stack,
        admin,
        questions=[
            {"id": "employee_id", "label": "Employee id (E and 4 digits)", "pattern": r"E\d{4}"},
            {"id": "site", "label": "Site", "kind": "choice", "choices": ["North", "South"]},
        ],
    )

    # Given the admin's queue, open in the admin's own browser context, with nothing waiting
    queue = signed_in(browser, stack.base, admin)
    queue.goto(f"{stack.base}/#{place['path']}/requests")
    expect(queue.get_by_text("No request waits for a decision.")).to_be_visible(timeout=WAIT_MS)

    # and a driver in another who finds the private connection by its code and answers wrongly
    page = signed_in(browser, stack.base, driver)
    page.get_by_label("Connection code").fill(place["code"].lower())
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="Employees")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Employee id").fill("X1")
    page.get_by_label("Site").select_option("South")
    page.get_by_role("button", name="Request").click()
    expect(page.locator("#answer-employee_id-error")).to_be_visible(timeout=WAIT_MS)

    # When the driver corrects the answer and clicks "Request"
    page.get_by_label("Employee id").fill("E2002")
    page.get_by_role("button", name="Request").click()
    requested = time.monotonic()

    # Then the admin's queue shows it by itself, with the answers under the questions' labels
    asked = queue.locator(f"[data-driver='{driver}']")
    expect(asked).to_be_visible(timeout=WAIT_MS)
    to_queue = time.monotonic() - requested
    expect(asked).to_contain_text(f"{driver}@example.com")
    expect(asked.locator("dt", has_text="Employee id (E and 4 digits)")).to_be_visible()
    expect(asked.locator("dd", has_text="E2002")).to_be_visible()
    expect(asked.locator("dd", has_text="South")).to_be_visible()
    mine = page.locator(f"[data-connection='{place['cid']}']")
    expect(mine.get_by_text("Pending", exact=True)).to_be_visible(timeout=WAIT_MS)
    checked(queue, "admin-requests")

    # When the admin approves it with the keyboard
    tab_to(queue, f"Approve {driver}@example.com")
    queue.keyboard.press("Enter")
    approved = time.monotonic()

    # Then the driver's page shows Active without a reload
    expect(mine.get_by_text("Active", exact=True)).to_be_visible(timeout=WAIT_MS)
    to_active = time.monotonic() - approved
    expect(queue.get_by_text(f"Approved {driver}@example.com.")).to_be_visible()
    figures = {
        "request_to_admin_queue_ms": round(to_queue * 1000),
        "approve_to_driver_active_ms": round(to_active * 1000),
    }
    print(
        f"\nrequest -> admin's queue shows it {figures['request_to_admin_queue_ms']} ms; "
        f"approve -> driver's page shows Active {figures['approve_to_driver_active_ms']} ms"
    )
    record(figures)
    queue.context.close()
    page.context.close()


def test_an_admin_creates_an_organization_and_a_connection_with_questions(stack, browser):
    admin = unique("olga")
    page = signed_in(browser, stack.base, admin)

    # Given the admin's organizations (none yet), they create one with the keyboard and land in it
    page.goto(f"{stack.base}/#/organizations")
    expect(page.get_by_text("You administer no organization yet.")).to_be_visible(timeout=WAIT_MS)
    checked(page, "admin-organizations")
    tab_to(page, "Organization name")
    page.keyboard.type("Olga's Garages")
    page.keyboard.press("Enter")
    expect(page.get_by_text("No connection yet")).to_be_visible(timeout=WAIT_MS)
    org = page.url.split("/organizations/")[1].split("/")[0]
    checked(page, "admin-connections-none")

    # When they write a connection with two questions, the second a choice with no choices
    tab_to(page, "New connection")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New connection")).to_be_visible(timeout=WAIT_MS)
    tab_to(page, "Name")
    page.keyboard.type("Night shift")
    for label, key in (("Badge number", "badge"), ("Depot", "depot")):
        tab_to(page, "Add a question")
        page.keyboard.press("Enter")
        question = page.locator("fieldset.question").last
        question.get_by_label("Label").fill(label)
        question.get_by_label("Answer key").fill(key)
    first, second = page.locator("fieldset.question").nth(0), page.locator("fieldset.question").nth(1)
    first.get_by_label("Pattern").fill(r"B\d{3}")
    second.get_by_label("Kind of answer").select_option("choice")
    page.get_by_role("button", name="Create connection").click()

    # Then the API's error shows beside the second question, and the first has none
    expect(second.locator(".field-error")).to_contain_text("choice", timeout=WAIT_MS)
    assert first.locator(".field-error").count() == 0
    checked(page, "admin-connection-question-error")

    # When they give the choices and create it (its code generated): its page, with the code
    second.get_by_label("Choices").fill("Depot A\nDepot B")
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_text("Created.")).to_be_visible(timeout=WAIT_MS)
    cid = page.url.split("/connections/")[1]
    code = page.get_by_label("Connection code").input_value()
    assert 6 <= len(code) <= 20
    checked(page, "admin-connection")

    # and they move the choice first, ask for re-verification every 30 days, disable it, approve by
    # email domain (forgetting the domains at first: told beside them) and save
    page.get_by_role("button", name="Move up question 2").click()
    page.get_by_label("Re-verification period").fill("30")
    page.get_by_label("Enabled").uncheck()
    page.get_by_label("Approval").select_option("email_domain")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#c-domains-error")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Email domains").fill("night.example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=WAIT_MS)
    saved = ok(stack.call("GET", f"/organizations/{org}/connections/{cid}", user=admin))
    assert [q["id"] for q in saved["questions"]] == ["depot", "badge"]
    assert saved["questions"][0]["choices"] == ["Depot A", "Depot B"]
    assert saved["questions"][1]["pattern"] == r"B\d{3}"
    assert (saved["reverify_days"], saved["enabled"], saved["public"]) == (30, False, False)
    assert (saved["approval_mode"], saved["email_domains"]) == ("email_domain", ["night.example"])

    # then clear the period, and regenerate the code: the old one no longer finds it
    page.get_by_role("button", name="Clear the period").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Generate a new code").click()
    expect(page.get_by_text("New code:")).to_be_visible(timeout=WAIT_MS)
    saved = ok(stack.call("GET", f"/organizations/{org}/connections/{cid}", user=admin))
    assert saved["reverify_days"] is None and saved["code"] != code
    assert page.get_by_label("Connection code").input_value() == saved["code"]

    # and the organization's list shows it disabled and private, with its code
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Connections").click()
    listed = page.locator(f"[data-connection='{cid}']")
    expect(listed).to_contain_text("Disabled", timeout=WAIT_MS)
    expect(listed).to_contain_text("Private")
    expect(listed).to_contain_text(saved["code"])
    checked(page, "admin-connections")
    page.context.close()


def test_an_admin_denies_one_with_a_message_and_approves_the_rest_at_once(stack, browser):
    admin = unique("admin")
    place = organization(stack, admin)
    refused, *others = drivers = [unique(name) for name in ("ron", "sue", "tom")]
    for driver in drivers:
        ask(stack, driver, place)
    page = signed_in(browser, stack.base, admin)
    page.goto(f"{stack.base}/#{place['path']}/requests")
    expect(page.locator("[data-driver]")).to_have_count(3, timeout=WAIT_MS)

    # When the admin denies one, with a message that holds markup
    message = "Only <b>staff</b> badges, sorry."
    page.get_by_label(f"Message to {refused}@example.com").fill(message)
    page.get_by_role("button", name=f"Deny {refused}@example.com").click()
    expect(page.locator("[data-driver]")).to_have_count(2, timeout=WAIT_MS)

    # and selects all the others shown and approves them at once
    page.get_by_label("Select all shown").check()
    page.get_by_role("button", name="Approve selected (2)").click()
    expect(page.get_by_text("Approved 2 of 2.")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("No request waits for a decision.")).to_be_visible()
    assert [status_of(stack, d, place) for d in others] == ["active", "active"]
    page.context.close()

    # Then the refused driver reads the message, as text
    page = signed_in(browser, stack.base, refused)
    page.goto(f"{stack.base}/#/memberships")
    mine = page.locator(f"[data-connection='{place['cid']}']")
    expect(mine.get_by_text("Denied", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(mine.locator(".message")).to_have_text(message)
    page.context.close()


def test_an_admin_removes_a_member_and_manages_the_admins(stack, browser):
    admin, member = unique("admin"), unique("max")
    place = organization(stack, admin, approval_mode="auto")
    ask(stack, member, place)
    page = signed_in(browser, stack.base, admin)

    # Given the members page, the admin removes the member, confirming first (with the keyboard)
    page.goto(f"{stack.base}/#{place['path']}/members")
    listed = page.locator(f"[data-driver='{member}']")
    expect(listed).to_contain_text(f"{member}@example.com", timeout=WAIT_MS)
    (shown,) = ok(
        stack.call("GET", f"/organizations/{place['org']}/connections/{place['cid']}/members", user=admin)
    )["items"]
    expect(listed).to_contain_text(f"Member since {worded(shown['decided_at'])}")
    checked(page, "admin-members")
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, f"Remove {member}@example.com")
    page.keyboard.press("Enter")
    expect(listed).to_have_count(0, timeout=WAIT_MS)
    assert status_of(stack, member, place) == "removed"

    # When the admin adds another admin by address, with the keyboard
    page.goto(f"{stack.base}/#/organizations/{place['org']}/admins")
    mine = page.locator(f"[data-admin='{admin}@example.com']")
    (me,) = ok(stack.call("GET", f"/organizations/{place['org']}/admins", user=admin))
    expect(mine).to_contain_text(f"Added by {me['added_by']} on {worded(me['added_at'])}", timeout=WAIT_MS)
    other = f"{unique('nina')}@example.com"
    tab_to(page, "Their sign-in email address")
    page.keyboard.type(other)
    page.keyboard.press("Enter")
    theirs = page.locator(f"[data-admin='{other}']")
    expect(theirs).to_contain_text("has not signed in yet", timeout=WAIT_MS)
    checked(page, "admin-admins")

    # and removes them again, then tries to remove themself, the last one: the API's refusal is shown
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {other}").click()
    expect(theirs).to_have_count(0, timeout=WAIT_MS)
    last = stack.call("DELETE", f"/organizations/{place['org']}/admins/{admin}@example.com", user=admin)
    assert last[0] == 409, last
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {admin}@example.com").click()
    expect(page.get_by_role("alert")).to_have_text(last[1]["message"], timeout=WAIT_MS)
    expect(mine).to_be_visible()
    checked(page, "admin-admins-last-one")

    # and turns their own alerts about new requests off
    expect(page.get_by_role("status").locator("strong")).to_have_text("on")
    page.get_by_role("button", name="Turn my alerts off").click()
    expect(page.get_by_role("button", name="Turn my alerts on")).to_be_visible(timeout=WAIT_MS)
    alerts = ok(stack.call("GET", f"/organizations/{place['org']}/admins/me/alerts", user=admin))
    assert alerts == {"new_requests": False}
    page.context.close()


def test_a_busy_answer_is_retried_with_the_same_idempotency_key(stack, browser):
    admin, driver = unique("admin"), unique("uma")
    place = organization(stack, admin)
    ask(stack, driver, place)
    page = signed_in(browser, stack.base, admin)

    # A fake answer, because the local stack is never busy on demand: the first approval is answered
    # `503 busy` as a contended DynamoDB makes the API answer; the retry reaches the real API.
    keys: list[str] = []

    def busy_once(route):
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body=json.dumps({"error": "busy", "message": "Busy; try again.", "fields": {}}),
            )
        else:
            route.continue_()

    page.route(f"**{place['path']}/requests/{driver}/approve", busy_once)
    page.goto(f"{stack.base}/#{place['path']}/requests")
    page.get_by_role("button", name=f"Approve {driver}@example.com").click()

    # Then the console tried again by itself, with the same key, and the approval went through
    expect(page.get_by_text(f"Approved {driver}@example.com.")).to_be_visible(timeout=WAIT_MS)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    assert page.get_by_role("alert").count() == 0
    assert status_of(stack, driver, place) == "active"
    page.context.close()
