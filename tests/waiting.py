"""Waiting in a test for something another thread or process does."""

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, poll: float = 0.2) -> bool:
    """True as soon as `predicate()` is, False if it is not within `timeout` seconds (asked every `poll` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False
