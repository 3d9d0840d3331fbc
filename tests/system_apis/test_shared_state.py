"""A process's snapshot of circuits and quota holds: one read a second, its own writes seen at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.cache.backends.locmem import LocMemCache

from system_apis import shared_state

KEY = "circuit:servicenow:state"


class SlowCountingCache(LocMemCache):
    """An in-memory cache whose get_many can be held on its way, as a read from Redis takes its time."""

    def __init__(self) -> None:
        super().__init__("shared-state", {})
        self.clear()  # in-memory caches of one name share their entries
        self.reads = 0
        self.on_read = lambda: None

    def get_many(self, keys, version=None):
        self.reads += 1
        found = {}
        for key in keys:
            if (value := self.get(key, version=version)) is not None:
                found[key] = value
        self.on_read()
        return found


def test_threads_that_find_the_snapshot_old_at_once_read_it_once(snapshot_clock):
    cache = SlowCountingCache()
    cache.set(KEY, {"state": "open"})
    everyone_asked = threading.Barrier(8, timeout=5)

    def read(_):
        everyone_asked.wait()
        return shared_state.snapshot_of(cache).get(KEY)

    with ThreadPoolExecutor(max_workers=8) as threads:
        values = list(threads.map(read, range(8)))

    assert values == [{"state": "open"}] * 8
    assert cache.reads == 1


def test_a_write_of_this_process_made_while_a_read_was_on_its_way_wins_over_it(snapshot_clock):
    cache = SlowCountingCache()
    cache.set(KEY, {"state": "closed"})
    snapshot = shared_state.snapshot_of(cache)
    # The read has fetched "closed" when this process opens the circuit, before the read is kept.
    cache.on_read = lambda: snapshot.wrote(KEY, {"state": "open"})

    assert snapshot.get(KEY) == {"state": "open"}


def test_a_key_nobody_named_is_read_when_first_asked_for_and_from_then_on_with_the_others(snapshot_clock):
    cache = SlowCountingCache()
    cache.set("circuit:billing:state", {"state": "open"})
    snapshot = shared_state.snapshot_of(cache)

    assert snapshot.get(KEY) is None
    assert snapshot.get("circuit:billing:state") == {"state": "open"}
    assert snapshot.get("circuit:billing:state") == {"state": "open"}

    assert cache.reads == 2


def test_each_cache_has_its_own_snapshot_and_the_default_one_serves_every_thread():
    one, other = LocMemCache("one", {}), LocMemCache("other", {})

    with ThreadPoolExecutor(max_workers=1) as thread:
        default_elsewhere = thread.submit(shared_state.snapshot_of).result()

    assert shared_state.snapshot_of(one) is shared_state.snapshot_of(one)
    assert shared_state.snapshot_of(one) is not shared_state.snapshot_of(other)
    assert shared_state.snapshot_of() is default_elsewhere
