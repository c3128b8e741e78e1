"""The sessions pages of the web console in Debian's Chromium, against `make run`'s stack: a driver's "My
sessions" and an admin's "Sessions" with its filters, totals per connection and CSV download, each used
with the keyboard, checked with axe-core and photographed into .local/screenshots/.

The sessions are written into the stack's DynamoDB (moto) in the stored shape (tests/support/
session_items.py): the recording of sessions from chargers' messages is built at the same time, apart."""

import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from playwright.sync_api import expect

from tests.support.browser import WAIT_MS, checked, ok, sign_in, tab_to, unique

pytestmark = pytest.mark.e2e

TABLE = "ConnectionsTable"  # the local stack names each table after its logical id


def write_sessions(stack, *items) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{stack.moto_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto takes any
    )
    for item in items:
        client.put_item(TableName=TABLE, Item=item.serialize())


def session_items():
    """The factory module, loaded once the variables the shared package reads at import are set (only the
    item's shape is used here: nothing in this process reaches AWS through them)."""
    for name, value in {
        "TABLE_NAME": TABLE,
        "IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "connections",
    }.items():
        os.environ.setdefault(name, value)
    from tests.support import session_items as module

    return module


@pytest.fixture(scope="module")
def fleet(stack) -> dict:
    """An organization with a connection its driver belongs to, a station, and three sessions this week: the
    member's at the connection's price, the member's at everyone's, and a stranger's card (a name typed
    like a formula)."""
    factory = session_items()
    admin, driver = unique("admin"), unique("dana")
    org = ok(stack.call("POST", "/organizations", user=admin, body={"name": "Depot Co"}))["organization_id"]
    body = {"name": "Night shift", "public": True, "approval_mode": "auto"}
    cid = ok(stack.call("POST", f"/organizations/{org}/connections", user=admin, body=body))["connection_id"]
    ok(stack.call("POST", f"/connections/{cid}/memberships", user=driver, body={"answers": {}}))
    station = unique("DEPOT")
    stack.provision(station, org)
    ok(
        stack.call(
            "POST",
            f"/organizations/{org}/stations",
            user=admin,
            body={"station_id": station, "name": "Depot bay 1"},
        )
    )
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    member, everyone = (
        factory.price("EUR", per_kwh="0.20", session_fee="0.50"),
        factory.price("EUR", per_kwh="0.45"),
    )
    write_sessions(
        stack,
        factory.session_item(
            org,
            station,
            driver_id=driver,
            started_at=today - timedelta(days=2),
            group=(cid, "Night shift"),
            price=member,
            energy_wh=12_345,
            cost="2.97",
            everyone_cost="5.56",
        ),
        factory.session_item(
            org,
            station,
            driver_id=driver,
            started_at=today - timedelta(days=1),
            price=everyone,
            energy_wh=10_000,
            cost="4.50",
            everyone_cost="4.50",
        ),
        factory.session_item(
            org,
            station,
            driver_id="someone-else",
            started_at=today,
            price=everyone,
            energy_wh=2_000,
            cost="0.90",
            everyone_cost="0.90",
            id_tag="=CMD()",
        ),
    )
    return {"org": org, "cid": cid, "admin": admin, "driver": driver}


def signed_in(browser, base: str, sub: str):
    page = browser.new_context(bypass_csp=True, accept_downloads=True).new_page()  # axe-core is injected
    sign_in(page, base, sub)
    return page


def test_a_driver_reads_their_sessions_from_the_main_navigation(stack, browser, fleet):
    page = signed_in(browser, stack.base, fleet["driver"])
    tab_to(page, "My sessions")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My sessions")).to_be_visible(timeout=WAIT_MS)
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.nth(0)).to_contain_text("Everyone's price: 0.45 EUR per kWh")
    expect(rows.nth(1)).to_contain_text("Depot bay 1")
    expect(rows.nth(1)).to_contain_text("12.345 kWh")
    expect(rows.nth(1)).to_contain_text("Night shift's price: 0.50 EUR per session + 0.20 EUR per kWh")
    expect(rows.nth(1)).to_contain_text("2.97 EUR")
    checked(page, "driver-sessions")
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
    expect(rows.nth(2)).to_contain_text(f"{fleet['driver']}@example.com")
    totals = page.locator("table.totals tbody tr")
    expect(totals).to_have_count(2, timeout=WAIT_MS)
    expect(totals.nth(0)).to_contain_text("Night shift")
    expect(totals.nth(0)).to_contain_text("2.59 EUR")  # the discount: 5.56 - 2.97
    expect(totals.nth(1)).to_contain_text("Everyone else")
    expect(totals.nth(1)).to_contain_text("5.40 EUR")
    checked(page, "admin-sessions")

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
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("Session,") and len(lines) == 2, lines
    assert "Night shift" in lines[1]
    expect(page.get_by_role("status")).to_contain_text("Downloaded sessions-")
    page.context.close()
