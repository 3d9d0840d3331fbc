"""kombu's transports as Incident Hub runs them: the embedded broker's, and Redis's with one client a channel.

The embedded broker is kombu's filesystem transport, with messages that appear whole.

kombu writes a message file under its final name and fills it afterwards, so a worker polling the
folder can read it empty and die on the JSON error (celery/kombu#1551). Here a message is written
under a name the consumer ignores and renamed into place: a rename is atomic on one filesystem.

A worker asked to stop stops at once: Celery's loop for a polled transport waits out a whole drain of
2 s, and one more after the signal, which took a worker past the 5 s a process manager (honcho) gives
it before it kills it.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic

from celery.worker import state as worker_state
from kombu.transport import TRANSPORT_ALIASES, filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from redis import Redis


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):  # noqa: ANN001, ANN003, ANN202
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        incoming = os.path.join(self.data_folder_out, f".incoming-{uuid.uuid4().hex}")
        try:
            with open(incoming, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(incoming, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


def _worker_is_stopping() -> bool:
    # As celery.worker.state.maybe_shutdown reads them: an exit code, 0 included, means stop.
    return any(
        flag is not None and flag is not False for flag in (worker_state.should_stop, worker_state.should_terminate)
    )


class Transport(filesystem.Transport):
    Channel = Channel

    # The folders are the broker: there is no host to default to, nor to warn about on every connection.
    default_connection_params: dict = {}  # noqa: RUF012 (kombu reads it as a class attribute)

    def drain_events(self, connection, timeout=None):  # noqa: ANN001, ANN201
        """kombu's drain, one polling interval at a time, ended as soon as the worker is told to stop."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - monotonic()
            if _worker_is_stopping() or (left is not None and left <= 0):
                raise TimeoutError()
            interval = self.polling_interval or 1.0
            step = interval if left is None else min(interval, left)
            try:
                return super().drain_events(connection, timeout=step)
            except TimeoutError:
                continue


class RedisChannel(redis.Channel):
    """kombu's Redis channel makes a new client (and its table of commands) for every publish, every ack and every
    message it takes; this one makes one for each connection pool it has (a new pool after a lost connection), which
    every command shares: a client takes a connection from the pool for each command, so threads may share it."""

    _shared_client: Redis | None = None

    @contextmanager
    def conn_or_acquire(self, client: Redis | None = None) -> Iterator[Redis]:
        if client is None:
            if self._shared_client is None or self._shared_client.connection_pool is not self.pool:
                self._shared_client = self._create_client()
            client = self._shared_client
        yield client


class RedisTransport(redis.Transport):
    Channel = RedisChannel


def use_shared_redis_clients() -> None:
    """Make `redis://` broker URLs use RedisTransport. By kombu's alias rather than Celery's broker_transport
    setting, so that logs and tools still name the broker redis://host:port/db."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = "incidents_site.broker:RedisTransport"
