"""Salesforce System API: contacts by email over the REST API, authorised by OAuth 2.0 client credentials.

The access token and its `instance_url` are kept in Django's cache, shared by every process, and
used until Salesforce refuses them (401 INVALID_SESSION_ID); then one new token and one retry. Each
process also remembers the token it last used, so that a lookup costs no cache round trip: a token that
another process replaced is refused here once, forgotten, and the shared one read again.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache

from kernel.cache import cache_guarded

from ..errors import SystemAuthError, SystemBadRequest, SystemRateLimited
from ..http import HttpAnswer, HttpClient, Reading, Timeout, read_status
from .types import Contact

# `api-usage=N/M`, possibly beside `per-app-api-usage=...` which must not be mistaken for it.
API_USAGE = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")

SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def soql_literal(value: str) -> str:
    """`value` as a quoted SOQL string literal; ValueError for characters a literal cannot carry safely."""
    if any((ord(char) < 32 and char not in SOQL_ESCAPES) or ord(char) == 127 for char in value):
        raise ValueError("control characters cannot go into a SOQL string literal")
    return "'" + "".join(SOQL_ESCAPES.get(char, char) for char in value) + "'"


def parse_api_usage(value: str | None) -> tuple[int, int] | None:
    """`Sforce-Limit-Info: api-usage=18/15000` as (used, limit)."""
    match = API_USAGE.search(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def read_answer(answer: HttpAnswer) -> Reading:
    """What a REST API answer means, and how much of the org's API quota it says is used: past
    SALESFORCE_API_USAGE_CEILING, the org (shared with other integrations) is held even on a success."""
    reading = Reading() if answer.status < 400 else _read_error(answer)
    usage = parse_api_usage(answer.headers.get("Sforce-Limit-Info"))
    if usage is None:
        return reading
    used, limit = usage
    if limit and used / limit >= settings.SALESFORCE_API_USAGE_CEILING:
        reading = replace(reading, hold=f"the org's API quota is {used}/{limit} used", hold_seconds=None)
    return replace(reading, usage=usage)


def read_token_answer(answer: HttpAnswer) -> Reading:
    """The token endpoint's answer: a refusal that is not a rate limit means our client credentials."""
    reading = read_answer(answer)
    if answer.status in (400, 401, 403) and reading.error is not SystemRateLimited:
        return replace(reading, error=SystemAuthError)
    return reading


def _read_error(answer: HttpAnswer) -> Reading:
    """An error list `[{"message", "errorCode"}]` of the REST API, or the token endpoint's OAuth error."""
    body, message, code = answer.body, None, None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code = str(body[0]["errorCode"]) if body[0].get("errorCode") else None
        message = str(body[0].get("message") or code or f"HTTP {answer.status}")
    elif isinstance(body, dict) and body.get("error"):
        code = str(body["error"])
        message = str(body.get("error_description") or code)
    # The REST API says REQUEST_LIMIT_EXCEEDED (with 403), the token endpoint rate_limit_exceeded (with 400).
    if message and code in ("REQUEST_LIMIT_EXCEEDED", "rate_limit_exceeded"):
        return Reading.failed(SystemRateLimited, message, code=code, retry_after=answer.retry_after)
    return read_status(answer, message, code)


@dataclass(frozen=True)
class AccessGrant:
    """A token from the token endpoint and the instance it is valid on."""

    access_token: str
    instance_url: str


class _RememberedGrants:
    """The grants this process last used, by token cache key, each until it is refused or its time is up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, tuple[AccessGrant, float]] = {}

    def get(self, key: str) -> AccessGrant | None:
        with self._lock:
            grant, until = self._grants.get(key, (None, 0.0))
            return grant if time.monotonic() < until else None

    def keep(self, key: str, grant: AccessGrant, seconds: float) -> None:
        with self._lock:
            self._grants[key] = (grant, time.monotonic() + seconds)

    def drop(self, key: str, grant: AccessGrant) -> None:
        with self._lock:
            if self._grants.get(key, (None, 0.0))[0] == grant:
                del self._grants[key]

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()


# Not state that must be shared: a copy of the shared cache's token, so that a lookup does not ask for it.
remembered_grants = _RememberedGrants()
# A child forked while another thread held the lock would inherit it held.
os.register_at_fork(after_in_child=remembered_grants.__init__)


class SalesforceClient(HttpClient):
    system = "salesforce"
    read_answer = staticmethod(read_answer)

    TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
    QUERY_PATH = "/services/data/{version}/query"
    CONTACT_FIELDS = "Id, FirstName, LastName, Email, Phone, AccountId, Account.Name"
    # Several contacts may share an email, and without ORDER BY Salesforce promises no order: the most
    # recently modified comes first, and Id settles a tie (contacts a bulk load saved at the same moment).
    CONTACT_ORDER = "LastModifiedDate DESC, Id DESC"
    TOKEN_OPERATION = "oauth_token"  # noqa: S105 - an operation name
    # Client-credentials tokens carry no expiry; Salesforce's default session timeout is 2 h of inactivity,
    # and a token that dies earlier costs one refused call, so an hour keeps refreshes rare and bounded.
    TOKEN_CACHE_SECONDS = 60 * 60
    # A contact lookup by email never needs this many batches; a server that keeps paging is broken.
    MAX_PAGES = 50

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_version: str,
        timeout: Timeout,
        session: requests.Session | None = None,
        cache: BaseCache | None = None,
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, session=session)
        self.client_id = client_id
        self._client_secret = client_secret
        self.api_version = api_version
        self.cache = cache if cache is not None else default_cache
        digest = hashlib.sha256(f"{self.base_url}\n{client_id}".encode()).hexdigest()[:32]
        self.token_cache_key = f"system_apis:salesforce:token:{digest}"

    @property
    def last_api_usage(self) -> tuple[int, int] | None:
        """The org's API usage (used, limit) as the last answer stated it."""
        return self.last_reading.usage if self.last_reading else None

    @classmethod
    def from_settings(cls) -> SalesforceClient:
        return cls(
            base_url=settings.SALESFORCE_BASE_URL,
            client_id=settings.SALESFORCE_CLIENT_ID,
            client_secret=settings.SALESFORCE_CLIENT_SECRET,
            api_version=settings.SALESFORCE_API_VERSION,
            timeout=settings.SALESFORCE_TIMEOUT,
        )

    # --- the interface -------------------------------------------------------------------------

    def find_contacts_by_email(self, email: str) -> list[Contact]:
        """Every contact whose email is `email` (compared case-insensitively), the most recently modified first."""
        operation = "find_contacts_by_email"
        # `Email = ''` would match every contact without an email: never a lookup anyone meant.
        if not email.strip():
            raise SystemBadRequest("an email is required", system=self.system, operation=operation)
        try:
            literal = soql_literal(email)
        except ValueError as exc:
            raise SystemBadRequest(str(exc), system=self.system, operation=operation) from exc
        soql = (
            f"SELECT {self.CONTACT_FIELDS} FROM Contact WHERE Email = {literal}"  # noqa: S608 - escaped above
            f" ORDER BY {self.CONTACT_ORDER}"
        )
        return [self._contact(record, operation) for record in self._query_all(soql, operation)]

    # --- queries -------------------------------------------------------------------------------

    def _query_all(self, soql: str, operation: str) -> list[Any]:
        path: str = self.QUERY_PATH.format(version=self.api_version)
        params: dict[str, str] | None = {"q": soql}
        records: list[Any] = []
        for _ in range(self.MAX_PAGES):
            page = self._get(path, operation, params=params)
            batch, done = page.get("records"), page.get("done")
            if not isinstance(batch, list) or not isinstance(done, bool):
                raise self._protocol_error("query answer lacks records or done", operation)
            records.extend(batch)
            if done:
                return records
            next_url = page.get("nextRecordsUrl")
            # Relative to instance_url; an absolute URL could carry our token to another host.
            if not isinstance(next_url, str) or not next_url.startswith("/"):
                raise self._protocol_error("query answer is not done but has no relative nextRecordsUrl", operation)
            path, params = next_url, None
        raise self._protocol_error(f"query still not done after {self.MAX_PAGES} batches", operation)

    def _get(self, path: str, operation: str, *, params: dict[str, str] | None) -> dict[str, Any]:
        for retry in (True, False):
            grant = self._grant()
            try:
                response = self._send(grant, path, operation, params)
                break
            except SystemAuthError as exc:
                if exc.status != 401:
                    raise
                # A refused token is dropped: one new token and one retry, no more.
                self._forget(grant)
                if not retry:
                    raise
        body = self._json(response, operation)
        if not isinstance(body, dict):
            raise self._protocol_error("query answer is not an object", operation)
        return body

    def _send(self, grant: AccessGrant, path: str, operation: str, params: dict[str, str] | None) -> requests.Response:
        return self._request(
            "GET",
            grant.instance_url + path,
            operation=operation,
            params=params,
            headers={"Authorization": f"Bearer {grant.access_token}", "Accept": "application/json"},
        )

    def _contact(self, record: Any, operation: str) -> Contact:
        if not isinstance(record, dict) or not isinstance(record.get("Id"), str):
            raise self._protocol_error("a contact record has no Id", operation)
        account = record.get("Account")
        return Contact(
            id=record["Id"],
            first_name=_text(record.get("FirstName")),
            last_name=_text(record.get("LastName")) or "",
            email=_text(record.get("Email")),
            phone=_text(record.get("Phone")),
            account_id=_text(record.get("AccountId")),
            account_name=_text(account.get("Name")) if isinstance(account, dict) else None,
        )

    # --- the access token ----------------------------------------------------------------------

    def _grant(self) -> AccessGrant:
        remembered = remembered_grants.get(self.token_cache_key)
        if remembered is not None:
            return remembered
        grant = self._cached_grant() or self._fetch_grant()
        remembered_grants.keep(self.token_cache_key, grant, self.TOKEN_CACHE_SECONDS)
        return grant

    def _fetch_grant(self) -> AccessGrant:
        operation = self.TOKEN_OPERATION
        response = self._request(
            "POST",
            self.TOKEN_PATH,
            operation=operation,
            read=read_token_answer,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        instance_url = body.get("instance_url") if isinstance(body, dict) else None
        # No body in this error: it might hold the token.
        if not (isinstance(token, str) and token and isinstance(instance_url, str)):
            raise self._protocol_error("token answer lacks access_token", operation)
        if not instance_url.startswith(("https://", "http://")):
            raise self._protocol_error("token answer lacks an instance_url", operation)
        grant = AccessGrant(access_token=token, instance_url=instance_url.rstrip("/"))
        self._cache_call("set", self.token_cache_key, asdict(grant), self.TOKEN_CACHE_SECONDS)
        return grant

    def _cached_grant(self) -> AccessGrant | None:
        cached = self._cache_call("get", self.token_cache_key)
        if not isinstance(cached, dict):
            return None
        try:
            return AccessGrant(**cached)
        except TypeError:
            return None

    def _forget(self, grant: AccessGrant) -> None:
        remembered_grants.drop(self.token_cache_key, grant)
        # Another process may already have stored a fresh token; only the refused one is dropped.
        if self._cached_grant() == grant:
            self._cache_call("delete", self.token_cache_key)

    def _cache_call(self, method: str, *args: Any) -> Any:
        # A cache outage costs a token request per call, not the lookup itself.
        return cache_guarded(lambda: getattr(self.cache, method)(*args), default=None, what="salesforce token cache")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
