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
