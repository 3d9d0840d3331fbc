"""The CSV of Bulk API 2.0 ingest jobs: written as Salesforce reads it, read as it answers, neither held whole.

What we send: RFC 4180 (a field with a comma, a double quote or a line break is quoted, its quotes doubled), UTF-8,
LF line endings, as the job declares (`"lineEnding": "LF"`), spooled to disk past SPOOL_BYTES. What Salesforce
answers (results of a job) is read record by record as it arrives.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

# The CSV of a job stays in memory up to this size, and goes to a temporary file past it.
SPOOL_BYTES = 4 * 1024 * 1024
SEND_BLOCK_BYTES = 64 * 1024
# What an answer is read by.
RECEIVE_BLOCK_BYTES = 64 * 1024


class SpooledCsv:
    """One job's CSV as it is written: its size known at every row, and then sent by requests a block at a time.

    requests sends a body that has `read` in blocks, with a Content-Length of `len(body)` (without `__len__` it would
    ask a spooled file for its `fileno`, which moves the data to disk just to measure it).
    """

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by close()
        self._size = 0
        self._writer = csv.writer(self, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)

    def write_row(self, values: list[str]) -> None:
        """One CSV record; UnicodeEncodeError for text that is not valid Unicode (a lone surrogate)."""
        self._writer.writerow(values)

    def write(self, text: str) -> None:
        """For the csv writer: one record, encoded."""
        data = text.encode("utf-8")
        self._file.write(data)
        self._size += len(data)

    def __len__(self) -> int:
        return self._size

    def rewind(self) -> None:
        """Ready to be sent from its first byte (again, after a refused token)."""
        self._file.seek(0)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(SEND_BLOCK_BYTES), b"")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledCsv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MalformedCsv(ValueError):
    """An answer that is not the CSV it should be."""


class _ChunkStream(io.RawIOBase):
    """Chunks of bytes as they arrive, as a stream to read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def csv_records(chunks: Iterable[bytes], leading: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """The records of a CSV answer by its header, read from `chunks` as they come; an empty answer has none.

    Raises MalformedCsv for a header that does not begin with `leading`, a record with another number of fields
    than the header, or bytes that are not UTF-8 (UnicodeDecodeError is a ValueError too).
    """
    # newline="": line breaks inside quoted fields stay what they are, as the csv module wants.
    text = io.TextIOWrapper(io.BufferedReader(_ChunkStream(chunks)), encoding="utf-8", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    if tuple(header[: len(leading)]) != leading:
        raise MalformedCsv(f"its header does not begin with {', '.join(leading)}")
    for number, fields in enumerate(reader, start=1):
        if len(fields) != len(header):
            raise MalformedCsv(f"record {number} has {len(fields)} fields, its header {len(header)}")
        yield dict(zip(header, fields, strict=True))
