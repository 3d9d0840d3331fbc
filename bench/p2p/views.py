"""POST /api/v1/incidents, point to point: every downstream call made directly (this module: the bare URLconf)."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import redis
import requests
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS bench_p2p_report (
    id bigserial PRIMARY KEY,
    reference varchar(13) NOT NULL UNIQUE,
    email varchar(254) NOT NULL,
    name varchar(200) NOT NULL,
    category varchar(20) NOT NULL,
    urgency smallint NOT NULL,
    short_description varchar(160) NOT NULL,
    description text NOT NULL,
    customer jsonb NOT NULL,
    servicenow_sys_id varchar(32) NOT NULL DEFAULT '',
    servicenow_number varchar(40) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
SLACK_QUEUE = "bench:p2p:slack"
CATEGORIES = {"order", "payment", "website", "account", "other"}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TIMEOUT = (3.05, 10.0)

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="p2p-salesforce")
_local = threading.local()
_grant: dict[str, str] = {}
_grant_lock = threading.Lock()
_redis: redis.Redis | None = None


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _salesforce_grant(refresh: bool = False) -> dict[str, str]:
    with _grant_lock:
        if refresh or not _grant:
            response = _session().post(
                f"{settings.SALESFORCE_BASE_URL}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.SALESFORCE_CLIENT_ID,
                    "client_secret": settings.SALESFORCE_CLIENT_SECRET,
                },
                timeout=TIMEOUT,
            )
            response.raise_for_status()
            _grant.update(response.json())
        return dict(_grant)


def _salesforce_contacts(email: str) -> list[dict]:
    literal = "'" + email.replace("\\", "\\\\").replace("'", "\\'") + "'"
    soql = (
        "SELECT Id, FirstName, LastName, Email, Phone, AccountId, Account.Name FROM Contact "  # noqa: S608
        f"WHERE Email = {literal} ORDER BY LastModifiedDate DESC, Id DESC"
    )
    for refresh in (False, True):
        grant = _salesforce_grant(refresh)
        response = _session().get(
            f"{grant['instance_url']}/services/data/{settings.SALESFORCE_API_VERSION}/query",
            params={"q": soql},
            headers={"Authorization": f"Bearer {grant['access_token']}", "Accept": "application/json"},
            timeout=TIMEOUT,
        )
        if response.status_code != 401:
            break
    response.raise_for_status()
    return response.json()["records"]


def _legacy_customers(email: str) -> list[tuple]:
    with connections["legacy"].cursor() as cursor:
        cursor.execute(
            "SELECT CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT FROM CUST_MASTER "
            "WHERE UPPER(TRIM(EMAIL_ADDR)) = %s",
            [email.upper()],
        )
        return cursor.fetchall()


def _token_valid(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return False
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM oauth2_provider_accesstoken WHERE token_checksum = %s AND expires > now()",
            [hashlib.sha256(token.encode()).hexdigest()],
        )
        return cursor.fetchone() is not None


def _queue() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.P2P_QUEUE_URL)
    return _redis


@csrf_exempt
def report(request: HttpRequest) -> HttpResponse:
    """The bare view: the bearer token looked up with one query of its own."""
    if request.method != "POST":
        return JsonResponse({"message": "POST only"}, status=405)
    if not _token_valid(request):
        return JsonResponse({"message": "no valid bearer token"}, status=401)
    return handle(request)


def handle(request: HttpRequest) -> HttpResponse:
    """A report from an authenticated client: the downstream calls, made directly."""
    try:
        body = json.loads(request.body)
        email = str(body["email"]).strip().lower()
        name, category, urgency = str(body["name"]), str(body["category"]), int(body["urgency"])
        short_description, description = str(body["short_description"]), str(body["description"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"message": "bad input"}, status=400)
    if category not in CATEGORIES or urgency not in (1, 2, 3) or len(short_description) > 160:
        return JsonResponse({"message": "bad input"}, status=400)

    contacts_future = _pool.submit(_salesforce_contacts, email)
    legacy = _legacy_customers(email)
    contacts = contacts_future.result(timeout=20)
    contact = contacts[0] if contacts else {}
    record = legacy[0] if legacy else ()
    customer = {
        "email": email,
        "first_name": contact.get("FirstName") or (record[1].strip().title() if record else None),
        "last_name": contact.get("LastName") or (record[2].strip().title() if record else None),
        "salesforce_contact_id": contact.get("Id"),
        "legacy_customer_number": record[0].strip() if record else None,
    }
    reference = "IH-" + "".join(secrets.choice(CROCKFORD) for _ in range(10))
    impact = 2 if category in ("website", "payment") else 3
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_p2p_report (reference, email, name, category, urgency, short_description, "
            "description, customer) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [reference, email, name, category, urgency, short_description, description, json.dumps(customer)],
        )
        (report_id,) = cursor.fetchone()

    response = _session().post(
        f"{settings.SERVICENOW_BASE_URL}/api/now/table/incident",
        params={"sysparm_exclude_reference_link": "true"},
        json={
            "short_description": short_description,
            "description": f"{description}\n\nCaller email: {email}",
            "impact": str(impact),
            "urgency": str(urgency),
            "correlation_id": reference,
            "correlation_display": "Incident Hub",
            "category": "software" if category == "website" else "inquiry",
            "contact_type": "self-service",
        },
        auth=(settings.SERVICENOW_USERNAME, settings.SERVICENOW_PASSWORD),
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    incident = response.json()["result"]
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "UPDATE bench_p2p_report SET servicenow_sys_id = %s, servicenow_number = %s WHERE id = %s",
            [incident["sys_id"], incident["number"], report_id],
        )
    _queue().lpush(SLACK_QUEUE, json.dumps({"reference": reference, "number": incident["number"]}))
    return JsonResponse(
        {"reference": reference, "servicenow_number": incident["number"], "customer": customer}, status=201
    )


urlpatterns = [path("api/v1/incidents", report)]
