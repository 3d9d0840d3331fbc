"""What a production deployment must not inherit from the laptop defaults.

Under `settings_production` these are errors of `manage.py check` (so `check --deploy`, `migrate` in the release
step and the start of gunicorn and of every Celery process fail), each naming the variable to set. Staging
against the sandbox is allowed by one explicit opt-in, INCIDENT_HUB_STAGING_ON_SANDBOX=true.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from system_apis.email.client import email_server
from system_apis.slack.response_urls import SLACK_RESPONSE_URL_PREFIX, is_slacks_own

STAGING_OPT_IN = "INCIDENT_HUB_STAGING_ON_SANDBOX"
DATABASE_CACHE = "incidents_site.cache.AtomicDatabaseCache"


def _sandbox_leftovers() -> list[tuple[str, str]]:
    """(variable, what to set it to) for every system setting still at its local stand-in."""
    on_sandbox = settings.SANDBOX_URL
    s = settings
    leftovers = {
        "SERVICENOW_BASE_URL": (
            s.SERVICENOW_BASE_URL.startswith(on_sandbox),
            "the instance, https://acme.service-now.com",
        ),
        "SERVICENOW_USERNAME": (s.SERVICENOW_USERNAME == s.SANDBOX_SERVICENOW_USERNAME, "the integration user"),
        "SERVICENOW_PASSWORD": (s.SERVICENOW_PASSWORD == s.SANDBOX_SERVICENOW_PASSWORD, "its password"),
        "SALESFORCE_BASE_URL": (
            s.SALESFORCE_BASE_URL.startswith(on_sandbox),
            "the My Domain, https://acme.my.salesforce.com",
        ),
        "SALESFORCE_CLIENT_ID": (s.SALESFORCE_CLIENT_ID == s.SANDBOX_SALESFORCE_CLIENT_ID, "the connected app's key"),
        "SALESFORCE_CLIENT_SECRET": (s.SALESFORCE_CLIENT_SECRET == s.SANDBOX_SALESFORCE_CLIENT_SECRET, "its secret"),
        "SLACK_API_URL": (s.SLACK_API_URL.startswith(on_sandbox), "https://slack.com/api/"),
        "SLACK_BOT_TOKEN": (s.SLACK_BOT_TOKEN == s.SANDBOX_SLACK_BOT_TOKEN, "the app's bot token, xoxb-..."),
        "SLACK_TEAM_IDS": (
            s.SANDBOX_SLACK_TEAM_ID in s.SLACK_TEAM_IDS,
            "your Slack workspace's team id (T...), the one whose people may use /incident",
        ),
        "SLACK_SIGNING_SECRET": (
            s.SLACK_SIGNING_SECRET == s.SANDBOX_SLACK_SIGNING_SECRET,
            "the app's signing secret (Basic Information, App Credentials)",
        ),
        "LEGACY_DATABASE_URL": (_is_sqlite("legacy"), "the legacy customer database, postgres://.../customers"),
        "EMAIL_URL": (s.EMAIL_URL == s.SANDBOX_EMAIL_URL, "the mail server, smtp://user:password@smtp.example.com:587"),
        "SITE_URL": (
            urlsplit(s.SITE_URL).hostname in ("127.0.0.1", "localhost", "::1"),
            "the address customers reach, https://incidents.example.com (links in their e-mails)",
        ),
    }
    return [(name, what) for name, (left, what) in leftovers.items() if left]


def _is_sqlite(alias: str) -> bool:
    return settings.DATABASES[alias]["ENGINE"].endswith("sqlite3")


def _redis_database(url: str) -> tuple[str, int, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return None
    return (parts.hostname or "localhost", parts.port or 6379, parts.path.strip("/") or "0")


def production_problems() -> list[Error]:
    problems = []
    if _is_sqlite("default"):
        problems.append(
            Error(
                "DATABASE_URL is SQLite: one file cannot serve several web and worker machines.",
                hint="Set DATABASE_URL=postgres://user:password@host:5432/incident_hub.",
                id="incident_hub.E101",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        problems.append(
            Error(
                "CELERY_BROKER_URL is the embedded filesystem broker: no acknowledgements, and on one disk.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/1 or amqp://user:password@host:5672//.",
                id="incident_hub.E102",
            )
        )
    if settings.CACHES["default"]["BACKEND"] == DATABASE_CACHE:
        problems.append(
            Error(
                "REDIS_URL is not set: rate limits, circuits and quota holds would live in the database cache.",
                hint="Set REDIS_URL=redis://host:6379/0.",
                id="incident_hub.E103",
            )
        )
    cache_db = _redis_database(settings.CACHES["default"].get("LOCATION", ""))
    if cache_db is not None and cache_db == _redis_database(settings.CELERY_BROKER_URL):
        problems.append(
            Error(
                "CELERY_BROKER_URL and REDIS_URL share a Redis database: clearing the cache would flush queued tasks.",
                hint="Give the broker a database of its own, e.g. CELERY_BROKER_URL=redis://host:6379/1.",
                id="incident_hub.E104",
            )
        )
    if not settings.STAGING_ON_SANDBOX:
        problems.extend(
            Error(
                f"{name} is left at its local stand-in: reports would be accepted and sent nowhere real.",
                hint=f"Set {name} ({what}), or {STAGING_OPT_IN}=true for a staging deployment on the sandbox.",
                id="incident_hub.E105",
            )
            for name, what in _sandbox_leftovers()
        )
        problems.extend(_slack_response_url_problems())
    return problems


def _slack_response_url_problems() -> list[Error]:
    """Answers to Slack go where a request says: anywhere but Slack's own hooks is somewhere a forger may point them."""
    others = [prefix for prefix in settings.SLACK_RESPONSE_URL_PREFIXES if not _is_slacks_own(prefix)]
    if not others:
        return []
    return [
        Error(
            f"SLACK_RESPONSE_URL_PREFIXES lets answers to Slack commands go elsewhere than Slack: {', '.join(others)}.",
            hint=f"Set SLACK_RESPONSE_URL_PREFIXES={SLACK_RESPONSE_URL_PREFIX} (or leave it unset with SLACK_API_URL "
            f"set), or {STAGING_OPT_IN}=true for a staging deployment on the sandbox.",
            id="incident_hub.E109",
        )
    ]


def _is_slacks_own(prefix: str) -> bool:
    try:
        return is_slacks_own(prefix)
    except ImproperlyConfigured:
        return False


def email_warnings() -> list[Warning]:
    """An SMTP login without TLS sends the password, and every customer's mail, in clear."""
    try:
        server = email_server(settings.EMAIL_URL)
    except ImproperlyConfigured as exc:
        return [Warning(str(exc), hint="Set EMAIL_URL=smtp://user:password@host:587.", id="incident_hub.W108")]
    if server.is_smtp and server.username and not (server.use_tls or server.use_ssl):
        return [
            Warning(
                "EMAIL_URL logs in to the SMTP server without TLS: the password and the mail travel in clear.",
                hint="Use port 587 (STARTTLS), smtps:// (port 465), or ?tls=1.",
                id="incident_hub.W108",
            )
        ]
    return []


def webhook_address_warnings() -> list[Warning]:
    """What the client webhooks' address guard was told to let through: for local use; a deployment that needs it
    (receivers on its own private network) silences the warning knowingly."""
    warnings = []
    if settings.WEBHOOK_ALLOW_HTTP:
        warnings.append(
            Warning(
                "WEBHOOK_ALLOW_HTTP is on: clients' webhooks may go over plain http, their signed bodies readable.",
                hint="Unset WEBHOOK_ALLOW_HTTP (https only), or silence incident_hub.W106.",
                id="incident_hub.W106",
            )
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        warnings.append(
            Warning(
                "WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: a client may point a webhook at this machine or its network.",
                hint="Unset WEBHOOK_ALLOW_PRIVATE_ADDRESSES, or silence incident_hub.W107.",
                id="incident_hub.W107",
            )
        )
    return warnings


@register()
def production_is_not_a_laptop(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.PRODUCTION:
        return []
    return [*production_problems(), *email_warnings(), *webhook_address_warnings()]


def refuse_to_start_on_laptop_defaults() -> None:
    """For processes that run no system checks of their own (gunicorn, Celery): stop before serving anything."""
    if settings.PRODUCTION and (problems := production_problems()):
        raise ImproperlyConfigured("\n".join(f"{problem.msg} {problem.hint}" for problem in problems))
