"""Settings of the sandbox process: the vendors' stand-ins on their own port and their own database.

The sandbox plays the outside world, so it shares nothing with Incident Hub but this machine.
"""

from .settings import *  # noqa: F403
from .settings import VAR_DIR, env, tune_database

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "sandbox",
    "sandbox.servicenow",
    "sandbox.salesforce",
    "sandbox.slack",
    "sandbox.mail",
    "sandbox.receiver",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "sandbox.urls"
DATABASES = {
    "default": tune_database(env.db_url("SANDBOX_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}")),
}
DATABASE_ROUTERS: list[str] = []
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TEMPLATES[0]["OPTIONS"]["context_processors"] = ["django.template.context_processors.request"]  # noqa: F405
# The sandbox's ServiceNow pushes incident changes to Incident Hub (sandbox/servicenow/events.py) as the events client
# `make run` made for it (experience_apis' ensure_demo_access), unless the environment names another.
_EVENTS_CLIENT_FILE = VAR_DIR / "sandbox-servicenow-events-client"
if _EVENTS_CLIENT_FILE.exists() and not env("SANDBOX_SERVICENOW_EVENT_CLIENT_ID", default=""):
    SANDBOX_SERVICENOW_EVENT_CLIENT_ID, SANDBOX_SERVICENOW_EVENT_CLIENT_SECRET = _EVENTS_CLIENT_FILE.read_text().split()
# The sandbox's Slack posts the /incident slash command and modal submissions to Incident Hub (sandbox/slack/
# interactivity.py), signed with SANDBOX_SLACK_SIGNING_SECRET.
_INCIDENT_HUB = f"http://127.0.0.1:{env('WEB_PORT', default='8000')}"
SANDBOX_SLACK_COMMAND_URL = env("SANDBOX_SLACK_COMMAND_URL", default=f"{_INCIDENT_HUB}/api/slack/v1/commands")
SANDBOX_SLACK_INTERACTIONS_URL = env(
    "SANDBOX_SLACK_INTERACTIONS_URL", default=f"{_INCIDENT_HUB}/api/slack/v1/interactions"
)
# aiosmtpd logs every SMTP connection's steps at INFO; the sandbox's own line per mail says what matters.
LOGGING["loggers"]["mail.log"] = {"level": "WARNING"}  # noqa: F405
