"""Production settings: hardened, secrets only from the environment, and `check --deploy` clean."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "incidents_site.settings_production"
SECRET = "x7Rb2kQ9vLp3Tz8Wm4Nc6Hd1Jf5Gs0Ya-Ue7Io2Pq9Lw3Ek8Rt6Yu1Zx4Cv5Bn0MmAa"


def load_production(monkeypatch, **env: str):
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_TRUST_X_FORWARDED_PROTO", "DJANGO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(PRODUCTION, None)
    try:
        return importlib.import_module(PRODUCTION)
    finally:
        sys.modules.pop(PRODUCTION, None)


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "PYTEST_CURRENT_TEST"}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_production_is_hardened_and_takes_secret_and_hosts_from_the_environment(monkeypatch):
    production = load_production(
        monkeypatch, DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="hub.example.com, api.example.com", DJANGO_DEBUG="1"
    )

    assert production.DEBUG is False, "DJANGO_DEBUG cannot turn debug on in production"
    assert production.SECRET_KEY == SECRET
    assert production.ALLOWED_HOSTS == ["hub.example.com", "api.example.com"]
    assert (production.SECURE_HSTS_SECONDS, production.SECURE_HSTS_INCLUDE_SUBDOMAINS) == (31_536_000, True)
    assert production.SECURE_HSTS_PRELOAD is True
    assert production.SECURE_SSL_REDIRECT is True
    assert (production.SESSION_COOKIE_SECURE, production.CSRF_COOKIE_SECURE) == (True, True)
    assert not hasattr(production, "SECURE_PROXY_SSL_HEADER"), "X-Forwarded-Proto is not believed by default"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_checks(monkeypatch, settings, client):
    production = load_production(monkeypatch, DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="hub.example.com")
    settings.SECURE_SSL_REDIRECT = production.SECURE_SSL_REDIRECT
    settings.SECURE_REDIRECT_EXEMPT = production.SECURE_REDIRECT_EXEMPT

    assert client.get("/health/live").status_code == 200
    redirected = client.get("/admin/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")


def test_the_proxy_ssl_header_is_believed_only_when_a_setting_says_so(monkeypatch):
    production = load_production(
        monkeypatch,
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="hub.example.com",
        DJANGO_TRUST_X_FORWARDED_PROTO="1",
    )

    assert production.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DJANGO_ALLOWED_HOSTS": "hub.example.com"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": SECRET}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_SECRET_KEY": "  ", "DJANGO_ALLOWED_HOSTS": "hub.example.com"}, "DJANGO_SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_a_secret_or_hosts_from_the_environment(monkeypatch, env, missing):
    with pytest.raises(ImproperlyConfigured) as refused:
        load_production(monkeypatch, **env)

    assert str(refused.value).startswith(f"{missing} must be set in the environment for production settings")


def test_check_deploy_passes_with_no_warning_on_production_settings():
    result = run(
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="hub.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_on_a_weak_setting(tmp_path):
    # The check is not a formality: a short secret is a warning, and warnings fail it.
    result = run(
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        DJANGO_SECRET_KEY="too-short",
        DJANGO_ALLOWED_HOSTS="hub.example.com",
    )

    assert result.returncode == 1
    assert "security.W009" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_check_deploy_makes_a_throwaway_secret_only_when_none_is_set():
    result = run("make", "--no-print-directory", "check-deploy")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "DJANGO_SECRET_KEY is not set: using a throwaway secret for this check only" in result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout

    given = run("make", "--no-print-directory", "check-deploy", DJANGO_SECRET_KEY=SECRET)

    assert given.returncode == 0, given.stdout + given.stderr
    assert "throwaway" not in given.stdout
