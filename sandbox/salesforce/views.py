"""The Salesforce stand-in: OAuth 2.0 client credentials and SOQL queries of Contact, as Salesforce speaks them.

Plus inspection endpoints under `_sandbox/` (list and add contacts, revoke every token) so that a
person or a test can set the scene over plain HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..faults import with_faults
from ..models import Fault
from .models import AccessToken, Contact, QueryCursor
from .soql import DATETIME_FIELDS, Query, SoqlError, parse

ORG_ID = "00D5g00000SBXORGAA"
INTEGRATION_USER_ID = "0055g00000SBXUSRAA"
API_LIMIT = 15000
API_VERSION = re.compile(r"v\d+\.\d")
ID_CHARS = string.ascii_letters + string.digits
# The stand-in's model field behind each API name.
FIELD_ATTRIBUTES = {
    "Id": "sf_id",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "AccountId": "account_id",
    "Account.Id": "account_id",
    "Account.Name": "account_name",
    "CreatedDate": "created_date",
    "LastModifiedDate": "last_modified",
    "Legacy_Customer_Number__c": "legacy_customer_number",
    "Legacy_Account_Status__c": "legacy_account_status",
}
# Ids sort as they are spelled; text as Salesforce sorts it, without regard to case.
EXACT_FIELDS = {"Id", "AccountId", "Account.Id"}
DATA_ERROR_CODES = {
    400: ("MALFORMED_QUERY", "The request could not be understood."),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    429: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
}


# --- how Salesforce answers ----------------------------------------------------------------------


def api_usage() -> str:
    return f"api-usage={Fault.for_system('salesforce').requests_seen}/{API_LIMIT}"


def data_answer(body: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False)
    response["Sforce-Limit-Info"] = api_usage()
    return response


def data_error(status: int, code: str, message: str) -> JsonResponse:
    return data_answer([{"message": message, "errorCode": code}], status=status)


def oauth_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


class DataApiAnswers:
    """Faults of the REST API, as Salesforce's JSON array of errors."""

    def error(self, status: int) -> HttpResponse:
        code, message = DATA_ERROR_CODES.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
        return data_error(status, code, message)

    def rate_limited(self, retry_after: int) -> HttpResponse:
        response = data_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        response["Retry-After"] = str(retry_after)
        return response


class OAuthAnswers:
    """Faults of the token endpoint, in OAuth's error shape."""

    def error(self, status: int) -> HttpResponse:
        error = "invalid_client" if status == 401 else "server_error" if status >= 500 else "invalid_request"
        return oauth_error(status, error, f"sandbox fault: HTTP {status}")

    def rate_limited(self, retry_after: int) -> HttpResponse:
        response = oauth_error(400, "rate_limit_exceeded", "Number of login attempts exceeded")
        response["Retry-After"] = str(retry_after)
        return response


# --- OAuth 2.0 client credentials ----------------------------------------------------------------


@csrf_exempt
@with_faults("salesforce", OAuthAnswers())
def token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return oauth_error(400, "invalid_request", "must use HTTP POST")
    if request.POST.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant type not supported")
    client_id, client_secret = _client_credentials(request)
    if not _same(client_id, settings.SANDBOX_SALESFORCE_CLIENT_ID):
        return oauth_error(400, "invalid_client_id", "client identifier invalid")
    if not _same(client_secret, settings.SANDBOX_SALESFORCE_CLIENT_SECRET):
        return oauth_error(400, "invalid_client", "invalid client credentials")

    instance_url = request.build_absolute_uri(request.path.removesuffix("services/oauth2/token")).rstrip("/")
    access_token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
    AccessToken.objects.create(token=access_token)
    identity = f"{instance_url}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
    issued_at = str(int(time.time() * 1000))
    signature = hmac.new(client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return JsonResponse(
        {
            "access_token": access_token,
            "signature": base64.b64encode(signature).decode(),
            "scope": "api",
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """From the form body, or from HTTP Basic, which Salesforce's token endpoint also takes."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return (client_id, client_secret)
    return (request.POST.get("client_id", ""), request.POST.get("client_secret", ""))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# --- the REST API: query -------------------------------------------------------------------------


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def query(request: HttpRequest, version: str) -> HttpResponse:
    refused = _refused(request, version)
    if refused:
        return refused
    soql = request.GET.get("q", "")
    if not soql.strip():
        return data_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        parsed = parse(soql)
    except SoqlError as exc:
        return data_error(400, exc.code, exc.message)
    return _batch(request, version, parsed, soql, offset=0)


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def query_more(request: HttpRequest, version: str, cursor: str) -> HttpResponse:
    refused = _refused(request, version)
    if refused:
        return refused
    locator, _, offset = cursor.rpartition("-")
    stored = QueryCursor.objects.filter(locator=locator).first() if offset.isdigit() else None
    if stored is None:
        return data_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _batch(request, version, parse(stored.soql), stored.soql, offset=int(offset), locator=locator)


def _refused(request: HttpRequest, version: str) -> HttpResponse | None:
    return api_refusal(request, version, ("GET", "HEAD"))


def api_refusal(
    request: HttpRequest, version: str, methods: tuple[str, ...], *, since: float = 0.0
) -> HttpResponse | None:
    """The answer when the session, method or API version (`since` the resource's first) is not right; None when
    the call may go on."""
    scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
    known = (
        scheme.lower() in ("bearer", "oauth")
        and access_token
        and AccessToken.objects.filter(token=access_token.strip(), revoked=False).exists()
    )
    if not known:
        return data_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if request.method not in methods:
        return data_error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(methods)}",
        )
    if not API_VERSION.fullmatch(version) or float(version[1:]) < since:
        return data_error(404, "NOT_FOUND", "The requested resource does not exist")
    return None


def _batch(
    request: HttpRequest, version: str, parsed: Query, soql: str, *, offset: int, locator: str | None = None
) -> HttpResponse:
    matches = [
        contact for contact in Contact.objects.order_by("last_name", "first_name", "sf_id") if _matches(contact, parsed)
    ]
    _sort(matches, parsed)
    if parsed.limit is not None:
        matches = matches[: parsed.limit]
    page_size = max(1, settings.SANDBOX_SALESFORCE_PAGE_SIZE)
    batch = matches[offset : offset + page_size]
    body: dict[str, Any] = {
        "totalSize": len(matches),
        "done": offset + page_size >= len(matches),
        "records": [_record(contact, parsed.fields, version) for contact in batch],
    }
    if not body["done"]:
        if locator is None:
            locator = "01g" + "".join(secrets.choice(ID_CHARS) for _ in range(15))
            QueryCursor.objects.create(locator=locator, soql=soql)
        body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{offset + page_size}"
    return data_answer(body)


def _value(contact: Contact, field: str) -> str:
    if field == "Name":
        return f"{contact.first_name} {contact.last_name}".strip()
    if field in DATETIME_FIELDS:
        return salesforce_datetime(getattr(contact, FIELD_ATTRIBUTES[field]))
    return getattr(contact, FIELD_ATTRIBUTES[field])


def salesforce_datetime(value: datetime | None) -> str:
    """A datetime as the REST API writes it: UTC, milliseconds, `+0000` (2024-05-01T10:00:00.000+0000)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def _matches(contact: Contact, parsed: Query) -> bool:
    # Salesforce compares text case-insensitively, and an empty field is null.
    for field, literal in parsed.conditions:
        value = _value(contact, field)
        if literal is None:
            if value:
                return False
        elif value.casefold() != literal.casefold():
            return False
    return True


def _sort(contacts: list[Contact], parsed: Query) -> None:
    """Sort by ORDER BY in place; ties keep the stand-in's own order, as unspecified as Salesforce's."""
    # One stable sort per field, the last first, so that the first field decides.
    for ordering in reversed(parsed.order_by):
        # Nulls get a group of their own at whichever end NULLS FIRST/LAST puts them after `reverse`.
        nulls = (0,) if ordering.nulls_first != ordering.descending else (2,)

        def key(contact: Contact, field: str = ordering.field, nulls: tuple[int] = nulls) -> tuple[Any, ...]:
            value = _sort_value(contact, field)
            return nulls if value in (None, "") else (1, value)

        contacts.sort(key=key, reverse=ordering.descending)


def _sort_value(contact: Contact, field: str) -> Any:
    if field in DATETIME_FIELDS:
        return getattr(contact, FIELD_ATTRIBUTES[field])
    value = _value(contact, field)
    return value if field in EXACT_FIELDS else value.casefold()


def _record(contact: Contact, fields: tuple[str, ...], version: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Contact", "url": f"/services/data/{version}/sobjects/Contact/{contact.sf_id}"}
    }
    for field in fields:
        if field.startswith("Account."):
            if not contact.account_id:
                record["Account"] = None
                continue
            account = record.get("Account") or {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/{version}/sobjects/Account/{contact.account_id}",
                }
            }
            account[field.removeprefix("Account.")] = _value(contact, field) or None
            record["Account"] = account
        else:
            record[field] = _value(contact, field) or None
    return record


# --- inspection ----------------------------------------------------------------------------------

CONTACT_KEYS = (
    "sf_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "account_id",
    "account_name",
    "legacy_customer_number",
    "legacy_account_status",
)


def _contact_json(contact: Contact) -> dict[str, str]:
    return {key: getattr(contact, key) for key in CONTACT_KEYS}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def contacts(request: HttpRequest) -> JsonResponse:
    """GET every contact; POST one as a JSON object (sf_id is made when not given)."""
    if request.method == "GET":
        return JsonResponse([_contact_json(contact) for contact in Contact.objects.all()], safe=False)
    try:
        values = json.loads(request.body or b"{}")
    except ValueError:
        values = None
    if not isinstance(values, dict):
        return JsonResponse({"error": "the body must be a JSON object"}, status=400)
    unknown = sorted(set(values) - set(CONTACT_KEYS))
    if unknown or not all(isinstance(value, str) for value in values.values()):
        return JsonResponse(
            {"error": f"string values only, of: {', '.join(CONTACT_KEYS)}", "unknown": unknown}, status=400
        )
    contact = Contact(**values)
    if not contact.sf_id:
        contact.sf_id = "003" + "".join(secrets.choice(ID_CHARS) for _ in range(15))
    try:
        contact.full_clean()
    except ValidationError as exc:
        return JsonResponse({"error": "the contact is not valid", "fields": exc.message_dict}, status=400)
    contact.save()
    return JsonResponse(_contact_json(contact), status=201)


@csrf_exempt
@require_http_methods(["POST"])
def revoke_tokens(request: HttpRequest) -> JsonResponse:
    """Revoke every access token, so that the next API call meets INVALID_SESSION_ID."""
    revoked = AccessToken.objects.filter(revoked=False).update(revoked=True)
    return JsonResponse({"revoked": revoked})
