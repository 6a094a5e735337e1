"""Browser tests: Playwright for Python driving Debian's Chromium, headless.

They run when /usr/bin/chromium (or $CHROMIUM) exists; `.ci/run` installs it so CI always runs
them. Nothing is downloaded: Playwright only launches the system browser.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

# Playwright's sync API runs an event loop in this thread; the test database is used from the
# same thread on purpose.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}"))


@pytest.fixture(scope="session")
def playwright_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(playwright_browser, live_server):
    context = playwright_browser.new_context(viewport={"width": 1400, "height": 1000},
                                             accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Log in through Wagtail's login form; passwords of the fixtures' users are 'pw'."""

    def do(username, password="pw"):  # noqa: S107
        page.goto(f"{page.base_url}/admin/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/admin/login/" not in url)
        return page

    return do


@pytest.fixture
def screenshot(page, tmp_path):
    """Take a screenshot: screenshot("license-manager").

    With UPDATE_SCREENSHOTS=1 it replaces docs/images/NAME.png (the documentation's pictures);
    otherwise it goes to the test's temporary folder, so test runs leave the tree clean.
    """
    folder = DOCS_IMAGES if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path

    def do(name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0

    return do
