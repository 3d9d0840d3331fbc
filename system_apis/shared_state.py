"""What every call to a system reads first, its circuit and its quota hold: read once a second per process.

Circuits and quota holds live in the shared cache, so that every process sees them. Every call needs both,
and reading them per call cost four round trips to Redis, most of a report's. Instead each process keeps a
snapshot of those keys, for every system at once, read with one `get_many` and trusted for
`REFRESH_SECONDS`: a circuit opened or a hold set by another process is seen here within that second. What
this process writes (on a failure or a change of state) goes to the cache at once, as before, and into its
own snapshot too, so it never acts on less than it knows itself.

A snapshot is kept per cache: one for the default cache, shared by every thread of the process (each thread
has its own connection, not its own snapshot), and one per cache object that a caller passes in. A cache
that cannot be read reads as empty for the same second: a hung Redis costs one timeout a second, not one
per call.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from kernel.cache import cache_guarded

# How long a snapshot is trusted: the longest a change written by another process goes unseen here.
REFRESH_SECONDS = 1.0

# The snapshot could not be read: the cache is down (the callers then go on without it).
UNREADABLE: Any = object()

_clock = time.monotonic

# The keys every snapshot reads; circuit.py and quota.py name theirs, other keys join when first asked for.
_watched: set[str] = set()
_watched_lock = threading.Lock()


def watch(*keys: str) -> None:
    """Have every snapshot read `keys` from its next refresh on."""
    with _watched_lock:
        _watched.update(keys)


def _watched_keys() -> list[str]:
    with _watched_lock:
        return sorted(_watched)


class Snapshot:
    """The watched keys of one cache, as read at most `REFRESH_SECONDS` ago, with this process's writes since."""

    def __init__(self, cache: BaseCache | None) -> None:
        self._cache = cache  # None: the default cache, this thread's connection to it
        self._lock = threading.Lock()  # the fields below
        self._refreshing = threading.Lock()  # one read at a time; the other threads wait for it
        self._values: dict[str, Any] = {}
        self._loaded: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._unreadable = False
        self._writes: dict[str, tuple[Any, float]] = {}

    def get(self, key: str) -> Any:
        """The value of `key` (None when absent), or UNREADABLE when the cache could not be read."""
        if not self._fresh(key):
            watch(key)
            self._refresh(key)
        with self._lock:
            return UNREADABLE if self._unreadable else self._values.get(key)

    def wrote(self, key: str, value: Any) -> None:
        """This process has just written `value` to `key` in the cache."""
        with self._lock:
            self._writes[key] = (value, _clock())
            self._values[key] = value

    def _fresh(self, key: str) -> bool:
        with self._lock:
            read_at = self._read_at
            return read_at is not None and _clock() - read_at < REFRESH_SECONDS and key in self._loaded

    def _refresh(self, key: str) -> None:
        with self._refreshing:
            if self._fresh(key):  # read by another thread while this one waited
                return
            keys = _watched_keys()
            started = _clock()
            cache = self._cache if self._cache is not None else caches["default"]
            values = cache_guarded(lambda: cache.get_many(keys), default=UNREADABLE, what="circuits and quota holds")
            with self._lock:
                self._read_at, self._loaded = started, frozenset(keys)
                self._unreadable = values is UNREADABLE
                if self._unreadable:
                    return
                # A write of ours made while the read was on its way may be missing from it: it is newer.
                self._writes = {k: (v, at) for k, (v, at) in self._writes.items() if at >= started}
                self._values = {**values, **{k: v for k, (v, _) in self._writes.items()}}


_default: Snapshot | None = None
_of_cache: weakref.WeakKeyDictionary[BaseCache, Snapshot] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def snapshot_of(cache: BaseCache | None = None) -> Snapshot:
    """The snapshot of `cache` (None: the default cache) in this process."""
    global _default
    with _registry_lock:
        if cache is None:
            if _default is None:
                _default = Snapshot(None)
            return _default
        snapshot = _of_cache.get(cache)
        if snapshot is None:
            snapshot = _of_cache[cache] = Snapshot(cache)
        return snapshot


def forget() -> None:
    """Drop every snapshot of this process: the next call reads the cache again (after a cache.clear())."""
    global _default
    with _registry_lock:
        _default = None
        _of_cache.clear()


def _start_afresh_after_fork() -> None:
    # A process forked while another thread held a lock inherits it held, and the parent's snapshots.
    global _default, _of_cache, _registry_lock, _watched_lock
    _default, _of_cache = None, weakref.WeakKeyDictionary()
    _registry_lock, _watched_lock = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_start_afresh_after_fork)
