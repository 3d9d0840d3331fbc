import json
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(relative_path: str) -> Any:
    """A vendor payload recorded as JSON beside the tests (tests/fixtures/<vendor>/<name>.json)."""
    return json.loads((FIXTURES / relative_path).read_text())


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sandbox_url(live_server, settings) -> str:
    """The sandbox served over real HTTP by a live server thread (its own urlconf, the test DB)."""
    settings.ROOT_URLCONF = "sandbox.urls"
    return live_server.url
