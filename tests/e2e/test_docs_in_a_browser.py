"""`make run`'s /docs in a real headless browser (Debian's chromium, which `make test` installs): Swagger UI
reads the OpenAPI 3.1 document the stack serves and renders every operation."""

import json
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser import launch

pytestmark = pytest.mark.e2e


def test_docs_renders_every_operation_of_the_served_document(stack, tmp_path):
    with urllib.request.urlopen(f"{stack.base}/openapi.json", timeout=10) as answer:  # noqa: S310 - local
        document = json.load(answer)
    operations = sum(len(item) for item in document["paths"].values())
    assert document["openapi"].startswith("3.1") and operations > 0

    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh profile of its own; it must not download one (no `install`).
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(f"{stack.base}/docs", wait_until="load")
            # Until Swagger UI has rendered the operations or given up; generous for a loaded CI machine.
            page.wait_for_function(
                "document.querySelector('.opblock') || document.body.innerText.includes('Unable to render')",
                timeout=30_000,
            )
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
            rendered = page.locator(".opblock").count()
            text = page.inner_text("body")
        finally:
            browser.close()

    assert "Unable to render this definition" not in text
    assert "Connections API" in text
    assert rendered == operations, f"{rendered} operations rendered, the document has {operations}"
