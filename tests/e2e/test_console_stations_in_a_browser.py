"""The organization admins' access policies and stations pages (web/src/pages/admin/Policies, PolicyEdit,
OrgStations, StationEdit) in Debian's Chromium against `make run`'s stack: an admin signed in through the
local sign-in page creates a members-only policy with the members' hours and price, registers a station
under it (a field error first), and watches real chargers (infra/local/chargers over the stack's OCPP
WebSocket) turn in sync or fail on the stations page, which refreshes itself; the preview by a member's
address shows the members' price, by a stranger's what a non-member gets. Every page: axe-core, a
screenshot, its main action with the keyboard."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from infra.local.chargers import Charger
from tests.e2e.conftest import wait_for
from tests.support.browser import WAIT_MS, checked, ok, sign_in, tab_to, unique

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(stack):
    """An organization with two private connections, a driver with two cards who asked to join it (pending),
    and a stranger with a card of their own (an account the organization never saw)."""
    admin, member, stranger = unique("admin"), unique("mia"), unique("stan")
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": "Acme Depot"}))["organization_id"]
    connection, night = (
        ok(stack.call("POST", f"/organizations/{org}/connections", user=admin, body={"name": name}))
        for name in ("Staff", "Night shift")
    )
    cards = [f"C{uuid.uuid4().hex[:11]}".upper() for _ in range(2)]
    for card in cards:
        ok(stack.call("POST", "/me/cards", user=member, body={"id_tag": card}))
    ok(stack.call("POST", "/me/cards", user=stranger, body={"id_tag": f"S{uuid.uuid4().hex[:11]}".upper()}))
    ask = {"code": connection["code"], "answers": {}}
    ok(stack.call("POST", f"/connections/{connection['connection_id']}/memberships", user=member, body=ask))
    return {
        "admin": admin,
        "org": org,
        "cid": connection["connection_id"],
        "night": night["connection_id"],
        "member": member,
        "cards": cards,
        "stranger": stranger,
    }


def test_an_admin_makes_a_members_only_policy_registers_its_station_sees_it_in_sync_and_previews_drivers(
    stack, browser, site
):
    org, cid = site["org"], site["cid"]
    page = browser.new_context(bypass_csp=True).new_page()  # bypass_csp: axe-core is injected inline
    sign_in(page, stack.base, site["admin"])

    # Given the organization's access policies, none yet, the admin starts a new one by keyboard
    page.goto(f"{stack.base}/#/organizations/{org}/policies")
    expect(page.get_by_text("No access policy yet")).to_be_visible(timeout=WAIT_MS)
    checked(page, "admin-policies-none")
    tab_to(page, "New access policy")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New access policy")).to_be_visible(timeout=WAIT_MS)

    # names it, lets Staff and the night shift unlock it, shows it to their members only, gives Staff a
    # price (at all hours: their cards go on the stations' lists) and the night shift hours and a price,
    # with an end hour that does not exist
    tab_to(page, "Name")
    page.keyboard.type("Garage")
    for name in ("Staff", "Night shift"):
        tab_to(page, name)
        page.keyboard.press("Space")
    tab_to(page, "Every driver")
    page.keyboard.press("ArrowDown")  # the radio group's next choice: members only
    for name in ("Members of Staff", "Members of Night shift"):
        tab_to(page, name)
        page.keyboard.press("Space")
    for label, value in (("Currency", "EUR"), ("Per kWh", "0.25"), ("Session fee", "1.00")):
        tab_to(page, label)  # Staff's
        page.keyboard.type(value)
    tab_to(page, "At all hours")  # the night shift's, next
    page.keyboard.press("Space")
    tab_to(page, "Add hours to Members of Night shift")
    page.keyboard.press("Enter")
    for day in ("Sat", "Sun"):  # weekdays are ticked already; the new hours' Mon has the focus
        tab_to(page, day, limit=7)
        page.keyboard.press("Space")
    for label, value in (("Start", "22:00"), ("End", "25:00")):
        tab_to(page, label)
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    for label, value in (("Currency", "EUR"), ("Per hour", "2")):
        tab_to(page, label)
        page.keyboard.type(value)
    tab_to(page, "Create policy")
    page.keyboard.press("Enter")

    # Then the error stands beside that end hour, the input tied to it
    end = page.get_by_label("End (HH:MM")
    end_error = page.locator(f"#members-{site['night']}-h0-end-error")
    expect(end_error).to_be_visible(timeout=WAIT_MS)
    assert end.get_attribute("aria-describedby") == f"members-{site['night']}-h0-end-error"
    checked(page, "admin-policy-with-a-field-error")

    # and corrected, the policy is created and listed as members-only
    end.fill("24:00")
    page.get_by_role("button", name="Create policy").click()
    expect(page.get_by_role("heading", name="Garage")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Saved.")).to_be_visible()
    checked(page, "admin-policy")

    # and changed on its own page, the change is kept
    night_per_hour = page.locator(f"#members-{site['night']}-per_hour")
    night_per_hour.fill("2.50")
    with page.expect_response(lambda r: r.request.method == "PATCH") as saved:
        page.get_by_role("button", name="Save policy").click()
    assert saved.value.status == 200, saved.value.text()
    page.reload()
    expect(night_per_hour).to_have_value("2.50", timeout=WAIT_MS)
    page.get_by_role("link", name="All access policies").click()
    expect(page.get_by_text("Seen only by members of Staff, Night shift.")).to_be_visible(timeout=WAIT_MS)
    checked(page, "admin-policies")
    policy_id = page.locator("[data-policy]").get_attribute("data-policy")

    # When the admin registers a station under it, by keyboard, first with a time zone that does not exist
    garage = unique("GARAGE").upper()
    stack.provision(garage, org)
    page.locator("nav.org-nav").get_by_role("link", name="Stations").click()
    expect(page.get_by_role("heading", name="Register a station")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("No station registered yet.")).to_be_visible(timeout=WAIT_MS)
    tab_to(page, "Station id")
    page.keyboard.type(garage)
    tab_to(page, "Name")
    page.keyboard.type("Garage bay 1")
    tab_to(page, "Time zone")
    page.keyboard.press("Control+A")
    page.keyboard.type("Mars/Olympus")
    tab_to(page, "Access policy")
    page.keyboard.type("Garage")  # a closed select picks the option its typed letters begin
    tab_to(page, "Register station")
    page.keyboard.press("Enter")
    zone = page.get_by_label("Time zone")
    expect(page.locator("#station-time-zone-error")).to_be_visible(timeout=WAIT_MS)
    assert "station-time-zone-error" in (zone.get_attribute("aria-describedby") or "")
    checked(page, "admin-station-with-a-field-error")
    zone.fill("Europe/Berlin")
    page.get_by_role("button", name="Register station").click()
    expect(page.get_by_text(f"Registered Garage bay 1 ({garage}).")).to_be_visible(timeout=WAIT_MS)

    # and a second station under it (through the API) whose charger holds one entry, not the two it is sent
    small = unique("SMALL").upper()
    stack.provision(small, org)
    body = {"station_id": small, "name": "Small bay 2", "policy_id": policy_id}
    ok(stack.call("POST", f"/organizations/{org}/stations", user=site["admin"], body=body))

    # Their chargers connect, and the member is approved: the lists carry the member's two cards
    chargers = [
        Charger(garage, stack.ocpp_url).start(),
        Charger(small, stack.ocpp_url, local_auth_list_max_length=1).start(),
    ]
    try:
        ok(
            stack.call(
                "POST",
                f"/organizations/{org}/connections/{cid}/requests/{site['member']}/approve",
                user=site["admin"],
            )
        )

        def holds():
            return all(chargers[0].entry(card) for card in site["cards"])

        assert wait_for(holds, timeout=20, every=0.1), "the garage's charger never got the member's cards"
        version = chargers[0].snapshot()["listVersion"]

        # Then the stations page, left open, shows the garage in sync with that list, the small one failing
        # with its refusal, and one station of the two out of sync
        row = page.locator(f"[data-station='{garage}']")
        expect(row.locator(".sync")).to_have_text("In sync", timeout=WAIT_MS)
        expect(row).to_contain_text(f"version {version}", timeout=WAIT_MS)
        failing = page.locator(f"[data-station='{small}']")
        expect(failing.locator(".sync")).to_have_text("Failing", timeout=WAIT_MS)
        expect(failing).to_contain_text("it last answered: Failed")
        expect(page.locator("#out-of-sync")).to_contain_text(
            re.compile(
                r"1\s+of the organization's stations\s+is out of sync now,\s+0\s+of them for more than"
                r"\s+15 minutes\s+\(1 of the 2 shown here\)"
            ),
            timeout=WAIT_MS,
        )
        checked(page, "admin-stations")
    finally:
        for charger in chargers:
            charger.stop()
    assert [c.violations() for c in chargers] == [[], []]

    # When the admin opens the garage and previews the member by address, by keyboard
    page.get_by_role("link", name="Garage bay 1").click()
    expect(page.get_by_role("heading", name="Garage bay 1")).to_be_visible(timeout=WAIT_MS)
    tab_to(page, "Driver's email address")
    page.keyboard.type(f"{site['member']}@example.com")
    page.keyboard.press("Enter")

    # Then the member may charge at the members' price
    verdict = page.locator("#preview")
    expect(verdict.get_by_role("heading")).to_have_text(
        f"{site['member']}@example.com may charge here now", timeout=WAIT_MS
    )
    expect(verdict.locator(".price")).to_have_text("0.25 EUR per kWh + 1.00 EUR per session")
    checked(page, "admin-station-preview-member")

    # and a stranger (who has an account) gets what a non-member gets, the page saying nothing of them
    page.get_by_label("Driver's email address").fill(f"{site['stranger']}@example.com")
    page.get_by_role("button", name="Preview").click()
    expect(verdict.get_by_role("heading")).to_have_text(
        f"{site['stranger']}@example.com cannot charge here now", timeout=WAIT_MS
    )
    expect(verdict.locator(".reason")).to_have_text("members_only")
    expect(verdict.locator(".unknown")).to_be_visible()
    expect(verdict).to_contain_text("This station is hidden from them.")
    checked(page, "admin-station-preview-stranger")

    # and the station's own form changes it: a new name, saved
    page.get_by_label("Name", exact=True).fill("Garage bay 1 north")
    page.get_by_role("button", name="Save station").click()
    expect(page.get_by_role("heading", name="Garage bay 1 north")).to_be_visible(timeout=WAIT_MS)
    page.context.close()
