"""Settings of the test suite: the project plus the sandbox apps, so tests can drive both."""

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "sandbox", "sandbox.servicenow", "sandbox.salesforce", "sandbox.slack"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not REDIS_URL:  # noqa: F405
    # Tests clear the cache around each test; the in-memory one needs no database for that.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
