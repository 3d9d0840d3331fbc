"""The benchmarks' wire counters, fed the bytes PostgreSQL and Redis clients and servers send (no server runs)."""

import struct
from collections import Counter

from bench.wire import SSL_REQUEST, Conversation, PostgresCounter, RedisCounter, tally_difference


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def startup() -> bytes:
    body = struct.pack("!I", 196608) + b"user\0postgres\0database\0ih\0\0"
    return struct.pack("!I", len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", sql.encode() + b"\0")


def ready(status: bytes) -> bytes:
    return message(b"Z", status)


def answered(sql: str, status: bytes) -> bytes:
    """What the server sends back for one simple query: a completion tag, then ReadyForQuery."""
    return message(b"C", sql.split()[0].encode() + b" 1\0") + ready(status)


def feed(counter: PostgresCounter | RedisCounter, conversation: list[tuple[str, bytes]], chunk: int = 0) -> None:
    """Pass each direction's bytes to the counter, whole or `chunk` bytes at a time."""
    for side, data in conversation:
        pieces = [data] if not chunk else [data[i : i + chunk] for i in range(0, len(data), chunk)]
        for piece in pieces:
            getattr(counter, side)(piece)


SESSION = [
    ("client", startup()),
    ("server", message(b"R", struct.pack("!I", 0)) + message(b"S", b"TimeZone\0UTC\0") + ready(b"I")),
    ("client", query("SELECT 1")),
    ("server", answered("SELECT 1", b"I")),
    ("client", query("BEGIN")),
    ("server", answered("BEGIN", b"T")),
    ("client", query('INSERT INTO "report" VALUES (1)')),
    ("server", answered("INSERT", b"T")),
    ("client", query("  update report set x = 2")),
    ("server", answered("UPDATE", b"T")),
    ("client", query("COMMIT")),
    ("server", answered("COMMIT", b"I")),
    ("client", query("UPDATE work SET state = 'done'")),
    ("server", answered("UPDATE", b"I")),
    ("client", message(b"X")),
]


def test_postgres_statements_commits_transactions_and_round_trips_are_counted():
    tally = Counter()

    feed(PostgresCounter(tally), SESSION)

    assert tally == Counter(
        {
            "connections": 1,
            "statements": 6,
            "statement:SELECT": 1,
            "statement:BEGIN": 1,
            "statement:INSERT": 1,
            "statement:UPDATE": 2,
            "statement:COMMIT": 1,
            # The COMMIT, and the UPDATE written outside a block; not the read, not the writes inside it.
            "commits": 2,
            # The read, the block and the autocommitted UPDATE, as pg_stat_database counts them.
            "transactions": 3,
            "transaction_blocks": 1,
            "round_trips": 6,
        }
    )


def test_postgres_messages_split_anywhere_count_the_same():
    whole, byte_by_byte = Counter(), Counter()

    feed(PostgresCounter(whole), SESSION)
    feed(PostgresCounter(byte_by_byte), SESSION, chunk=1)

    assert byte_by_byte == whole


def test_postgres_extended_protocol_statements_take_their_keyword_from_the_parse():
    tally = Counter()
    counter = PostgresCounter(tally)
    feed(counter, SESSION[:2])

    feed(
        counter,
        [
            (
                "client",
                message(b"P", b"\0SELECT id FROM work WHERE id = $1\0\0\0")
                + message(b"B", b"\0\0\0\0\0\1\0\0\0\0017\0\0")
                + message(b"D", b"P\0")
                + message(b"E", b"\0\0\0\0\0")
                + message(b"S"),
            ),
            ("server", message(b"1") + message(b"2") + answered("SELECT", b"I")),
        ],
    )

    assert (tally["statements"], tally["statement:SELECT"], tally["round_trips"], tally["commits"]) == (1, 1, 1, 0)


def test_postgres_refusing_tls_is_read_past_and_agreeing_to_it_stops_the_counting():
    refused, agreed = Counter(), Counter()
    ssl_request = struct.pack("!II", 8, SSL_REQUEST)

    feed(PostgresCounter(refused), [("client", ssl_request), ("server", b"N"), *SESSION])
    feed(PostgresCounter(agreed), [("client", ssl_request), ("server", b"S"), ("client", b"\x16\x03\x01 tls bytes")])

    assert refused["statements"] == 6
    assert agreed == Counter({"encrypted_connections": 1})


def resp(*words: str) -> bytes:
    return f"*{len(words)}\r\n".encode() + b"".join(f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words)


def test_redis_commands_are_counted_by_name_and_a_pipeline_is_one_round_trip():
    tally = Counter()
    conversation = Conversation(RedisCounter(tally), tally)

    conversation.from_client(resp("GET", "incident_hub:1:circuit:servicenow"))
    conversation.from_server(b"$-1\r\n")
    conversation.from_client(resp("MULTI") + resp("INCRBY", "k", "1"))
    conversation.from_client(resp("EXPIRE", "k", "60") + resp("EXEC"))
    conversation.from_server(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n")
    conversation.from_client(b"PING\r\n")

    assert tally == Counter(
        {
            "connections": 1,
            "commands": 6,
            "command:GET": 1,
            "command:MULTI": 1,
            "command:INCRBY": 1,
            "command:EXPIRE": 1,
            "command:EXEC": 1,
            "command:PING": 1,
            "client_bursts": 3,
        }
    )


def test_a_redis_command_split_anywhere_is_counted_once_it_is_whole():
    tally = Counter()
    counter = RedisCounter(tally)
    data = resp("SET", "key with\r\nnewline", "é" * 3) + resp("GET", "x")

    for i in range(len(data)):
        counter.client(data[i : i + 1])

    assert (tally["commands"], tally["command:SET"], tally["command:GET"]) == (2, 1, 1)


def test_the_difference_of_two_tallies_keeps_what_grew():
    before = Counter({"statements": 10, "commits": 2, "connections": 1})
    after = Counter({"statements": 31, "commits": 2, "connections": 1, "statement:UPDATE": 4})

    assert tally_difference(after, before) == Counter({"statements": 21, "statement:UPDATE": 4})
