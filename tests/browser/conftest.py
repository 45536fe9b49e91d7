"""Real Chromium (Debian's), driven by Playwright, against `wallet serve` with the built dashboard.

Screenshots land in test-artifacts/screenshots (git-ignored), at desktop and
phone widths, so a person can look at what the tests saw.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.server import ROOT, Server

CHROMIUM = os.environ.get("WALLET_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps calling home, which this closed network refuses.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}
EXPECT_TIMEOUT_MS = 5_000


# Module scope, not session: Playwright's sync API keeps an event loop running on this thread
# while it is open, and every later test's asyncio.run() would then refuse to start.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    assert (ROOT / "frontend" / "dist" / "index.html").is_file(), "run `make dashboard` first"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(Path(tmp_path_factory.mktemp("dashboard"))).start()
    yield running
    running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Desktop and phone shots of the page as it is now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-375.png", full_page=True)
    page.set_viewport_size(DESKTOP)
