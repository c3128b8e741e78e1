"""Debian's Chromium driven by Playwright (`make test` installs chromium; Playwright's own browser downloads
are never used), and the checks every console page gets: axe-core and a screenshot."""

import shutil
from pathlib import Path

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
