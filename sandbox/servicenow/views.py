"""Stand-in for a ServiceNow instance: the Table API's `incident` table and the record page.

It speaks the wire protocol a real instance speaks: basic auth, `{"result": ...}` answers whose values
are all strings, reference fields as `{"link", "value"}` unless `sysparm_exclude_reference_link=true`,
encoded queries, `X-Total-Count`, and errors as `{"error": {"message", "detail"}, "status": "failure"}`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from ..faults import with_faults
from . import events
from .choices import display_value, user_sys_id
from .models import Incident

CONTENT_TYPE = "application/json;charset=UTF-8"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_LIMIT = 10000
# The fictional rate limit rule the stand-in's 429s name, as a real instance names its sys_rate_limit_rules row.
RATE_LIMIT_RULE = "9a4c3f1e2b7d4e8fa0c1d2e3f4a5b6c7"
RATE_LIMIT_PER_HOUR = 1000

# ServiceNow's default priority lookup, by impact and urgency (1 High .. 3 Low).
PRIORITY = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
REFERENCE_TABLES = {
    "opened_by": "sys_user",
    "caller_id": "sys_user",
    "assigned_to": "sys_user",
    "assignment_group": "sys_user_group",
    "resolved_by": "sys_user",
    "closed_by": "sys_user",
    "company": "core_company",
    "location": "cmn_location",
    "cmdb_ci": "cmdb_ci",
    "problem_id": "problem",
    "parent_incident": "incident",
    "sys_domain": "sys_user_group",
}
# Set by the instance itself; what a client sends for them is ignored, as ServiceNow does.
SYSTEM_FIELDS = {
    "sys_id",
    "number",
    "priority",
    "incident_state",
    "active",
    "sys_class_name",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
    "comments_and_work_notes",
}
# Journal fields: writing appends an entry to the activity stream; reading them gives "".
JOURNAL_FIELDS = {"work_notes": "Work notes", "comments": "Additional comments"}
MAX_LENGTHS = {"short_description": 160, "description": 4000, "correlation_id": 100, "close_notes": 4000}
DEFAULTS = {
    "state": "1",
    "impact": "3",
    "urgency": "3",
    "short_description": "",
    "description": "",
    "category": "inquiry",
    "subcategory": "",
    "contact_type": "",
    "correlation_id": "",
    "correlation_display": "",
    "caller_id": "",
    "assigned_to": "",
    "assignment_group": "",
    "close_code": "",
    "close_notes": "",
    "resolved_at": "",
    "resolved_by": "",
    "closed_at": "",
    "closed_by": "",
    "work_notes": "",
    "comments": "",
    "comments_and_work_notes": "",
    "sys_domain": "global",
}
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Field names are lower case and operators upper case or symbols, so the first operator ends the name.
QUERY_TERM = re.compile(
    r"(?P<field>[a-z][a-z0-9_]{0,79}?)"
    r"(?P<op>ISNOTEMPTY|ISEMPTY|STARTSWITH|ENDSWITH|NOTLIKE|LIKE|NOT IN|IN|!=|>=|<=|=|>|<)"
    r"(?P<value>.*)",
    re.DOTALL,
)
COLUMNS = {"sys_id", "number", "correlation_id", "sys_updated_on", "sys_mod_count"}
# The fields whose values the sandbox can compare with < <= > >=: date-times ("YYYY-MM-DD HH:MM:SS", which
# compare as text in time order) and the modification count (a column of numbers).
DATETIME_FIELDS = {"sys_updated_on", "sys_created_on", "opened_at", "resolved_at", "closed_at"}
ORDERED_FIELDS = DATETIME_FIELDS | {"sys_mod_count"}
TEXT_LOOKUPS = {"STARTSWITH": "istartswith", "ENDSWITH": "iendswith", "LIKE": "icontains", "NOTLIKE": "icontains"}
RANGE_LOOKUPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
# gs.dateGenerate('2026-12-03','10:00:00'), as a script in an encoded query names a date-time.
DATE_GENERATE = re.compile(r"javascript:\s*gs\.dateGenerate\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)")
CLOSE_CODES = (
    "Solution provided",
    "Workaround provided",
    "Resolved by caller",
    "Resolved by change",
    "Resolved by problem",
    "Known error",
    "Duplicate",
    "User error",
    "No resolution provided",
)
# What an instance's data policies make mandatory, by state, with the labels its error names them by.
MANDATORY = {
    "3": [("hold_reason", "On hold reason")],
    "6": [("close_code", "Resolution code"), ("close_notes", "Resolution notes")],
    "7": [("close_code", "Resolution code"), ("close_notes", "Resolution notes")],
}


class DataPolicyError(Exception):
    """A write the instance's data policies refuse: a mandatory field left empty."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        super().__init__(f"The following fields are mandatory: {', '.join(labels)}")


def data_policy_error(exc: DataPolicyError) -> JsonResponse:
    return error(403, "Operation Failed", f"Data Policy Exception: {exc}")


def error(status: int, message: str, detail: str | None, **headers: str) -> JsonResponse:
    response = JsonResponse(
        {"error": {"message": message, "detail": detail}, "status": "failure"}, status=status, content_type=CONTENT_TYPE
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def not_found() -> JsonResponse:
    return error(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


class ServiceNowFaults:
    """Injected faults, answered the way an instance answers them."""

    MESSAGES = {
        400: ("Bad Request", "The request could not be processed"),
        401: ("User Not Authenticated", "Required to provide Auth information"),
        403: ("User Not Authorized", "Operation against the table is not allowed"),
        404: ("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
        500: ("Internal Server Error", "The instance failed to process the request"),
        502: ("Bad Gateway", "The instance's load balancer got no answer from a node"),
        503: ("Service Unavailable", "The instance is temporarily unavailable"),
        504: ("Gateway Timeout", "The instance did not answer in time"),
    }

    def error(self, status: int) -> HttpResponse:
        message, detail = self.MESSAGES.get(status, (f"HTTP {status}", "Injected fault"))
        return error(status, message, detail)

    def rate_limited(self, retry_after: int) -> HttpResponse:
        return error(
            429,
            "Too many requests",
            f"The rate limit of {RATE_LIMIT_PER_HOUR} requests per hour was exceeded",
            Retry_After=str(retry_after),
            X_RateLimit_Limit=str(RATE_LIMIT_PER_HOUR),
            X_RateLimit_Reset=str(int(time.time()) + retry_after),
            X_RateLimit_Rule=RATE_LIMIT_RULE,
        )


faults = with_faults("servicenow", ServiceNowFaults())


# --- the Table API ---------------------------------------------------------------------------


@csrf_exempt
@faults
def table_view(request: HttpRequest, table: str) -> HttpResponse:
    """`/api/now/table/incident`: GET lists (encoded query, paging), POST inserts one record."""
    refused = _check(request, table, ("GET", "POST"))
    if refused:
        return refused
    if request.method == "POST":
        payload = _payload(request)
        if not isinstance(payload, dict):
            return payload
        try:
            row = _insert(payload, _username())
        except DataPolicyError as exc:
            return data_policy_error(exc)
        response = _answer({"result": _render(request, row)}, status=201)
        response["Location"] = request.build_absolute_uri(
            reverse("sandbox-servicenow-record", kwargs={"table": "incident", "sys_id": row.sys_id})
        )
        return response
    try:
        rows = _query(request.GET.get("sysparm_query", ""))
        limit = _number(request.GET, "sysparm_limit", DEFAULT_LIMIT)
        offset = _number(request.GET, "sysparm_offset", 0)
    except ValueError as exc:
        return error(400, str(exc), None)
    total = rows.count()
    page = rows[offset : offset + limit]
    response = _answer({"result": [_render(request, row) for row in page]})
    response["X-Total-Count"] = str(total)
    link = _page_links(request, total, limit, offset)
    if link:
        response["Link"] = link
    return response


def _page_links(request: HttpRequest, total: int, limit: int, offset: int) -> str:
    """The `Link` header of a paged answer: first, prev and next where there is one, last.

    As an instance writes it: `<url>;rel="first",<url>;rel="next",...`, each URL the request's own with
    `sysparm_offset` and `sysparm_limit` set, and no header at all when one page from the start holds it all.
    """
    if limit == 0 or (offset == 0 and total <= limit):
        return ""
    params = [(name, value) for name, value in request.GET.items() if name not in ("sysparm_offset", "sysparm_limit")]
    base = request.build_absolute_uri(request.path)

    def url(page_offset: int) -> str:
        query = urlencode([*params, ("sysparm_offset", page_offset), ("sysparm_limit", limit)], safe=",")
        return f"{base}?{query}"

    links = [("first", 0)]
    if offset > 0:
        links.append(("prev", max(offset - limit, 0)))
    if offset + limit < total:
        links.append(("next", offset + limit))
    links.append(("last", max(total - 1, 0) // limit * limit))
    return ",".join(f'<{url(page_offset)}>;rel="{rel}"' for rel, page_offset in links)


@csrf_exempt
@faults
def record_view(request: HttpRequest, table: str, sys_id: str) -> HttpResponse:
    """`/api/now/table/incident/{sys_id}`: GET reads, PATCH and PUT change, DELETE removes."""
    refused = _check(request, table, ("GET", "PATCH", "PUT", "DELETE"))
    if refused:
        return refused
    row = Incident.objects.filter(sys_id=sys_id).first()
    if row is None:
        return not_found()
    if request.method == "DELETE":
        row.delete()
        return HttpResponse(status=204)
    if request.method in ("PATCH", "PUT"):
        payload = _payload(request)
        if not isinstance(payload, dict):
            return payload
        try:
            row = _update(row, payload, _username())
        except DataPolicyError as exc:
            return data_policy_error(exc)
    return _answer({"result": _render(request, row)})


def _check(request: HttpRequest, table: str, methods: tuple[str, ...]) -> HttpResponse | None:
    if not _authenticated(request):
        return error(
            401,
            "User Not Authenticated",
            "Required to provide Auth information",
            WWW_Authenticate='Basic realm="Service-now"',
        )
    if table != "incident":
        return error(400, f"Invalid table {table}", None)
    if request.method not in methods:
        response = error(405, "Method not Supported", f"{request.method} is not supported for this resource")
        response["Allow"] = ", ".join(methods)
        return response
    return None


def _authenticated(request: HttpRequest) -> bool:
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected_user = settings.SANDBOX_SERVICENOW_USERNAME.encode()
    expected_password = settings.SANDBOX_SERVICENOW_PASSWORD.encode()
    # Both comparisons always run, so the answer time does not tell which half was wrong.
    user_ok = hmac.compare_digest(username.encode(), expected_user)
    password_ok = hmac.compare_digest(password.encode(), expected_password)
    return bool(sep) and user_ok and password_ok


def _username() -> str:
    # Only the one configured user gets past _authenticated().
    return settings.SANDBOX_SERVICENOW_USERNAME


def _payload(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if not request.body.strip():
        return {}
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return error(400, "Exception while reading request", "The payload is not valid JSON.")
    if not isinstance(payload, dict):
        return error(400, "Exception while reading request", "The payload must be a JSON object.")
    return payload


def _number(params: QueryDict, name: str, default: int) -> int:
    text = params.get(name, "")
    if text == "":
        return default
    if not text.isdigit():
        raise ValueError(f"Invalid {name}: {text}")
    return int(text)


def _now() -> str:
    return datetime.now(UTC).strftime(DATETIME_FORMAT)


def _text(value: Any) -> str:
    """A value as the instance stores it: everything is a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "value" in value:
        return _text(value["value"])
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _writable(payload: dict[str, Any]) -> dict[str, str]:
    """The columns a client may set; unknown names are dropped, as ServiceNow drops them."""
    values = {}
    for name, value in payload.items():
        if not FIELD_NAME.fullmatch(name) or name in SYSTEM_FIELDS:
            continue
        text = _text(value)
        values[name] = text[: MAX_LENGTHS[name]] if name in MAX_LENGTHS else text
    return values


def _apply(fields: dict[str, str], changes: dict[str, str], username: str, now: str) -> dict[str, str]:
    before = dict(fields)
    fields = {**fields, **changes}
    for name, label in JOURNAL_FIELDS.items():
        entry = fields.get(name, "")
        if entry:
            fields["comments_and_work_notes"] = f"{now} - {username} ({label})\n{entry}\n\n" + fields.get(
                "comments_and_work_notes", ""
            )
        fields[name] = ""
    fields["priority"] = PRIORITY.get(
        (fields.get("impact", ""), fields.get("urgency", "")), before.get("priority", "5")
    )
    state = fields.get("state", "1")
    fields["incident_state"] = state
    fields["active"] = "false" if state in ("7", "8") else "true"
    if state != "3":
        # The reason belongs to the hold: leaving On Hold clears it, as the instance's business rule does.
        fields["hold_reason"] = ""
    missing = [label for name, label in MANDATORY.get(state, []) if not fields.get(name, "").strip()]
    if missing:
        raise DataPolicyError(missing)
    user = user_sys_id(username)
    if state == "6" and before.get("state") != "6":
        fields.update(resolved_at=now, resolved_by=user)
    if state == "7" and before.get("state") != "7":
        fields.update(closed_at=now, closed_by=user)
        if not fields.get("resolved_at"):
            fields.update(resolved_at=now, resolved_by=user)
    if state in ("1", "2", "3") and before.get("state") in ("6", "7"):
        # Reopened: the resolution stamps go, the resolution code and notes stay for the next resolve.
        fields.update(resolved_at="", resolved_by="", closed_at="", closed_by="")
    fields.update(sys_updated_on=now, sys_updated_by=username)
    return fields


@transaction.atomic
def _insert(payload: dict[str, Any], username: str) -> Incident:
    now = _now()
    sys_id = uuid.uuid4().hex
    fields = {
        **DEFAULTS,
        "sys_id": sys_id,
        "sys_class_name": "incident",
        "opened_at": now,
        "opened_by": user_sys_id(username),
        "sys_created_on": now,
        "sys_created_by": username,
        "sys_mod_count": "0",
    }
    fields = _apply(fields, _writable(payload), username, now)
    # The number comes from the row id, so it is only known once the row exists.
    row = Incident.objects.create(
        sys_id=sys_id,
        number=sys_id,
        correlation_id=fields["correlation_id"],
        sys_updated_on=fields["sys_updated_on"],
        sys_mod_count=0,
        fields={},
    )
    row.number = fields["number"] = f"INC{10000 + row.pk:07d}"
    row.fields = fields
    row.save(update_fields=["number", "fields"])
    events.after_commit(fields)
    return row


@transaction.atomic
def _update(row: Incident, payload: dict[str, Any], username: str) -> Incident:
    row = Incident.objects.select_for_update().get(pk=row.pk)
    fields = _apply(row.fields, _writable(payload), username, _now())
    mod_count = int(row.fields.get("sys_mod_count", "0") or 0) + 1
    fields["sys_mod_count"] = str(mod_count)
    row.fields = fields
    row.correlation_id = fields.get("correlation_id", "")
    row.sys_updated_on = fields["sys_updated_on"]
    row.sys_mod_count = mod_count
    row.save(update_fields=["fields", "correlation_id", "sys_updated_on", "sys_mod_count"])
    events.after_commit(fields)
    return row


def update_incident(sys_id: str, changes: dict[str, str], username: str) -> Incident:
    """Change an incident as a person on the instance does (the sandbox page's buttons): the Table API's rules.

    Raises Incident.DoesNotExist for an unknown sys_id and DataPolicyError for a refused change.
    """
    return _update(Incident.objects.get(sys_id=sys_id), changes, username)


def _query(encoded: str) -> QuerySet[Incident]:
    """The rows an encoded query names: terms joined by `^` (AND), and ORDERBY / ORDERBYDESC.

    Operators: = != STARTSWITH ENDSWITH LIKE NOTLIKE IN NOT IN ISEMPTY ISNOTEMPTY on any field, and
    > >= < <= on the date-time fields and sys_mod_count. A term the sandbox cannot honour is a 400, never
    silently dropped, so a test never passes on a filter that was not applied.
    """
    rows = Incident.objects.all()
    ordering = []
    for term in filter(None, encoded.split("^")):
        if term.startswith(("ORDERBYDESC", "ORDERBY")):
            descending = term.startswith("ORDERBYDESC")
            name = term.removeprefix("ORDERBYDESC" if descending else "ORDERBY")
            if not FIELD_NAME.fullmatch(name):
                raise ValueError(f"Invalid query term {term}")
            column = name if name in COLUMNS else f"fields__{name}"
            ordering.append(f"-{column}" if descending else column)
            continue
        match = QUERY_TERM.fullmatch(term)
        if match is None:
            raise ValueError(
                f"Invalid query term {term}: the sandbox supports =, !=, STARTSWITH, ENDSWITH, LIKE, "
                "NOTLIKE, IN, NOT IN, ISEMPTY, ISNOTEMPTY, > >= < <= on date-times, and ORDERBY"
            )
        rows = _filtered(rows, match["field"], match["op"], match["value"], term)
    return rows.order_by(*ordering, "id")


def _filtered(rows: QuerySet[Incident], name: str, op: str, value: str, term: str) -> QuerySet[Incident]:
    column = name if name in COLUMNS else f"fields__{name}"
    if op in ("ISEMPTY", "ISNOTEMPTY"):
        if value:
            raise ValueError(f"Invalid query term {term}")
        # A field never written is empty too, as on an instance.
        empty = Q(**{column: ""}) | Q(**{f"{column}__isnull": True})
        return rows.filter(empty) if op == "ISEMPTY" else rows.exclude(empty)
    if op in ("IN", "NOT IN"):
        values = [_operand(name, item, term) for item in value.split(",")]
        lookup = {f"{column}__in": values}
        return rows.filter(**lookup) if op == "IN" else rows.exclude(**lookup)
    if op in TEXT_LOOKUPS:
        lookup = {f"{column}__{TEXT_LOOKUPS[op]}": value}
        return rows.exclude(**lookup) if op == "NOTLIKE" else rows.filter(**lookup)
    operand = _operand(name, value, term)
    if op in RANGE_LOOKUPS:
        if name not in ORDERED_FIELDS:
            raise ValueError(f"Invalid query term {term}: the sandbox compares only date-times and sys_mod_count")
        return rows.filter(**{f"{column}__{RANGE_LOOKUPS[op]}": operand})
    return rows.filter(**{column: operand}) if op == "=" else rows.exclude(**{column: operand})


def _operand(name: str, value: str, term: str) -> str | int:
    """A term's value as the field holds it: date-times normalised to "YYYY-MM-DD HH:MM:SS", counts as numbers."""
    if name == "sys_mod_count":
        if not value.strip().isdigit():
            raise ValueError(f"Invalid query term {term}: sys_mod_count is a number")
        return int(value)
    if name in DATETIME_FIELDS:
        return _datetime_value(value, term)
    return value


def _datetime_value(value: str, term: str) -> str:
    """`2026-12-03 10:00:00`, quoted or not, a bare date, or `javascript:gs.dateGenerate('2026-12-03','10:00:00')`."""
    text = value.strip()
    generated = DATE_GENERATE.fullmatch(text)
    if generated:
        text = f"{generated[1]} {generated[2]}"
    text = text.strip("'\"").strip()
    for fmt in (DATETIME_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).strftime(DATETIME_FORMAT)  # UTC, as every date-time here
        except ValueError:
            continue
    raise ValueError(f"Invalid query term {term}: a date-time is 'YYYY-MM-DD HH:MM:SS' or gs.dateGenerate(...)")


def _render(request: HttpRequest, row: Incident) -> dict[str, Any]:
    """The record as the Table API answers it: `sysparm_display_value` false (codes, sys_ids), true (labels,
    names) or all (`{"display_value", "value"}` for every field); reference fields with their `link` unless
    `sysparm_exclude_reference_link=true`."""
    exclude_links = request.GET.get("sysparm_exclude_reference_link", "").lower() == "true"
    shown = request.GET.get("sysparm_display_value", "false").lower()
    wanted = [name.strip() for name in request.GET.get("sysparm_fields", "").split(",") if name.strip()]
    instance = _instance_root(request)
    record: dict[str, Any] = {}
    for name, value in row.fields.items():
        if wanted and name not in wanted:
            continue
        answer: dict[str, str] = {}
        if shown in ("true", "all"):
            answer["display_value"] = display_value(name, value)
        if shown != "true":
            answer["value"] = value
        if name in REFERENCE_TABLES and value and not exclude_links:
            answer["link"] = f"{instance}api/now/table/{REFERENCE_TABLES[name]}/{value}"
        record[name] = answer if len(answer) > 1 else next(iter(answer.values()))
    return record


def _instance_root(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sandbox-servicenow-nav")).removesuffix("nav_to.do")


def _answer(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


# --- the record page a person opens ----------------------------------------------------------

PAGE_FIELDS = [
    ("Number", "number"),
    ("State", "state"),
    ("Impact", "impact"),
    ("Urgency", "urgency"),
    ("Priority", "priority"),
    ("Category", "category"),
    ("Channel", "contact_type"),
    ("Short description", "short_description"),
    ("Description", "description"),
    ("Correlation id", "correlation_id"),
    ("Correlation display", "correlation_display"),
    ("Opened", "opened_at"),
    ("Updated", "sys_updated_on"),
    ("Close code", "close_code"),
    ("Close notes", "close_notes"),
    ("Activity", "comments_and_work_notes"),
    ("sys_id", "sys_id"),
]
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }} th {{ text-align: left; padding-right: 1rem; }}
td {{ white-space: pre-wrap; }}</style></head>
<body><h1>{title}</h1>{content}<p><a href="{index}">Back to the sandbox</a></p></body></html>"""


def nav_to_view(request: HttpRequest) -> HttpResponse:
    """`/nav_to.do?uri=incident.do?sys_id=...`: the incident's form, as a plain page."""
    target, _, query = request.GET.get("uri", "").partition("?")
    sys_id = QueryDict(query).get("sys_id", "")
    row = Incident.objects.filter(sys_id=sys_id).first() if target == "incident.do" and sys_id else None
    index = reverse("sandbox-index")
    if row is None:
        content = format_html("<p>No incident named by <code>{}</code>.</p>", request.GET.get("uri", ""))
        return HttpResponse(format_html(PAGE, title="Record not found", content=content, index=index), status=404)
    rows = format_html_join(
        "\n", "<tr><th>{}</th><td>{}</td></tr>", ((label, row.fields.get(name, "")) for label, name in PAGE_FIELDS)
    )
    content = format_html("<table>{}</table>", rows)
    return HttpResponse(format_html(PAGE, title=f"Incident {row.number}", content=content, index=index))
