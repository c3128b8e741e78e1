"""Debian's Chromium driven by Playwright (`make test` installs chromium; Playwright's own browser downloads
are never used), the checks every console page gets (axe-core and a screenshot), and what the console's
browser tests (the drivers' and the admins') share."""

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from infra.template import ROOT

# Without the networking flags Chromium keeps trying hosts this network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".local" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
BUILT = ROOT / "web" / "dist"
WAIT_MS = 20_000  # for a page to show what the stack answered, on a loaded machine
# A browser context's locale and time zone: neither the default en-US nor UTC, so that a date worded in a
# fixed locale or zone (not the browser's) reads differently from `worded`'s.
READER = {"locale": "en-GB", "timezone_id": "Pacific/Auckland"}


def launch(playwright):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    return playwright.chromium.launch(executable_path=chromium, args=FLAGS)


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2 A and AA rules)."""
    assert AXE.is_file(), "axe-core is missing: `make console` installs the console's packages (npm ci)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def checked(page, name: str) -> None:
    """Every page: no serious or critical accessibility problem, and a screenshot."""
    shoot(page, name)
    problems = accessibility_problems(page)
    assert problems == [], f"{name}: {problems}"


def tab_to(page, name: str, limit: int = 40) -> None:
    """Tab until the focused control is the one named `name` (its text, label or aria-label), as a keyboard
    user would; fails if the page has no such control in its tab order."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                 if (!e || e === document.body) return '';
                 const label = e.labels && e.labels[0] ? e.labels[0].innerText : '';
                 return [e.innerText || '', label, e.getAttribute('aria-label') || ''].join('|'); }"""
        )
        if any(part.strip().startswith(name) for part in focused.split("|")):
            return
    raise AssertionError(f"no control named {name!r} within {limit} tabs")


def sign_in(page, base: str, sub: str) -> None:
    """Through the local sign-in page, as `sub` (whose address is sub@example.com)."""
    page.goto(f"{base}/#/sign-in")
    page.get_by_label("User name").fill(sub)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible(timeout=WAIT_MS)


def worded(at: str) -> str:
    """The moment `at` (ISO 8601) as the console words every date and time (web/src/dates.ts: Intl's medium
    date and short time) for READER: "7 Dec 2026, 05:29"."""
    moment = datetime.fromisoformat(at).astimezone(ZoneInfo(READER["timezone_id"]))
    month = "Sept" if moment.month == 9 else f"{moment:%b}"  # the CLDR's British abbreviation
    return f"{moment.day} {month} {moment:%Y, %H:%M}"


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def ok(answer):
    """The body of a set-up call to the stack (`stack.call`) that must have succeeded."""
    status, body, _ = answer
    assert status in (200, 201), body
    return body
