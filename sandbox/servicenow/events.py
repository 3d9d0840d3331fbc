"""The business rule of the ServiceNow stand-in: after an incident of Incident Hub's is inserted or updated, the
instance POSTs it to the configured event URL, as an outbound REST message with an OAuth 2.0 profile would.

Settings (Django settings first, then the environment; empty URL turns the calls off):
- SANDBOX_SERVICENOW_EVENT_URL: where to POST (default Incident Hub's endpoint under `make run`,
  http://127.0.0.1:8000/api/events/servicenow/v1/incidents, on WEB_PORT when that is set).
- SANDBOX_SERVICENOW_EVENT_TOKEN_URL: the OAuth token endpoint (default: the event URL's origin + /o/token/).
- SANDBOX_SERVICENOW_EVENT_CLIENT_ID / _CLIENT_SECRET: the client credentials for it (HTTP Basic client auth).
- SANDBOX_SERVICENOW_EVENT_SCOPE: a scope to ask for (default none: the client's default scopes).

The calls go after the commit, from one background thread of the sandbox process, so the Table API answers
without waiting for them; each outcome is logged and kept (the last HISTORY_SIZE) for the sandbox page.
The fault knobs drop_events_next, duplicate_events_next and reorder_events_next (sandbox.faults) apply here.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction

from ..models import Fault
from .choices import display_value

logger = logging.getLogger(__name__)

# Incident Hub's endpoint as `make run` serves it (the Makefile exports WEB_PORT, 8000 unless PORT says otherwise).
DEFAULT_EVENT_PATH = "/api/events/servicenow/v1/incidents"
# Only incidents that Incident Hub made (their correlation_id is a report's reference) are sent, as the
# business rule's condition `current.correlation_id.startsWith('IH-')` says.
CORRELATION_PREFIX = "IH-"
EVENT_FIELDS = (
    "sys_id",
    "number",
    "state",
    "priority",
    "sys_mod_count",
    "sys_updated_on",
    "sys_updated_by",
    "correlation_id",
    "close_code",
    "close_notes",
    "assigned_to",
    "hold_reason",
    "short_description",
    "resolved_at",
)
TIMEOUT = (2.0, 5.0)  # (connect, read) seconds: a slow receiver delays the next event, never the Table API
# A token is renewed this long before the expiry its answer named, so it does not run out in flight.
TOKEN_MARGIN_SECONDS = 30
# An event held back by reorder_events_next goes after the next event, or after this long if none comes.
HOLD_SECONDS = 30.0
HISTORY_SIZE = 50


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def event_url() -> str:
    default = f"http://127.0.0.1:{os.environ.get('WEB_PORT') or 8000}{DEFAULT_EVENT_PATH}"
    return setting("SANDBOX_SERVICENOW_EVENT_URL", default).strip()


def token_url() -> str:
    configured = setting("SANDBOX_SERVICENOW_EVENT_TOKEN_URL").strip()
    if configured:
        return configured
    parts = urlsplit(event_url())
    return f"{parts.scheme}://{parts.netloc}/o/token/"


def event_body(fields: dict[str, str]) -> dict[str, str]:
    """The incident as the business rule of Incident Hub's README sends it: every value a string, codes as
    they are stored, the assignee by name (`getDisplayValue()`)."""
    body = {name: str(fields.get(name, "") or "") for name in EVENT_FIELDS}
    body["assigned_to"] = display_value("assigned_to", body["assigned_to"])
    return body


def after_commit(fields: dict[str, str]) -> None:
    """Called inside the insert's or update's transaction: the event goes out once it has committed."""
    if not fields.get("correlation_id", "").startswith(CORRELATION_PREFIX):
        return
    body = event_body(fields)
    transaction.on_commit(lambda: sender.submit(body))


@dataclass
class Event:
    body: dict[str, str]
    duplicate: bool = False
    hold: bool = False


@dataclass
class Call:
    """One outbound event call (or one the faults stopped), as the sandbox page lists it."""

    at: str
    number: str
    state: str
    sys_mod_count: str
    outcome: str
    ok: bool
    note: str = ""
    url: str = ""


@dataclass
class _Token:
    key: tuple[str, str]
    access_token: str
    expires_at: float


@dataclass
class EventSender:
    """The queue of events and the one thread that sends them, in the order they were committed."""

    session: requests.Session = field(default_factory=requests.Session)
    _queue: queue.Queue[Event] = field(default_factory=queue.Queue)
    _history: deque[Call] = field(default_factory=lambda: deque(maxlen=HISTORY_SIZE))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _token: _Token | None = None
    _held: Event | None = None

    # --- the request thread's side ---------------------------------------------------------------

    def submit(self, body: dict[str, str]) -> None:
        """Queue one committed change; the fault knobs decide here whether it is dropped, doubled or held."""
        if not event_url():
            return
        fault = Fault.for_system("servicenow")
        if fault.take("drop_events_next"):
            self._record(body, "dropped (fault drop_events_next)", ok=False)
            logger.info("sandbox ServiceNow: event of %s dropped by a fault knob", body.get("number"))
            return
        event = Event(body, duplicate=fault.take("duplicate_events_next"), hold=fault.take("reorder_events_next"))
        self._queue.put(event)
        self._ensure_thread()

    def history(self) -> list[Call]:
        """The last calls, newest first."""
        with self._lock:
            return list(reversed(self._history))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued event has been handled (a held-back one may still wait for its turn)."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def reset(self) -> None:
        """Forget the history, the token and any held-back event (for tests and a fresh page)."""
        with self._lock:
            self._history.clear()
            self._token = None
            self._held = None

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-servicenow-events", daemon=True)
                self._thread.start()

    # --- the sending thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                event = self._queue.get(timeout=HOLD_SECONDS if self._held else None)
            except queue.Empty:
                held, self._held = self._held, None
                if held is not None:
                    self._send(held, note=f"held back, sent alone after {HOLD_SECONDS:.0f} s")
                continue
            try:
                self._handle(event)
            except Exception:  # the thread must outlive any one event
                logger.exception("sandbox ServiceNow: event of %s not handled", event.body.get("number"))
            finally:
                self._queue.task_done()

    def _handle(self, event: Event) -> None:
        if event.hold and self._held is None:
            self._held = event
            self._record(event.body, "held back (fault reorder_events_next)", ok=True, note="sent after the next")
            return
        self._send(event)
        if event.duplicate:
            self._send(event, note="duplicate (fault duplicate_events_next)")
        held, self._held = self._held, None
        if held is not None:
            self._send(held, note="held back, sent after a later event")

    def _send(self, event: Event, note: str = "") -> None:
        url = event_url()
        if not url:
            return
        try:
            response = self._post(url, event.body)
        except requests.RequestException as exc:
            outcome = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("sandbox ServiceNow: event of %s to %s failed: %s", event.body.get("number"), url, outcome)
            self._record(event.body, outcome, ok=False, note=note, url=url)
            return
        ok = 200 <= response.status_code < 300
        outcome = f"HTTP {response.status_code}"
        log = logger.info if ok else logger.warning
        log("sandbox ServiceNow: event of %s to %s answered %s", event.body.get("number"), url, outcome)
        self._record(event.body, outcome, ok=ok, note=note, url=url)

    def _post(self, url: str, body: dict[str, Any]) -> requests.Response:
        """POST with a bearer token; a 401 means the token went stale: get a new one and try once more."""
        response = self.session.post(url, json=body, headers=self._auth_headers(), timeout=TIMEOUT)
        if response.status_code == 401 and self._token is not None:
            self._token = None
            response = self.session.post(url, json=body, headers=self._auth_headers(), timeout=TIMEOUT)
        return response

    def _auth_headers(self) -> dict[str, str]:
        client_id = setting("SANDBOX_SERVICENOW_EVENT_CLIENT_ID")
        if not client_id:
            return {}  # no credentials configured: the receiver's 401 will say so on the page
        key = (token_url(), client_id)
        token = self._token
        if token is None or token.key != key or time.monotonic() >= token.expires_at:
            token = self._token = self._fetch_token(key)
        return {"Authorization": f"Bearer {token.access_token}"}

    def _fetch_token(self, key: tuple[str, str]) -> _Token:
        url, client_id = key
        data = {"grant_type": "client_credentials"}
        scope = setting("SANDBOX_SERVICENOW_EVENT_SCOPE").strip()
        if scope:
            data["scope"] = scope
        secret = setting("SANDBOX_SERVICENOW_EVENT_CLIENT_SECRET")
        response = self.session.post(url, data=data, auth=(client_id, secret), timeout=TIMEOUT)
        if response.status_code != 200:
            raise requests.HTTPError(f"token endpoint {url} answered HTTP {response.status_code}", response=response)
        try:
            answer = response.json()
            access_token = str(answer["access_token"])
            expires_in = float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise requests.HTTPError(f"token endpoint {url} gave no access_token", response=response) from exc
        return _Token(key, access_token, time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 0))

    def _record(self, body: dict[str, str], outcome: str, *, ok: bool, note: str = "", url: str = "") -> None:
        call = Call(
            at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            number=body.get("number", ""),
            state=body.get("state", ""),
            sys_mod_count=body.get("sys_mod_count", ""),
            outcome=outcome,
            ok=ok,
            note=note,
            url=url,
        )
        with self._lock:
            self._history.append(call)


sender = EventSender()
