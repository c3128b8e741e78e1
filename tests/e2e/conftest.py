import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.stack import Stack, template_with_recorder
from tests.support.browser import launch


@pytest.fixture(scope="session")
def recorder_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recorder") / "events.jsonl"


@pytest.fixture(scope="session")
def stack(recorder_file, tmp_path_factory):
    """`make run`'s stack in its own process, with template.yaml plus a recording stream/rule function."""
    running = Stack(template_path=template_with_recorder(recorder_file, tmp_path_factory.mktemp("template")))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module (tests/support/browser.py)."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def recorded(recorder_file: Path) -> list[dict]:
    if not recorder_file.exists():
        return []
    return [json.loads(line) for line in recorder_file.read_text().splitlines() if line.strip()]


def wait_for(condition, timeout: float = 5.0, every: float = 0.02):
    """The first truthy value of condition() within timeout, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return None
