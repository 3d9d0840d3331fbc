import json
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import responses
from django.core.cache import cache

from system_apis import shared_state
from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import seed_demo_customers
from system_apis.salesforce.client import remembered_grants
from tests.migrating import migrate_to_latest
from tests.vendors import SF, SLACK, SN, Vendors

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(relative_path: str) -> Any:
    """A vendor payload recorded as JSON beside the tests (tests/fixtures/<vendor>/<name>.json)."""
    return json.loads((FIXTURES / relative_path).read_text())


def _clear_cache() -> None:
    cache.clear()
    # And what this process keeps of it: its snapshot of circuits and holds, the Salesforce token it used.
    shared_state.forget()
    remembered_grants.clear()


@pytest.fixture(autouse=True)
def _sandbox_posts_no_events(settings):
    """The sandbox's ServiceNow posts incident events only where a test points it (tests/sandbox), never at a port."""
    settings.SANDBOX_SERVICENOW_EVENT_URL = ""


@pytest.fixture(autouse=True)
def _fresh_cache():
    _clear_cache()
    yield
    _clear_cache()


@dataclass
class SnapshotClock:
    """The clock of this process's snapshot of circuits and quota holds (shared_state), still until moved."""

    now: float = field(default_factory=time.monotonic)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def snapshot_clock(monkeypatch) -> SnapshotClock:
    clock = SnapshotClock()
    monkeypatch.setattr(shared_state, "_clock", lambda: clock.now)
    return clock


@pytest.fixture
def sandbox_url(live_server, settings) -> str:
    """The sandbox served over real HTTP by a live server thread (its own urlconf, the test DB)."""
    settings.ROOT_URLCONF = "sandbox.urls"
    return live_server.url


@pytest.fixture
def vendors(settings) -> Vendors:
    """ServiceNow, Salesforce and Slack faked with `responses`; the connectors pointed at them."""
    settings.SERVICENOW_BASE_URL = SN
    settings.SALESFORCE_BASE_URL = SF
    settings.SLACK_API_URL = SLACK
    settings.SLACK_CHANNEL = "#incidents"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Vendors(mock)


@pytest.fixture
def legacy_customers() -> None:
    """The legacy database with its demo customers (tests need databases=["default", "legacy"])."""
    seed_demo_customers(LEGACY_ALIAS)


@pytest.fixture
def latest_schema_after():
    """For a test that migrates back: the tests after it run on every migration, not on the one it stopped at."""
    yield
    migrate_to_latest()


@pytest.fixture
def tls_client_contexts(monkeypatch):
    """The TLS context of each client connection made from now on (servers' own left out), in order."""
    contexts = []
    wrap = ssl.SSLContext.wrap_socket

    def wrapped(context, *args, **kwargs):
        if not kwargs.get("server_side"):
            contexts.append(context)
        return wrap(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrapped)
    return contexts
