"""Idempotency records: claim a key, answer once, replay that answer to every retry until the key expires.

Claiming is an INSERT under the unique constraint on (scope, key): of two concurrent requests with the
same key exactly one gets the record, the other sees it in flight. An answer that says "try again"
(5xx, an exception) is not kept, so that a retry can do the work; any other answer is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone

from ..models import IdempotencyRecord

State = IdempotencyRecord.State

T = TypeVar("T")

MAX_KEY_LENGTH = 255
_CLAIM_ATTEMPTS = 3
# An RFC 8941 String, its content in group 1: no bare `"` or `\` inside, and only `\"` and `\\` as escapes.
_SF_STRING = re.compile(r'"((?:[^"\\]|\\["\\])*)"')


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    IN_FLIGHT = "in_flight"
    REPLAY = "replay"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    location: str = ""


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    # CLAIMED: the new record, ours to complete or release. REPLAY: the completed record.
    record: IdempotencyRecord | None = None

    @property
    def stored(self) -> StoredResponse | None:
        if self.record is None or self.record.state != State.COMPLETED:
            return None
        body = json.loads(self.record.response_body) if self.record.response_body else None
        return StoredResponse(self.record.response_status or 0, body, self.record.response_location)


def idempotency_key_ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotency_key_parse(value: str) -> str | None:
    """The key an `Idempotency-Key` header value carries, or None if it is no valid key.

    The draft defines the field as a Structured Field String (`"..."`, RFC 8941); a bare key, as many
    clients send it, is taken as it is. A key is 1 to 255 printable ASCII characters.
    """
    value = value.strip(" \t")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        string = _SF_STRING.fullmatch(value)
        if string is None:
            return None
        value = re.sub(r'\\(["\\])', r"\1", string[1])
    if not 1 <= len(value) <= MAX_KEY_LENGTH or any(not " " <= char <= "~" for char in value):
        return None
    return value


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the body in canonical JSON: key order and whitespace do not make another body."""
    if isinstance(data, QueryDict):
        data = {key: values for key, values in data.lists()}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def idempotency_claim(*, scope: str, key: str, fingerprint: str | None = None) -> Claim:
    """Claim `key` for one request, or say why not.

    With `fingerprint=None` any body counts as a retry of the first (the browser form: a resubmit with
    edits is still the same report).
    """
    for _ in range(_CLAIM_ATTEMPTS):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint or "",
                    state=State.IN_FLIGHT,
                    created_at=now,
                    expires_at=now + idempotency_key_ttl(),
                )
            return Claim(ClaimOutcome.CLAIMED, record)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # released between our INSERT and this read: claim again
        if existing.expires_at <= now:
            # Only the row judged expired, in the state it was judged in: never a replacement, never a completion.
            IdempotencyRecord.objects.filter(pk=existing.pk, state=existing.state).delete()
            continue
        if _is_dead(existing, now):
            # Left in flight by a process that died: taken over as the same record (the same intake key), so
            # a report that request did store is found again instead of made twice.
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=State.IN_FLIGHT, created_at=existing.created_at
            ).update(created_at=now)
            if taken:
                existing.refresh_from_db()
                return Claim(ClaimOutcome.CLAIMED, existing)
            continue
        if fingerprint is not None and existing.fingerprint != fingerprint:
            return Claim(ClaimOutcome.MISMATCH, existing)
        if existing.state == State.IN_FLIGHT:
            return Claim(ClaimOutcome.IN_FLIGHT, existing)
        return Claim(ClaimOutcome.REPLAY, existing)
    return Claim(ClaimOutcome.IN_FLIGHT)


def idempotency_find(*, scope: str, key: str) -> Claim | None:
    """What a retry with `key` would get right now (IN_FLIGHT or REPLAY), without claiming it; None if unused."""
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is None or _is_dead(existing, timezone.now()):
        return None
    return Claim(ClaimOutcome.IN_FLIGHT if existing.state == State.IN_FLIGHT else ClaimOutcome.REPLAY, existing)


def idempotency_intake_key(record: IdempotencyRecord) -> str:
    """The key the report made under this record is stored with in the process layer."""
    return f"idempotency:{record.pk}"


def idempotency_run(
    record: IdempotencyRecord, work: Callable[[], T], answer: Callable[[T], StoredResponse | None]
) -> T:
    """Do the work of a claimed key and keep `answer(result)` for every retry until the key expires.

    If `work` raises, or the answer is None (one that says "try again"), the key is forgotten instead,
    so that a retry does the work again.
    """
    in_flight = IdempotencyRecord.objects.filter(pk=record.pk, state=State.IN_FLIGHT)
    try:
        result = work()
    except BaseException:
        in_flight.delete()
        raise
    stored = answer(result)
    if stored is None:
        in_flight.delete()
    else:
        in_flight.update(
            state=State.COMPLETED,
            response_status=stored.status,
            response_body=json.dumps(stored.body, cls=DjangoJSONEncoder),
            response_location=stored.location,
            completed_at=timezone.now(),
        )
    return result


def idempotency_purge_expired(*, now: datetime | None = None) -> int:
    """Delete the records whose keys have expired (run it periodically); returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def _is_dead(record: IdempotencyRecord, now: datetime) -> bool:
    if record.expires_at <= now:
        return True
    timeout = timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)
    return record.state == State.IN_FLIGHT and record.created_at <= now - timeout
