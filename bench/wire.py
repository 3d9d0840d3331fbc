"""Counting what goes over the wire to PostgreSQL and Redis: a TCP proxy per (process, server) pair.

A process pointed at a proxy's port instead of the server's talks to the server exactly as before; the proxy
reads the protocol as it passes and counts:

- PostgreSQL: statements (simple `Query` and extended-protocol `Execute` messages, by their first keyword),
  round trips (the server's `ReadyForQuery`, one per query cycle), transactions (a `ReadyForQuery` that says
  idle again: an autocommitted statement or the end of a BEGIN ... COMMIT block, as pg_stat_database's
  xact_commit counts them), commits (COMMIT statements and writes autocommitted outside a block: what makes
  the server flush its log) and new connections.
- Redis: commands (by name), round trips (each burst the client sends before reading the answer: a pipeline
  is one) and new connections.

The parsers are pure (tests/test_bench_wire.py feeds them bytes); the proxy runs them on an asyncio loop in a
thread of its own. Only for counting: the proxy adds a little latency and uses the benchmark process's CPU.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter
from collections.abc import Callable

SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102
WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})


class PostgresCounter:
    """Counts of one PostgreSQL connection, fed with the bytes of each direction as they pass."""

    def __init__(self, tally: Counter) -> None:
        self.tally = tally
        self._client = bytearray()
        self._server = bytearray()
        self._startup = True  # the client's first messages carry no type byte
        self._awaiting_encryption_answer = False  # the server answers SSLRequest/GSSENCRequest with one bare byte
        self._opaque = False  # TLS was agreed: nothing more can be read
        self._ready_seen = False
        self._in_block = False
        self._statement_text: dict[bytes, str] = {}  # prepared statement name -> its keyword
        self._portal_text: dict[bytes, str] = {}  # portal name -> its statement's keyword

    def client(self, data: bytes) -> None:
        if self._opaque:
            return
        self._client += data
        while True:
            if self._startup:
                if len(self._client) < 8:
                    return
                (length,) = struct.unpack("!I", self._client[:4])
                if len(self._client) < length:
                    return
                (code,) = struct.unpack("!I", self._client[4:8])
                del self._client[:length]
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self._awaiting_encryption_answer = True
                elif code != CANCEL_REQUEST:
                    self._startup = False
                    self.tally["connections"] += 1
                continue
            if len(self._client) < 5:
                return
            kind = self._client[0:1]
            (length,) = struct.unpack("!I", self._client[1:5])
            if len(self._client) < 1 + length:
                return
            body = bytes(self._client[5 : 1 + length])
            del self._client[: 1 + length]
            self._client_message(kind, body)

    def _client_message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self._statement(_keyword(body))
        elif kind == b"P":
            name, _, rest = body.partition(b"\0")
            self._statement_text[name] = _keyword(rest)
        elif kind == b"B":
            portal, _, rest = body.partition(b"\0")
            statement, _, _ = rest.partition(b"\0")
            self._portal_text[portal] = self._statement_text.get(statement, "?")
        elif kind == b"E":
            portal, _, _ = body.partition(b"\0")
            self._statement(self._portal_text.get(portal, "?"))

    def _statement(self, keyword: str) -> None:
        self.tally["statements"] += 1
        self.tally[f"statement:{keyword}"] += 1
        # What makes the server flush its log to disk: a COMMIT, or a write outside a BEGIN ... COMMIT block.
        if keyword == "COMMIT" or (not self._in_block and keyword in WRITES):
            self.tally["commits"] += 1

    def server(self, data: bytes) -> None:
        if self._opaque:
            return
        self._server += data
        if self._awaiting_encryption_answer and self._server:
            answer = self._server[0:1]
            del self._server[:1]
            self._awaiting_encryption_answer = False
            if answer in (b"S", b"G"):
                self._opaque = True
                self.tally["encrypted_connections"] += 1
                return
        while len(self._server) >= 5:
            kind = self._server[0:1]
            (length,) = struct.unpack("!I", self._server[1:5])
            if len(self._server) < 1 + length:
                return
            body = bytes(self._server[5 : 1 + length])
            del self._server[: 1 + length]
            if kind == b"Z":
                self._ready(body[:1])

    def _ready(self, status: bytes) -> None:
        if not self._ready_seen:
            self._ready_seen = True  # the end of the start-up, not a query's
            return
        self.tally["round_trips"] += 1
        if status == b"I":
            self.tally["transactions"] += 1
            if self._in_block:
                self.tally["transaction_blocks"] += 1
        self._in_block = status in (b"T", b"E")


def _keyword(sql: bytes) -> str:
    """The first word of a statement, upper-cased (`SELECT`, `INSERT`, `BEGIN`, ...)."""
    text = sql.split(b"\0", 1)[0].lstrip().decode("utf-8", "replace")
    word = text.split(None, 1)[0] if text else ""
    return word.strip("(;").upper() or "?"


class RedisCounter:
    """Commands of one Redis connection (RESP from the client), by name."""

    def __init__(self, tally: Counter) -> None:
        self.tally = tally
        self._buffer = bytearray()
        self.tally["connections"] += 1

    def client(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            parsed = _resp_command(self._buffer)
            if parsed is None:
                return
            name, consumed = parsed
            del self._buffer[:consumed]
            if name:
                self.tally["commands"] += 1
                self.tally[f"command:{name}"] += 1

    def server(self, data: bytes) -> None:
        pass


def _resp_command(buffer: bytearray) -> tuple[str, int] | None:
    """The name of the first complete command in `buffer` and its length in bytes; None when incomplete."""
    if buffer[:1] != b"*":
        end = buffer.find(b"\r\n")  # an inline command: one line
        if end < 0:
            return None
        words = bytes(buffer[:end]).split()
        return (words[0].decode("utf-8", "replace").upper() if words else ""), end + 2
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    count = int(buffer[1:end])
    position, name = end + 2, ""
    for index in range(count):
        if buffer[position : position + 1] != b"$":
            if position >= len(buffer):
                return None
            raise ValueError("a RESP command's argument is not a bulk string")
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(buffer[position + 1 : line_end])
        start, position = line_end + 2, line_end + 2 + size + 2
        if position > len(buffer):
            return None
        if index == 0:
            name = bytes(buffer[start : start + size]).decode("utf-8", "replace").upper()
    return name, position


class Conversation:
    """One proxied connection: the protocol's counter, and the round trips seen from the client's side."""

    def __init__(self, counter: PostgresCounter | RedisCounter, tally: Counter) -> None:
        self.counter = counter
        self.tally = tally
        self._client_last = False

    def from_client(self, data: bytes) -> None:
        if not self._client_last:
            self.tally["client_bursts"] += 1
        self._client_last = True
        self.counter.client(data)

    def from_server(self, data: bytes) -> None:
        self._client_last = False
        self.counter.server(data)


PROTOCOLS: dict[str, Callable[[Counter], PostgresCounter | RedisCounter]] = {
    "postgres": PostgresCounter,
    "redis": RedisCounter,
}


class CountingProxies:
    """TCP proxies on 127.0.0.1, each with its own tally, served by one asyncio loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.tallies: dict[str, Counter] = {}
        self.errors: Counter = Counter()
        self._servers: list[asyncio.base_events.Server] = []
        self._thread = threading.Thread(target=self.loop.run_forever, name="counting-proxies", daemon=True)
        self._thread.start()

    def add(self, name: str, protocol: str, target_host: str, target_port: int) -> int:
        """A proxy to the target that counts as `name`; returns its port."""
        tally = self.tallies.setdefault(name, Counter())
        make_counter = PROTOCOLS[protocol]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
            except OSError:
                self.errors[name] += 1
                writer.close()
                return
            conversation = Conversation(make_counter(tally), tally)
            try:
                await asyncio.gather(
                    self._pump(reader, upstream_writer, conversation.from_client, name),
                    self._pump(upstream_reader, writer, conversation.from_server, name),
                )
            except asyncio.CancelledError:
                # Closing the proxies: end quietly (asyncio's stream callback would report a cancelled handler).
                for end in (writer, upstream_writer):
                    end.close()

        async def serve() -> int:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self._servers.append(server)
            return server.sockets[0].getsockname()[1]

        return asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        observe: Callable[[bytes], None],
        name: str,
    ) -> None:
        try:
            while data := await reader.read(65536):
                try:
                    observe(data)
                except Exception:  # a parse failure must not break the connection; it is reported
                    self.errors[name] += 1
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError, RuntimeError):
                pass

    def snapshot(self) -> dict[str, Counter]:
        """A copy of every tally, taken on the proxies' own loop (so no count is half-made)."""

        async def copy() -> dict[str, Counter]:
            return {name: Counter(tally) for name, tally in self.tallies.items()}

        return asyncio.run_coroutine_threadsafe(copy(), self.loop).result(timeout=10)

    def close(self) -> None:
        """Stop listening, drop the connections still open, and end the loop's thread."""

        async def shut() -> None:
            for server in self._servers:
                server.close()
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def tally_difference(after: Counter, before: Counter) -> Counter:
    """What was counted between two snapshots of one tally (negative counts cannot occur and are dropped)."""
    return Counter({key: after[key] - before.get(key, 0) for key in after if after[key] - before.get(key, 0) > 0})
