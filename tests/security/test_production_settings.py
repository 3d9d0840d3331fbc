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
# What a real deployment sets (every variable of the documented example), with a strong secret.
PRODUCTION_ENV = {
    **dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "production.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ),
    "DJANGO_SECRET_KEY": SECRET,
}
LAPTOP_DEFAULTS = {
    "DATABASE_URL": "incident_hub.E101",
    "CELERY_BROKER_URL": "incident_hub.E102",
    "REDIS_URL": "incident_hub.E103",
    "LEGACY_DATABASE_URL": "incident_hub.E105",
    "SERVICENOW_BASE_URL": "incident_hub.E105",
    "SERVICENOW_USERNAME": "incident_hub.E105",
    "SERVICENOW_PASSWORD": "incident_hub.E105",
    "SALESFORCE_BASE_URL": "incident_hub.E105",
    "SALESFORCE_CLIENT_ID": "incident_hub.E105",
    "SALESFORCE_CLIENT_SECRET": "incident_hub.E105",
    "SLACK_API_URL": "incident_hub.E105",
    "SLACK_BOT_TOKEN": "incident_hub.E105",
    "SLACK_SIGNING_SECRET": "incident_hub.E105",
    "SLACK_TEAM_IDS": "incident_hub.E105",
    "EMAIL_URL": "incident_hub.E105",
    "SITE_URL": "incident_hub.E105",
}
# Left at the sandbox, SLACK_API_URL also lets answers to Slack commands go to the sandbox's response URLs.
ALSO_REPORTED = {"SLACK_API_URL": "(incident_hub.E109) SLACK_RESPONSE_URL_PREFIXES "}
CHECK_DEPLOY = (sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING")


def load_production(monkeypatch, **env: str):
    for name in (
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_TRUST_X_FORWARDED_PROTO",
        "DJANGO_DEBUG",
        "DJANGO_HSTS_PRELOAD",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(PRODUCTION, None)
    try:
        return importlib.import_module(PRODUCTION)
    finally:
        sys.modules.pop(PRODUCTION, None)


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Nothing of this machine's configuration (a CI's DATABASE_URL, say) may decide what the check sees.
    ours = {
        *PRODUCTION_ENV,
        "PYTEST_CURRENT_TEST",
        "INCIDENT_HUB_STAGING_ON_SANDBOX",
        "WEBHOOK_ALLOW_HTTP",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
        "SLACK_RESPONSE_URL_PREFIXES",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in ours}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_production_is_hardened_and_takes_secret_and_hosts_from_the_environment(monkeypatch):
    production = load_production(
        monkeypatch, DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="hub.example.com, api.example.com", DJANGO_DEBUG="1"
    )

    assert production.DEBUG is False, "DJANGO_DEBUG cannot turn debug on in production"
    assert production.SECRET_KEY == SECRET
    assert production.ALLOWED_HOSTS == ["hub.example.com", "api.example.com"]
    assert (production.SECURE_HSTS_SECONDS, production.SECURE_HSTS_INCLUDE_SUBDOMAINS) == (31_536_000, True)
    assert production.SECURE_HSTS_PRELOAD is False, "preloading is opt-in: it is hard to undo"
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


def test_hsts_preload_is_asked_for_only_when_the_operator_says_so(monkeypatch):
    production = load_production(
        monkeypatch, DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="hub.example.com", DJANGO_HSTS_PRELOAD="true"
    )

    assert production.SECURE_HSTS_PRELOAD is True


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
    result = run(*CHECK_DEPLOY, **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_every_laptop_default_a_deployment_left():
    result = run(
        *CHECK_DEPLOY, DJANGO_SETTINGS_MODULE=PRODUCTION, DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="h.example.com"
    )

    assert result.returncode == 1
    for variable, check in LAPTOP_DEFAULTS.items():
        assert f"({check}) {variable} " in result.stderr, variable
    assert ALSO_REPORTED["SLACK_API_URL"] in result.stderr
    assert "System check identified 17 issues" in result.stderr


@pytest.mark.parametrize("variable", sorted(LAPTOP_DEFAULTS))
def test_check_deploy_fails_on_each_laptop_default_alone(variable):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != variable}
    if variable == "REDIS_URL":  # the broker then goes on alone, on a database of its own
        env["CELERY_BROKER_URL"] = "redis://redis.example.internal:6379/1"

    result = run(*CHECK_DEPLOY, **env)

    # Without a broker of its own, Celery takes REDIS_URL's database: the cache's.
    check = "incident_hub.E104" if variable == "CELERY_BROKER_URL" else LAPTOP_DEFAULTS[variable]
    assert result.returncode == 1
    assert f"({check}) {variable} " in result.stderr
    if variable in ALSO_REPORTED:
        assert ALSO_REPORTED[variable] in result.stderr
        assert "System check identified 2 issues " in result.stderr
    else:
        assert "System check identified 1 issue " in result.stderr


def test_the_broker_and_the_cache_may_not_share_a_redis_database():
    result = run(*CHECK_DEPLOY, **{**PRODUCTION_ENV, "CELERY_BROKER_URL": PRODUCTION_ENV["REDIS_URL"]})

    assert result.returncode == 1
    assert "(incident_hub.E104) CELERY_BROKER_URL and REDIS_URL share a Redis database" in result.stderr


def test_a_staging_deployment_may_say_it_runs_on_the_sandbox():
    on_sandbox = {
        name: value for name, value in PRODUCTION_ENV.items() if LAPTOP_DEFAULTS.get(name) != "incident_hub.E105"
    }

    refused = run(*CHECK_DEPLOY, **on_sandbox)
    allowed = run(*CHECK_DEPLOY, **on_sandbox, INCIDENT_HUB_STAGING_ON_SANDBOX="true")

    assert refused.returncode == 1 and "incident_hub.E105" in refused.stderr
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_answers_to_slack_commands_may_go_only_to_slacks_own_hooks_unless_staging_on_the_sandbox():
    relayed = {**PRODUCTION_ENV, "SLACK_RESPONSE_URL_PREFIXES": "https://hooks.slack.com/,https://relay.example/slack/"}
    slacks_own = {**PRODUCTION_ENV, "SLACK_RESPONSE_URL_PREFIXES": "https://HOOKS.slack.com:443/"}

    refused = run(*CHECK_DEPLOY, **relayed)
    staging = run(*CHECK_DEPLOY, **relayed, INCIDENT_HUB_STAGING_ON_SANDBOX="true")
    allowed = run(*CHECK_DEPLOY, **slacks_own)

    assert refused.returncode == 1
    assert (
        "(incident_hub.E109) SLACK_RESPONSE_URL_PREFIXES lets answers to Slack commands go elsewhere than Slack: "
        "https://relay.example/slack/." in refused.stderr
    )
    assert "System check identified 1 issue " in refused.stderr
    assert staging.returncode == 0, staging.stdout + staging.stderr
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_check_deploy_warns_of_webhooks_let_through_to_http_or_private_addresses():
    result = run(*CHECK_DEPLOY, **PRODUCTION_ENV, WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true")

    assert result.returncode == 1
    assert "(incident_hub.W106) WEBHOOK_ALLOW_HTTP is on" in result.stderr
    assert "(incident_hub.W107) WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on" in result.stderr


def test_check_deploy_warns_of_an_smtp_login_without_tls():
    result = run(*CHECK_DEPLOY, **{**PRODUCTION_ENV, "EMAIL_URL": "smtp://hub:secret@smtp.example.com:25"})

    assert result.returncode == 1
    assert "(incident_hub.W108) EMAIL_URL logs in to the SMTP server without TLS" in result.stderr


def test_gunicorn_and_celery_do_not_start_a_production_deployment_left_on_laptop_defaults():
    laptop = {
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "h.example.com",
    }
    web = run(sys.executable, "-c", "import incidents_site.wsgi", **laptop)
    worker = run(
        str(Path(sys.executable).with_name("celery")), "-A", "incidents_site", "worker", "--pool=solo", **laptop
    )
    ready = run(sys.executable, "-c", "import incidents_site.wsgi", **PRODUCTION_ENV)

    for refused in (web, worker):
        assert refused.returncode != 0
        assert "ImproperlyConfigured: DATABASE_URL is SQLite" in refused.stderr
    assert ready.returncode == 0, ready.stderr


def test_check_deploy_fails_on_a_weak_setting(tmp_path):
    # The check is not a formality: a short secret is a warning, and warnings fail it.
    result = run(*CHECK_DEPLOY, **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "too-short"})

    assert result.returncode == 1
    assert "security.W009" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_check_deploy_makes_a_throwaway_secret_only_when_none_is_set():
    production = {name: value for name, value in PRODUCTION_ENV.items() if name != "DJANGO_SECRET_KEY"}
    result = run("make", "--no-print-directory", "check-deploy", **production)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "DJANGO_SECRET_KEY is not set: using a throwaway secret for this check only" in result.stdout
    assert "System check identified no issues" in result.stdout

    given = run("make", "--no-print-directory", "check-deploy", **PRODUCTION_ENV)

    assert given.returncode == 0, given.stdout + given.stderr
    assert "throwaway" not in given.stdout


def test_the_release_step_collects_hashed_static_files_and_gunicorn_loads_the_site(tmp_path):
    production = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "static")}
    bin_dir = Path(sys.executable).parent

    collected = run(sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0", **production)
    loaded = run(
        str(bin_dir / "gunicorn"),
        "--check-config",
        "-c",
        "deploy/gunicorn.conf.py",
        "incidents_site.wsgi",
        **production,
    )

    assert collected.returncode == 0, collected.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "admin/css/base" in manifest and ".css.gz" in " ".join(p.name for p in (tmp_path / "static").rglob("*.gz"))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr


def test_the_production_processes_are_each_defined_once():
    processes = dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile.production").read_text().splitlines()
        if line and not line.startswith("#")
    )

    assert set(processes) == {
        "release",
        "web",
        "worker_servicenow",
        "worker_slack",
        "worker_email",
        "worker_webhooks",
        "beat",
    }
    assert "migrate" in processes["release"] and "collectstatic" in processes["release"]
    assert "gunicorn incidents_site.wsgi -c deploy/gunicorn.conf.py" in processes["web"]
    assert "-Q servicenow,celery" in processes["worker_servicenow"] and "-Q slack" in processes["worker_slack"]
    assert "-Q email" in processes["worker_email"]
    assert "-Q webhooks" in processes["worker_webhooks"]
