from pathlib import Path

import pytest

from tests.scaleout import DATABASE_URL

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.services)
            if not DATABASE_URL.startswith("postgres"):
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL): run by .ci/run"))
