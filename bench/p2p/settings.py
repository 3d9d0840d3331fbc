"""Settings of the bare point-to-point view: the deployment's databases, Redis and vendors, from the same variables
as the app's (and the same names, so the view reads either settings), and nothing else: no app, no middleware."""

import environ

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="bench-point-to-point-only")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.p2p.views"
USE_TZ = True
TIME_ZONE = "UTC"
# Kept for 60 s and checked before reuse: the cheapest way for one plain view (the app borrows from a pool).
DATABASES = {
    alias: {**env.db_url(variable), "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    for alias, variable in (("default", "DATABASE_URL"), ("legacy", "LEGACY_DATABASE_URL"))
}
SERVICENOW_BASE_URL = env("SERVICENOW_BASE_URL")
SERVICENOW_USERNAME = env("SERVICENOW_USERNAME", default="incident.hub")
SERVICENOW_PASSWORD = env("SERVICENOW_PASSWORD", default="sandbox-servicenow-password")
SALESFORCE_BASE_URL = env("SALESFORCE_BASE_URL")
SALESFORCE_CLIENT_ID = env("SALESFORCE_CLIENT_ID", default="3MVG9sandbox.incident.hub")
SALESFORCE_CLIENT_SECRET = env("SALESFORCE_CLIENT_SECRET", default="sandbox-salesforce-secret")
SALESFORCE_API_VERSION = env("SALESFORCE_API_VERSION", default="v62.0")
# Where the Slack notice is handed off (a Redis list nobody reads; the run's Redis database is emptied after).
P2P_QUEUE_URL = env("P2P_QUEUE_URL")
LOGGING = {"version": 1, "disable_existing_loggers": False}
