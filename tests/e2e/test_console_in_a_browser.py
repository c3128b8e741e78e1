"""The web console (web/, served by `make run` at /) in Debian's Chromium: a driver's whole way in, done with
the keyboard alone, what a stranger sees and is told, and a refused driver reading why. The admin's
decisions go through the API here (the admins' pages: test_console_admins_in_a_browser.py). Every page is
checked with axe-core and photographed into .local/screenshots/."""

import gzip
import random
import re
import time
import urllib.error
import urllib.request
import uuid
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for
from tests.support.browser import BUILT, WAIT_MS, checked, ok, sign_in, tab_to, unique

pytestmark = pytest.mark.e2e

FIRST_PAGE_BUDGET = 150 * 1024  # bytes of JavaScript and CSS, gzip-compressed
CODE = re.compile(r"\b([A-Z0-9]{4})-([A-Z0-9]{4})\b")  # as emailed: two groups of four


@pytest.fixture(scope="module")
def acme(stack):
    """An organization with a private connection (manual approval, questions of several kinds), a station
    for its members that everyone sees, and one only its members see, somewhere no other test puts any."""
    admin = unique("admin")
    lat, lng = random.uniform(10, 20), random.uniform(-20, -10)
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": "Acme Corp"}))["organization_id"]
    connection = ok(
        stack.call(
            "POST",
            f"/organizations/{org}/connections",
            user=admin,
            body={
                "name": "Employees",
                "description": "Free charging at the Acme campus for staff.",
                "public": False,
                "code": unique("STAFF").upper(),
                "approval_mode": "manual",
                "questions": [
                    {"id": "employee_id", "label": "Employee id (E and 4 digits)", "pattern": r"E\d{4}"},
                    {"id": "work_email", "label": "Work email", "kind": "email"},
                    {"id": "floor", "label": "Floor", "kind": "number"},
                    {"id": "site", "label": "Site", "kind": "choice", "choices": ["North", "South"]},
                ],
            },
        )
    )
    cid = connection["connection_id"]
    campus = ok(
        stack.call(
            "POST",
            f"/organizations/{org}/policies",
            user=admin,
            body={"name": "Campus", "connection_ids": [cid]},
        )
    )["policy_id"]
    garage = ok(
        stack.call(
            "POST",
            f"/organizations/{org}/policies",
            user=admin,
            body={"name": "Garage", "connection_ids": [cid], "visible_to": [cid]},
        )
    )["policy_id"]
    stations = {"campus": unique("CAMPUS"), "garage": unique("GARAGE")}
    for n, (kind, policy) in enumerate((("campus", campus), ("garage", garage))):
        stack.provision(stations[kind], org)
        body = {
            "station_id": stations[kind],
            "name": f"{kind.title()} bay {n + 1}",
            "policy_id": policy,
            "latitude": lat + 0.001 * n,
            "longitude": lng,
        }
        ok(stack.call("POST", f"/organizations/{org}/stations", user=admin, body=body))
    return {
        "admin": admin,
        "org": org,
        "cid": cid,
        "code": connection["code"],
        "place": (lat, lng),
        "stations": stations,
        "requests": f"/organizations/{org}/connections/{cid}/requests",
    }


def test_a_driver_finds_a_private_connection_by_code_and_sees_pending_turn_active_by_keyboard_alone(
    stack, browser, acme
):
    driver = unique("dave")
    page = browser.new_context(bypass_csp=True).new_page()  # bypass_csp: axe-core is injected inline

    # Given the console's sign-in page, the driver signs in with the keyboard alone
    page.goto(f"{stack.base}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Sign in as alice")).to_be_visible()  # the demo's people
    checked(page, "sign-in")
    tab_to(page, "User name")
    page.keyboard.type(driver)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible(timeout=WAIT_MS)
    checked(page, "connections")

    # registers a card
    tab_to(page, "My cards")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My cards")).to_be_visible(timeout=WAIT_MS)
    card = uuid.uuid4().hex[:8].upper()
    tab_to(page, "Card id")
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    expect(page.get_by_text(card, exact=True)).to_be_visible(timeout=WAIT_MS)
    checked(page, "cards")

    # enters the code as people type it: lower case, spaces and dashes
    tab_to(page, "Connections")
    page.keyboard.press("Enter")
    tab_to(page, "Connection code")
    code = acme["code"]
    page.keyboard.type(f" {code[:5].lower()}-{code[5:].lower()} ")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Employees")).to_be_visible(timeout=WAIT_MS)

    # sees the right input for each kind of question
    assert page.get_by_label("Work email").get_attribute("type") == "email"
    assert page.get_by_label("Floor").get_attribute("type") == "number"
    assert page.get_by_label("Site").evaluate("e => e.tagName") == "SELECT"

    # answers with a wrong employee id and reads the error beside that field
    tab_to(page, "Employee id")
    page.keyboard.type("X1")
    page.keyboard.press("Tab")
    page.keyboard.type(f"{driver}@acme.example")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("North")  # a closed select picks the option its typed letters begin
    tab_to(page, "Request")
    page.keyboard.press("Enter")
    field_error = page.locator("#answer-employee_id-error")
    expect(field_error).to_be_visible(timeout=WAIT_MS)
    assert page.get_by_label("Employee id").get_attribute("aria-describedby") == "answer-employee_id-error"
    checked(page, "request-with-a-field-error")

    # corrects it and sends the request: Pending
    tab_to(page, "Employee id")
    page.keyboard.press("Control+A")
    page.keyboard.type("E2002")
    tab_to(page, "Request")
    requested = time.monotonic()
    page.keyboard.press("Enter")
    mine = page.locator(f"[data-connection='{acme['cid']}']")
    expect(mine.get_by_text("Pending", exact=True)).to_be_visible(timeout=WAIT_MS)
    checked(page, "memberships-pending")

    # When the admin's queue shows the request and the admin approves it (through the API)
    def queued():
        return driver in {
            r["driver_id"] for r in ok(stack.call("GET", acme["requests"], user=acme["admin"]))["items"]
        }

    assert wait_for(queued, timeout=20, every=0.05), "the request never reached the admin's queue"
    in_queue = time.monotonic() - requested
    approved = time.monotonic()
    ok(stack.call("POST", f"{acme['requests']}/{driver}/approve", user=acme["admin"]))

    # Then the driver's page turns Active by itself, and tells on how many stations the access arrived
    expect(mine.get_by_text("Active", exact=True)).to_be_visible(timeout=WAIT_MS)
    shown_active = time.monotonic() - approved
    expect(mine.locator(".delivery")).to_contain_text(
        re.compile(r"reached \d+ of 2 stations"), timeout=WAIT_MS
    )
    checked(page, "memberships-active")
    print(
        f"\nrequest -> admin's queue {in_queue * 1000:.0f} ms; "
        f"approve -> driver sees Active {shown_active * 1000:.0f} ms"
    )

    # and as a member, both stations are near the place, the members-only one included
    lat, lng = acme["place"]
    page.goto(f"{stack.base}/#/stations?lat={lat}&lng={lng}&radius_km=1")
    expect(page.locator(f"[data-station='{acme['stations']['garage']}']")).to_be_visible(timeout=WAIT_MS)
    checked(page, "stations-for-a-member")
    page.context.close()


def test_a_stranger_never_sees_the_hidden_station_and_reads_why_they_cannot_charge(stack, browser, acme):
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, stack.base, unique("erin"))
    lat, lng = acme["place"]

    # When a driver who is no member searches near the place
    page.goto(f"{stack.base}/#/stations?lat={lat}&lng={lng}&radius_km=1")
    campus = page.locator(f"[data-station='{acme['stations']['campus']}']")
    expect(campus).to_be_visible(timeout=WAIT_MS)
    checked(page, "stations-for-a-stranger")

    # Then the members-only station is nowhere in the list, nor behind its own address
    assert page.locator(f"[data-station='{acme['stations']['garage']}']").count() == 0
    assert "Garage" not in page.inner_text("main")
    page.goto(f"{stack.base}/#/stations/{acme['stations']['garage']}")
    expect(page.get_by_role("alert")).to_be_visible(timeout=WAIT_MS)
    assert "Garage" not in page.inner_text("main")

    # and at the station they see, they read why they cannot charge and what to do
    page.goto(f"{stack.base}/#/stations?lat={lat}&lng={lng}&radius_km=1")
    campus.get_by_role("link").click()
    expect(page.get_by_role("heading", name="You cannot charge here now")).to_be_visible(timeout=WAIT_MS)
    assert page.locator(".why").inner_text().strip()
    checked(page, "station-refused")
    page.context.close()


def test_a_refused_driver_reads_the_organizations_message(stack, browser, acme):
    driver = unique("frank")
    ok(
        stack.call(
            "POST",
            f"/connections/{acme['cid']}/memberships",
            user=driver,
            body={
                "code": acme["code"],
                "answers": {
                    "employee_id": "E3003",
                    "work_email": "f@acme.example",
                    "floor": 1,
                    "site": "North",
                },
            },
        )
    )
    message = "Please use your work badge number <b>not</b> a guess."
    ok(stack.call("POST", f"{acme['requests']}/{driver}/deny", user=acme["admin"], body={"message": message}))

    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, stack.base, driver)
    page.goto(f"{stack.base}/#/memberships")
    mine = page.locator(f"[data-connection='{acme['cid']}']")
    expect(mine.get_by_text("Denied", exact=True)).to_be_visible(timeout=WAIT_MS)
    # The organization's words, as text: what someone typed is never markup on the page
    expect(mine.locator(".message")).to_have_text(message)
    assert mine.locator(".message b").count() == 0
    checked(page, "memberships-denied")
    page.context.close()


def test_a_driver_withdraws_a_pending_request(stack, browser, acme):
    driver = unique("kim")
    answers = {"employee_id": "E4004", "work_email": "k@acme.example", "floor": 2, "site": "South"}
    body = {"code": acme["code"], "answers": answers}
    ok(stack.call("POST", f"/connections/{acme['cid']}/memberships", user=driver, body=body))
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, stack.base, driver)
    page.goto(f"{stack.base}/#/memberships")
    mine = page.locator(f"[data-connection='{acme['cid']}']")
    mine.get_by_role("button", name="Withdraw request").click()
    expect(mine).to_have_count(0, timeout=WAIT_MS)
    # and the admin's queue no longer holds it
    queue = ok(stack.call("GET", acme["requests"], user=acme["admin"]))["items"]
    assert driver not in {r["driver_id"] for r in queue}
    page.context.close()


def test_a_driver_confirms_a_work_address_by_typing_the_code_or_by_the_emails_link_and_leaves(stack, browser):
    # Given a public connection approved by a work address's domain
    admin, typist, clicker = unique("admin"), unique("gina"), unique("hal")
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": "Fleet Org"}))["organization_id"]
    name = unique("Fleet")
    body = {"name": name, "public": True, "approval_mode": "email_domain", "email_domains": ["fleet.example"]}
    cid = ok(stack.call("POST", f"/organizations/{org}/connections", user=admin, body=body))["connection_id"]

    # When a driver finds it by name among the public connections and asks with a work address
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, stack.base, typist)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name).click()
    page.get_by_label("Your address in that domain").fill(f"{typist}@fleet.example")
    checked(page, "request-by-email-domain")
    page.get_by_role("button", name="Request").click()

    # Then the page asks for the code sent there, and the code typed loosely confirms it: Active
    mine = page.locator(f"[data-connection='{cid}']")
    expect(mine.get_by_label(f"Code sent to {typist}@fleet.example")).to_be_visible(timeout=WAIT_MS)
    checked(page, "memberships-code-sent")
    code = emailed_code(stack, f"{typist}@fleet.example")
    mine.get_by_label("Code sent to").fill(f"{code[:4].lower()} {code[4:].lower()}")
    mine.get_by_role("button", name="Confirm").click()
    expect(mine.get_by_text("Active", exact=True)).to_be_visible(timeout=WAIT_MS)

    # and leaving it is one button away: the membership is gone from the list
    mine.get_by_role("button", name="Leave").click()
    expect(mine).to_have_count(0, timeout=WAIT_MS)
    page.context.close()

    # When another driver asks (through the API) and opens the email's link before signing in
    ask = {"answers": {}, "email": f"{clicker}@fleet.example"}
    ok(stack.call("POST", f"/connections/{cid}/memberships", user=clicker, body=ask))
    code = emailed_code(stack, f"{clicker}@fleet.example")
    page = browser.new_context(bypass_csp=True).new_page()
    page.goto(f"{stack.base}/#/memberships/{cid}/verify?code={code}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("User name").fill(clicker)
    page.get_by_role("button", name="Sign in", exact=True).click()

    # Then, signed in, the console confirms the address by itself
    confirmed = page.get_by_text(f"Confirmed: your membership of {name} is active.")
    expect(confirmed).to_be_visible(timeout=WAIT_MS)
    checked(page, "confirmed-by-link")
    page.context.close()


def emailed_code(stack, address: str) -> str:
    """The code in the latest email to `address`, from the local stack's outbox (SES in moto)."""

    def code():
        messages = [m for m in ok(stack.call("GET", "/_local/outbox"))["messages"] if address in m["to"]]
        found = messages and CODE.search(messages[-1]["text"])
        return found and "".join(found.groups())

    found = wait_for(code, timeout=20, every=0.1)
    assert found, f"no code emailed to {address}"
    return found


def test_too_many_wrong_codes_show_a_clear_wait(stack, browser):
    guesser = unique("guesser")
    for n in range(12):  # past the per-person limit on wrong codes
        status = stack.call("GET", f"/connections/by-code/NOPE{n}X{uuid.uuid4().hex[:6]}", user=guesser)[0]
        if status == 429:
            break
    assert status == 429

    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, stack.base, guesser)
    page.get_by_label("Connection code").fill("ANOTHER-GUESS")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text(re.compile(r"You can try again in \d+ s"))).to_be_visible(timeout=WAIT_MS)
    assert page.get_by_role("button", name="Find").is_disabled()
    checked(page, "code-too-many-tries")
    page.context.close()


def test_a_sign_in_the_api_refuses_sends_the_driver_to_sign_in_again_and_back(stack, browser):
    page = browser.new_context(bypass_csp=True).new_page()
    driver = unique("ivy")
    sign_in(page, stack.base, driver)
    # Given a token the API no longer accepts (its signature spoiled, as if the user pool's key changed)
    page.evaluate(
        """() => { const t = sessionStorage.getItem('connections.id_token');
                   sessionStorage.setItem('connections.id_token', t.slice(0, -4) + 'AAAA'); }"""
    )
    # When the driver opens a page that calls the API
    page.goto(f"{stack.base}/#/cards")
    page.reload()
    # Then the console asks them to sign in again, and brings them back where they were
    expect(page.get_by_text("Your sign-in has expired")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("User name").fill(driver)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="My cards")).to_be_visible(timeout=WAIT_MS)
    page.context.close()


def test_the_gateway_serves_the_console_and_nothing_else_from_its_folder(stack):
    def get(path: str) -> tuple[int, dict, bytes]:
        try:
            with urllib.request.urlopen(stack.base + path, timeout=10) as answer:  # noqa: S310 - local
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {}, error.read()

    status, headers, page = get("/")
    assert status == 200 and b'<div id="app">' in page
    assert "script-src 'self'" in headers["content-security-policy"]
    status, _, config = get("/config.json")
    assert status == 200 and b'"mode": "local"' in config
    # Only the assets' own names: a path that climbs out of the folder finds nothing
    assert get("/assets/../../package.json")[0] == 404
    assert get("/assets/../../../pyproject.toml")[0] == 404
    # The local sign-in signs in people by a plain name only
    status, refused, _ = stack.call("POST", "/_local/sign-in", body={"sub": "<script>", "email": "x"})
    assert status == 422 and set(refused["fields"]) == {"sub", "email"}
    status, people, _ = stack.call("GET", "/_local/people")
    assert [p["sub"] for p in people["people"]] == ["alice", "bob", "carol", "dave"]


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(a["src"])
        if tag == "link" and a.get("rel") in ("stylesheet", "modulepreload"):
            self.found.append(a["href"])


def test_the_first_page_stays_small():
    # What index.html makes the browser fetch before anything shows (pages past the first load on demand)
    assert (BUILT / "index.html").is_file(), "the console is not built: run `make console` (make test does)"
    parser = _Assets()
    parser.feed((BUILT / "index.html").read_text())
    assert parser.found, "index.html names no script"
    sizes = {src: len(gzip.compress((BUILT / src.lstrip("/")).read_bytes(), 9)) for src in parser.found}
    total = sum(sizes.values())
    print(f"\nfirst page: {total / 1024:.1f} KB compressed {sizes}")
    assert total < FIRST_PAGE_BUDGET, sizes
