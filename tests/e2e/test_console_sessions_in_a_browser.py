"""The sessions pages of the web console in Debian's Chromium, against `make run`'s stack: a driver's "My
sessions" and an admin's "Sessions" with its filters, totals per connection and CSV download, each used
with the keyboard, checked with axe-core and photographed into .local/screenshots/.

The sessions are recorded from what chargers report: an OCPP 1.6 and a 2.0.1 charger (infra/local/
chargers.py, the `ocpp` package's ChargePoint over the stack's WebSocket) run Start, MeterValues and Stop
for a driver before and after joining the connection, and for a stranger's card."""

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from infra.local.chargers import Charger
from tests.e2e.conftest import wait_for
from tests.support.browser import READER, WAIT_MS, checked, ok, sign_in, tab_to, unique, worded

pytestmark = pytest.mark.e2e

MEMBERS = {"price": {"currency": "EUR", "per_kwh": "0.20", "session_fee": "0.50"}}
EVERYONE = {"price": {"currency": "EUR", "per_kwh": "0.45"}}


def charge(charger: Charger, tag: str, begin: datetime, start_wh: int, stop_wh: int) -> None:
    """One session of a few minutes: its start, a reading half-way, its stop."""

    def at(minutes: int) -> str:
        return (begin + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    charger.start_transaction(tag, meter_start=start_wh, timestamp=at(0))
    charger.meter_values((start_wh + stop_wh) // 2, timestamp=at(2))
    charger.stop_transaction(meter_stop=stop_wh, timestamp=at(4))


@pytest.fixture(scope="module")
def fleet(stack):
    """An organization with a connection whose members pay MEMBERS' price at its two stations (Depot bay 1
    on OCPP 1.6, Depot bay 2 on 2.0.1) and everyone else EVERYONE's, and three sessions this past hour: the
    driver's at everyone's price before joining, then at the connection's, and a card nobody registered
    (typed like a spreadsheet formula)."""
    admin, driver = unique("admin"), unique("dana")
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": "Depot Co"}))["organization_id"]
    body = {"name": "Night shift", "public": True, "approval_mode": "auto"}
    cid = ok(stack.call("POST", f"/organizations/{org}/connections", user=admin, body=body))["connection_id"]
    body = {"name": "Depot bays", "connection_ids": [cid], "members": {cid: MEMBERS}, "everyone": EVERYONE}
    policy = ok(stack.call("POST", f"/organizations/{org}/policies", user=admin, body=body))["policy_id"]
    chargers = []
    for bay, version in ((1, "1.6"), (2, "2.0.1")):
        station = unique("DEPOT").upper()
        stack.provision(station, org)
        body = {
            "station_id": station,
            "name": f"Depot bay {bay}",
            "policy_id": policy,
            "ocpp_version": version,
        }
        ok(stack.call("POST", f"/organizations/{org}/stations", user=admin, body=body))
        chargers.append(Charger(station, stack.ocpp_url, ocpp_version=version).start())
    bay1, bay2 = chargers
    try:
        assert wait_for(lambda: all(c.snapshot()["registration"] == "Accepted" for c in chargers), timeout=15)
        card = f"C{uuid.uuid4().hex[:11]}".upper()
        ok(stack.call("POST", "/me/cards", user=driver, body={"id_tag": card}))
        hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        # 10 kWh at 0.45 = 4.50, before the driver joins
        charge(bay1, card, hour_ago, 1000, 11_000)
        ok(stack.call("POST", f"/connections/{cid}/memberships", user=driver, body={"answers": {}}))
        # 0.50 + 12.345 kWh x 0.20 = 2.969 -> 2.97 (everyone would have paid 5.55525 -> 5.56)
        charge(bay2, card, hour_ago + timedelta(minutes=20), 0, 12_345)
        # 2 kWh at 0.45 = 0.90
        charge(bay1, "=CMD()", hour_ago + timedelta(minutes=40), 11_000, 13_000)

        def all_ended() -> list[dict] | None:
            items = ok(stack.call("GET", f"/organizations/{org}/sessions", user=admin))["items"]
            return items if [s["status"] for s in items] == ["ended"] * 3 else None

        sessions = wait_for(all_ended, timeout=10)
        assert sessions, ok(stack.call("GET", f"/organizations/{org}/sessions", user=admin))
        assert bay1.violations() == [] and bay2.violations() == []
    finally:  # the pages read what was recorded: the chargers are done
        for charger in chargers:
            charger.stop()
    return {"org": org, "cid": cid, "admin": admin, "driver": driver, "sessions": sessions}


def signed_in(browser, base: str, sub: str):
    page = browser.new_context(
        bypass_csp=True, accept_downloads=True, **READER
    ).new_page()  # axe-core is injected
    sign_in(page, base, sub)
    return page


def test_a_driver_reads_their_sessions_from_the_main_navigation(stack, browser, fleet):
    page = signed_in(browser, stack.base, fleet["driver"])
    tab_to(page, "My sessions")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My sessions")).to_be_visible(timeout=WAIT_MS)
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Depot bay 2")
    expect(rows.nth(0)).to_contain_text("12.345 kWh")
    expect(rows.nth(0)).to_contain_text("Night shift's price: 0.50 EUR per session + 0.20 EUR per kWh")
    expect(rows.nth(0)).to_contain_text("2.97 EUR")
    group = fleet["sessions"][1]  # the organization's, newest first: the stranger's, then the driver's two
    expect(rows.nth(0).locator("td").nth(1)).to_have_text(worded(group["started_at"]))
    expect(rows.nth(0).locator("td").nth(2)).to_have_text(worded(group["ended_at"]))
    expect(rows.nth(1)).to_contain_text("Depot bay 1")
    expect(rows.nth(1)).to_contain_text("10.000 kWh")
    expect(rows.nth(1)).to_contain_text("Everyone's price: 0.45 EUR per kWh")
    expect(rows.nth(1)).to_contain_text("4.50 EUR")
    checked(page, "driver-sessions")
    page.context.close()


def test_a_driver_turns_pages_and_a_double_press_turns_one(stack, browser, fleet):
    """With pages of one session (the API's `limit`, added to the console's calls), the driver turns to the
    older page and back with the keyboard; Enter pressed twice while the older page loads turns one page."""
    page = signed_in(browser, stack.base, fleet["driver"])
    held, holding = [], [False]  # calls kept waiting while holding, to press again during the load

    def one_a_page(route) -> None:
        url = urlsplit(route.request.url)
        query = urlencode([*parse_qsl(url.query), ("limit", "1")])
        held.append((route, urlunsplit(url._replace(query=query))))
        if not holding[0]:
            release()

    def release() -> None:
        while held:
            route, url = held.pop(0)
            route.continue_(url=url)

    page.route("**/me/sessions*", one_a_page)
    tab_to(page, "My sessions")
    page.keyboard.press("Enter")
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Depot bay 2")

    tab_to(page, "Older sessions")
    holding[0] = True
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    for _ in range(WAIT_MS // 50):  # until the older page's call is held (waiting lets Playwright route it)
        if held:
            break
        page.wait_for_timeout(50)
    holding[0] = False
    release()
    expect(rows.nth(0)).to_contain_text("Depot bay 1", timeout=WAIT_MS)

    tab_to(page, "Newer sessions")
    page.keyboard.press("Enter")
    expect(rows.nth(0)).to_contain_text("Depot bay 2", timeout=WAIT_MS)
    expect(rows).to_have_count(1)

    # A turn whose page fails to load is undone: the page shown keeps its place, and turns on as before
    failing = [True]

    def fails_once(route) -> None:
        if failing[0]:
            failing[0] = False
            route.fulfill(status=500, json={"error": "internal", "message": "Something went wrong."})
        else:
            one_a_page(route)

    page.unroute("**/me/sessions*")
    page.route("**/me/sessions*", fails_once)
    tab_to(page, "Older sessions")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Something went wrong.")).to_be_visible(timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Depot bay 2")
    expect(page.get_by_role("button", name="Newer sessions")).to_have_count(0)
    tab_to(page, "Older sessions")
    page.keyboard.press("Enter")
    expect(rows.nth(0)).to_contain_text("Depot bay 1", timeout=WAIT_MS)
    tab_to(page, "Newer sessions")
    page.keyboard.press("Enter")
    expect(rows.nth(0)).to_contain_text("Depot bay 2", timeout=WAIT_MS)
    page.context.close()


def test_an_admin_filters_totals_and_downloads_the_sessions(stack, browser, fleet, tmp_path):
    page = signed_in(browser, stack.base, fleet["admin"])
    page.goto(f"{stack.base}/#/organizations/{fleet['org']}/connections")
    tab_to(page, "Sessions")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sessions", exact=True)).to_be_visible(timeout=WAIT_MS)
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(3, timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Card =CMD()")  # a driver the organization does not know
    expect(rows.nth(0)).to_contain_text("card nobody registered")
    expect(rows.nth(1)).to_contain_text(f"{fleet['driver']}@example.com")
    expect(rows.nth(2)).to_contain_text(f"{fleet['driver']}@example.com")
    totals = page.locator("table.totals tbody tr")
    expect(totals).to_have_count(2, timeout=WAIT_MS)
    expect(totals.nth(0)).to_contain_text("Night shift")
    expect(totals.nth(0)).to_contain_text("2.59 EUR")  # the discount: 5.56 - 2.97
    expect(totals.nth(1)).to_contain_text("Everyone else")
    expect(totals.nth(1)).to_contain_text("5.40 EUR")
    checked(page, "admin-sessions")

    # When the admin starts the period on the day the first session began on their calendar (a day after
    # UTC's for most of it: the reader is in Auckland), the days are theirs: all three are in it
    zone = ZoneInfo(READER["timezone_id"])
    their_day = datetime.fromisoformat(fleet["sessions"][-1]["started_at"]).astimezone(zone).date()
    page.get_by_label("Started from").fill(their_day.isoformat())
    tab_to(page, "Show sessions")
    with page.expect_request(lambda request: "/sessions?" in request.url) as asked:
        page.keyboard.press("Enter")
    (since,) = parse_qs(urlsplit(asked.value.url).query)["from"]
    assert datetime.fromisoformat(since) == datetime.combine(their_day, time(), zone), since
    expect(rows).to_have_count(3, timeout=WAIT_MS)
    expect(totals).to_have_count(2, timeout=WAIT_MS)

    # When the admin keeps only the connection's price, with the keyboard
    tab_to(page, "Price that applied")
    page.keyboard.press("ArrowDown")  # from "Any" to the first connection, Night shift
    expect(page.get_by_label("Price that applied")).to_have_value(fleet["cid"])
    tab_to(page, "Show sessions")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Night shift")

    # and downloads them: the CSV the API made, with the token
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "sessions.csv"
    download.value.save_as(saved)
    (row,) = csv.DictReader(io.StringIO(saved.read_text()))
    assert (row["Station"], row["Group"], row["Energy (kWh)"], row["Cost"], row["Currency"]) == (
        "Depot bay 2",
        "Night shift",
        "12.345",
        "2.97",
        "EUR",
    ), row
    expect(page.get_by_role("status")).to_contain_text("Downloaded sessions-")
    page.context.close()
