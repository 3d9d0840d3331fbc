"""Browser tests: Playwright driving Debian's Chromium against a live server of the whole flow.

The live server serves the project and, under /sandbox/, the vendors' stand-ins, and the connectors
are pointed at it: the browser's report travels over real HTTP through every layer to the sandbox.
Without Chromium the tests skip with a plain reason, unless INCIDENT_HUB_REQUIRE_BROWSER=1 (CI) makes
that a failure.
"""

import os
import re
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.management import call_command

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = "INCIDENT_HUB_REQUIRE_BROWSER"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def no_browser(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}; {REQUIRE_BROWSER}=1 requires the browser tests to run", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator["Browser"]:
    executable = next((path for path in CHROMIUM_PATHS if os.access(path, os.X_OK)), None)
    if executable is None:
        no_browser(f"Chromium not found at {' or '.join(CHROMIUM_PATHS)}")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        no_browser("Playwright is not installed (pip install -r requirements-dev.txt)")
    # Playwright's sync API keeps an event loop running on this thread, and Django refuses database
    # calls under a running loop; the test's own queries are synchronous, so allow them, for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        except Error as exc:
            no_browser(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def page(chromium: "Browser", viewport: str) -> Iterator["Page"]:
    context = chromium.new_context(**VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's URL, serving the project and the sandbox, with the connectors pointed at it."""
    settings.ROOT_URLCONF = "tests.urls_with_sandbox"
    settings.SERVICENOW_BASE_URL = f"{live_server.url}/sandbox/servicenow"
    settings.SALESFORCE_BASE_URL = f"{live_server.url}/sandbox/salesforce"
    settings.SLACK_API_URL = f"{live_server.url}/sandbox/slack/api/"
    settings.SITE_URL = live_server.url
    call_command("seed_sandbox", stdout=StringIO())
    call_command("seed_legacy_customers", stdout=StringIO())
    return live_server.url


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, page: "Page", viewport: str) -> Callable[[str], Path]:
    """Save the page as test-artifacts/screenshots/<test>-<viewport>-<n>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"\[.*\]$", "", request.node.name).removeprefix("test_")
    taken: list[Path] = []

    def take(step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{viewport}-{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take
