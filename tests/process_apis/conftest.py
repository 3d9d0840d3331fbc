"""Kept for imports of the fake vendors' names; they live in tests/vendors.py."""

from tests.vendors import *  # noqa: F403
