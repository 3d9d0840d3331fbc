"""Production settings: the base settings, hardened (`DJANGO_SETTINGS_MODULE=incidents_site.settings_production`).

The secret key and the host names come only from the environment: without them nothing starts, rather than
running with a development default. `make check-deploy` runs `manage.py check --deploy` with these settings.
"""

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import env


def _required(name: str, meaning: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment for production settings ({meaning}); "
            "there is no default outside development."
        )
    return value


DEBUG = False
# Laptop defaults (SQLite, the filesystem broker, the database cache, the sandbox) are errors from here on.
PRODUCTION = True
SECRET_KEY = _required(
    "DJANGO_SECRET_KEY", "a long random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'"
)
ALLOWED_HOSTS = [
    host.strip()
    for host in _required("DJANGO_ALLOWED_HOSTS", "the host names this site answers to, comma-separated").split(",")
    if host.strip()
]

# HTTPS only: browsers remember it for a year, on every subdomain, and may preload it.
SECURE_SSL_REDIRECT = True
# A load balancer's health checks often speak plain HTTP inside the network; a redirect would fail them.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading is hard to undo (browsers ship the list for months): only when the operator says so.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD not True": a choice, said above
SESSION_COOKIE_SECURE = True
# Hashed, compressed static files (collectstatic in the release step), served by WhiteNoise with far-future caching.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
CSRF_COOKIE_SECURE = True

# Behind a TLS-terminating proxy Django sees plain HTTP; X-Forwarded-Proto is believed only when said so,
# because anyone can send that header when no proxy overwrites it.
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
