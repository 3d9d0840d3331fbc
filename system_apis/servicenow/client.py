"""ServiceNow Table API connector: incidents in and out, as Incident Hub's own types.

Speaks `/api/now/table/incident` with basic auth. Every value ServiceNow sends back is a string
(reference fields are `{"link", "value"}` objects unless links are excluded), so all of it is
parsed here and nothing vendor-shaped leaves this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from ..errors import SystemBadRequest
from ..http import HttpAnswer, HttpClient, Reading, Timeout, read_status
from .types import (
    Impact,
    Incident,
    IncidentChange,
    IncidentState,
    IncidentUpdate,
    NewIncident,
    Urgency,
    priority_for,
)

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SYS_ID = re.compile(r"^[0-9a-f]{32}$")
# What a change needs: no descriptions, no journal fields (work notes can be long).
CHANGE_FIELDS = (
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
)


class UnreadableRecord(ValueError):
    """An incident record that cannot be read as a change (no sys_id, a sys_mod_count that is no number...)."""


def read_answer(answer: HttpAnswer) -> Reading:
    """What the Table API's answer means; its errors say `{"error": {"message", "detail"}}`."""
    body = answer.body if answer.status >= 400 else None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return read_status(answer)
    message, detail = str(error["message"]), error.get("detail")
    return read_status(answer, f"{message}: {detail}" if detail else message)


class ServiceNowClient(HttpClient):
    system = "servicenow"
    read_answer = staticmethod(read_answer)

    INCIDENTS_PATH = "api/now/table/incident"
    INCIDENT_PATH = "api/now/table/incident/{sys_id}"
    RECORD_PAGE_PATH = "nav_to.do?uri=incident.do?sys_id={sys_id}"
    # Shown in the incident's "Correlation display" column: which system the correlation_id belongs to.
    CORRELATION_DISPLAY = "Incident Hub"
    # References as bare sys_ids: smaller answers, and no instance URLs to carry around.
    READ_PARAMS = {"sysparm_exclude_reference_link": "true"}
    # What a change is read with: codes as values, people by name ({"value", "display_value"} for every field).
    CHANGE_PARAMS = {
        "sysparm_fields": ",".join(CHANGE_FIELDS),
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
    }

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        timeout: Timeout,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, session=session)
        self.auth = (username, password)
        self.headers = {"Accept": "application/json"}

    @classmethod
    def from_settings(cls) -> ServiceNowClient:
        return cls(
            base_url=settings.SERVICENOW_BASE_URL,
            username=settings.SERVICENOW_USERNAME,
            password=settings.SERVICENOW_PASSWORD,
            timeout=settings.SERVICENOW_TIMEOUT,
        )

    # --- operations ------------------------------------------------------------------------

    def create_incident(self, new: NewIncident) -> Incident:
        operation = "create_incident"
        self._check_correlation_id(new.correlation_id, operation)
        description = new.description
        if new.caller_email:
            # caller_id is a reference to sys_user; the reporter is not a ServiceNow user, so the
            # address travels as text.
            description = f"{description}\n\nCaller email: {new.caller_email}".lstrip()
        body = {
            "short_description": new.short_description,
            "description": description,
            "impact": str(int(new.impact)),
            "urgency": str(int(new.urgency)),
            "correlation_id": new.correlation_id,
            "correlation_display": self.CORRELATION_DISPLAY,
            "category": new.category,
            "contact_type": new.contact_type,
        }
        response = self._request("POST", self.INCIDENTS_PATH, operation=operation, params=self.READ_PARAMS, json=body)
        if response.status_code != 201:
            raise self._protocol_error(
                f"expected 201 Created, got {response.status_code}", operation, response=response
            )
        return self._incident(self._result(response, operation), operation)

    def get_incident(self, sys_id: str) -> Incident:
        operation = "get_incident"
        response = self._request(
            "GET", self._incident_path(sys_id, operation), operation=operation, params=self.READ_PARAMS
        )
        return self._incident(self._result(response, operation), operation)

    def find_by_correlation_id(self, correlation_id: str) -> Incident | None:
        operation = "find_by_correlation_id"
        self._check_correlation_id(correlation_id, operation)
        params = {
            "sysparm_query": f"correlation_id={correlation_id}",
            "sysparm_limit": "1",
            **self.READ_PARAMS,
        }
        response = self._request("GET", self.INCIDENTS_PATH, operation=operation, params=params)
        records = self._result(response, operation, many=True)
        if not records:
            return None
        return self._incident(records[0], operation)

    def update_incident(self, sys_id: str, changes: IncidentUpdate) -> Incident:
        operation = "update_incident"
        body = {
            name: str(int(value)) if isinstance(value, int) else value
            for name, value in asdict(changes).items()
            if value is not None
        }
        response = self._request(
            "PATCH", self._incident_path(sys_id, operation), operation=operation, params=self.READ_PARAMS, json=body
        )
        return self._incident(self._result(response, operation), operation)

    def incident_as_change(self, sys_id: str) -> IncidentChange:
        """The incident as it stands now, read as the latest change (what a poll would read for it)."""
        operation = "incident_as_change"
        response = self._request(
            "GET", self._incident_path(sys_id, operation), operation=operation, params=self.CHANGE_PARAMS
        )
        [change] = self._changes([self._result(response, operation)], operation, response)
        return change

    def changed_incidents(
        self, *, correlation_prefix: str, since: datetime, page_size: int = 100
    ) -> Iterator[list[IncidentChange]]:
        """Incidents whose correlation_id starts with `correlation_prefix`, updated at or after `since`, oldest
        change first, a page at a time (the pages ServiceNow's `Link` header names). A record it cannot read is
        a protocol error: skipping it would lose a change."""
        operation = "changed_incidents"
        self._check_correlation_id(correlation_prefix, operation)
        # A plain date-time is compared with the stored UTC value; javascript:gs.dateGenerate() would read it in
        # the integration user's time zone instead.
        query = (
            f"correlation_idSTARTSWITH{correlation_prefix}"
            f"^sys_updated_on>={since.astimezone(UTC).strftime(DATETIME_FORMAT)}^ORDERBYsys_updated_on"
        )
        params: dict[str, str] | None = {
            "sysparm_query": query,
            **self.CHANGE_PARAMS,
            "sysparm_limit": str(page_size),
        }
        path = self.INCIDENTS_PATH
        while path:
            response = self._request("GET", path, operation=operation, params=params)
            yield self._changes(self._result(response, operation, many=True), operation, response)
            path, params = self._next_page(response, operation), None

    def _changes(self, records: list[Any], operation: str, response: requests.Response) -> list[IncidentChange]:
        """Records read as changes; one that cannot be read is a protocol error (skipping it would lose a change)."""
        try:
            return [incident_change(record) for record in records]
        except UnreadableRecord as exc:
            raise self._protocol_error(str(exc), operation, response=response) from exc

    def _next_page(self, response: requests.Response, operation: str) -> str:
        following = response.links.get("next", {}).get("url", "")
        # The next page's URL carries the query; credentials go only to the instance configured.
        if following and not following.startswith(self.base_url):
            raise self._protocol_error("the next page is on another host", operation, response=response)
        return following

    def _incident_path(self, sys_id: str, operation: str) -> str:
        # An empty sys_id would turn a read of one record into a read of the table.
        if not sys_id:
            raise SystemBadRequest("sys_id must be non-empty", system=self.system, operation=operation)
        return self.INCIDENT_PATH.format(sys_id=quote(sys_id, safe=""))

    def incident_url(self, sys_id: str) -> str:
        """The incident's form in the instance's UI, for a person to open."""
        return self.url(self.RECORD_PAGE_PATH.format(sys_id=sys_id))

    # --- the vendor's answers --------------------------------------------------------------

    def _check_correlation_id(self, correlation_id: str, operation: str) -> None:
        # `^` joins encoded-query terms, and an empty value would match every incident without one.
        if not correlation_id or "^" in correlation_id:
            raise SystemBadRequest(
                "correlation_id must be non-empty and free of '^'", system=self.system, operation=operation
            )

    def _result(self, response: requests.Response, operation: str, *, many: bool = False) -> Any:
        body = self._json(response, operation)
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list if many else dict):
            raise self._protocol_error(
                f"answer has no 'result' {'list' if many else 'object'}", operation, response=response
            )
        return result

    def _incident(self, record: Any, operation: str) -> Incident:
        if not isinstance(record, dict):
            raise self._protocol_error("incident record is not an object", operation)
        sys_id = _value(record, "sys_id")
        number = _value(record, "number")
        if not sys_id or not number:
            raise self._protocol_error("incident without sys_id or number", operation)
        try:
            state = IncidentState(int(_value(record, "state")))
            impact = Impact(int(_value(record, "impact")))
            urgency = Urgency(int(_value(record, "urgency")))
            priority_text = _value(record, "priority")
            priority = int(priority_text) if priority_text else priority_for(impact, urgency)
            opened_at = _datetime(_value(record, "opened_at"))
            updated_at = _datetime(_value(record, "sys_updated_on"))
            mod_count_text = _value(record, "sys_mod_count")
            mod_count = int(mod_count_text) if mod_count_text else None
        except ValueError as exc:
            raise self._protocol_error(f"incident {number} has an unreadable value: {exc}", operation) from exc
        return Incident(
            sys_id=sys_id,
            number=number,
            state=state,
            impact=impact,
            urgency=urgency,
            priority=priority,
            short_description=_value(record, "short_description"),
            description=_value(record, "description"),
            correlation_id=_value(record, "correlation_id"),
            category=_value(record, "category"),
            opened_at=opened_at,
            updated_at=updated_at,
            url=self.incident_url(sys_id),
            mod_count=mod_count,
        )


def incident_change(record: Any) -> IncidentChange:
    """An incident record as the Table API gives it (plain strings, reference objects `{"link", "value"}`, or
    `{"value", "display_value"}` pairs) read as a change; `UnreadableRecord` says what is wrong with it."""
    if not isinstance(record, dict):
        raise UnreadableRecord("the incident is not an object")
    sys_id = _value(record, "sys_id")
    if not SYS_ID.match(sys_id):
        raise UnreadableRecord("sys_id must be 32 lowercase hexadecimal characters")
    mod_count = _value(record, "sys_mod_count")
    if not mod_count.isdigit():
        raise UnreadableRecord("sys_mod_count must be a whole number")
    state, priority = _value(record, "state"), _value(record, "priority")
    try:
        return IncidentChange(
            sys_id=sys_id,
            mod_count=int(mod_count),
            number=_value(record, "number"),
            state=IncidentState(int(state)) if state else None,
            priority=int(priority) if priority else None,
            updated_at=_datetime(_value(record, "sys_updated_on")),
            updated_by=_shown(record, "sys_updated_by"),
            correlation_id=_value(record, "correlation_id"),
            close_code=_value(record, "close_code") if "close_code" in record else None,
            close_notes=_value(record, "close_notes") if "close_notes" in record else None,
            assigned_to=_shown(record, "assigned_to") if "assigned_to" in record else None,
            work_notes=_shown(record, "work_notes"),
        )
    except ValueError as exc:
        raise UnreadableRecord(f"unreadable state, priority or sys_updated_on: {exc}") from exc


def _shown(record: dict[str, Any], name: str) -> str:
    """A column as a person reads it: the display value when the record has one (a user's name, not its sys_id)."""
    value = record.get(name)
    if isinstance(value, dict) and value.get("display_value"):
        return str(value["display_value"])
    return _value(record, name)


def _value(record: dict[str, Any], name: str) -> str:
    """A column as text: plain strings, or the `value` of a reference field's `{"link", "value"}`."""
    value = record.get(name)
    if isinstance(value, dict):
        value = value.get("value")
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _datetime(text: str) -> datetime | None:
    """Table API date-times are UTC, `YYYY-MM-DD HH:MM:SS`; empty means unset."""
    if not text:
        return None
    return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=UTC)
