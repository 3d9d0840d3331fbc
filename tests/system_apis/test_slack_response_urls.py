"""Which response_urls an answer may go to: parsed URLs compared with SLACK_RESPONSE_URL_PREFIXES."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from system_apis.slack.response_urls import is_slacks_own, response_url_refusal

ROOT = Path(__file__).resolve().parents[2]
SLACK = ["https://hooks.slack.com/"]
SANDBOX = ["https://hooks.slack.com/", "http://127.0.0.1:8001/slack/"]
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize(
    ("url", "prefixes"),
    [
        (RESPONSE_URL, SLACK),
        ("https://hooks.slack.com/actions/T0001/1234567890/AbCdEf", SLACK),
        ("https://HOOKS.Slack.com/commands/T0001/1/x", SLACK),
        ("https://hooks.slack.com:443/commands/T0001/1/x", SLACK),
        ("http://127.0.0.1:8001/slack/response/7f3a", SANDBOX),
    ],
)
def test_slacks_own_hooks_and_a_configured_prefix_are_admitted(url, prefixes):
    assert response_url_refusal(url, prefixes) is None


@pytest.mark.parametrize(
    ("url", "prefixes", "reason"),
    [
        # A host that only starts like Slack's, or ends like it.
        ("https://hooks.slack.com.evil.example/commands/T0001/1/x", SLACK, "under none of"),
        ("https://evilhooks.slack.com/commands/T0001/1/x", SLACK, "under none of"),
        ("https://hooks.slack.com./commands/T0001/1/x", SLACK, "under none of"),
        # Userinfo: the host is what follows the @.
        ("https://hooks.slack.com@evil.example/commands/T0001/1/x", SLACK, "names a user"),
        ("https://hooks.slack.com:443@evil.example/", SLACK, "names a user"),
        ("https://user:pass@hooks.slack.com/commands/T0001/1/x", SLACK, "names a user"),
        # Another port or scheme of the same host.
        ("https://hooks.slack.com:8443/commands/T0001/1/x", SLACK, "under none of"),
        ("https://hooks.slack.com:0/commands/T0001/1/x", SLACK, "under none of"),
        ("http://hooks.slack.com/commands/T0001/1/x", SLACK, "under none of"),
        ("http://127.0.0.1:8002/slack/response/7f3a", SANDBOX, "under none of"),
        # Outside the prefix's path, or climbing out of it.
        ("http://127.0.0.1:8001/admin/", SANDBOX, "under none of"),
        ("http://127.0.0.1:8001/slackware/response/7f3a", SANDBOX, "under none of"),
        ("http://127.0.0.1:8001/slack/../admin/", SANDBOX, "climbs out"),
        ("http://127.0.0.1:8001/slack/%2e%2e/admin/", SANDBOX, "climbs out"),
        # What parsers read differently.
        ("https://hooks.slack.com\\@evil.example/", SLACK, "backslash"),
        ("https://hooks.slack.com/commands/T0001/1/x\n", SLACK, "whitespace"),
        (" https://hooks.slack.com/commands/T0001/1/x", SLACK, "whitespace"),
        ("https://hooks.slack.com:99999/commands", SLACK, "cannot be read"),
        # Not an absolute web URL.
        ("/commands/T0001/1/x", SLACK, "absolute http(s)"),
        ("javascript:alert(1)", SLACK, "absolute http(s)"),
        ("ftp://hooks.slack.com/commands/T0001/1/x", SLACK, "absolute http(s)"),
        ("", SLACK, "absolute http(s)"),
    ],
)
def test_anything_else_is_refused_with_the_reason(url, prefixes, reason):
    refusal = response_url_refusal(url, prefixes)

    assert refusal is not None and reason in refusal


def test_a_refusal_names_the_host_and_port_but_never_the_urls_path():
    refusal = response_url_refusal("https://evil.example:8443/commands/T0001/1/SeCrEt", SLACK)

    assert refusal == "https://evil.example:8443 and that path are under none of SLACK_RESPONSE_URL_PREFIXES"


def test_no_prefix_admits_nothing():
    assert response_url_refusal(RESPONSE_URL, []) is not None


@pytest.mark.parametrize("prefix", ["hooks.slack.com", "https://", "https://hooks.slack.com/?a=1", "ftp://x/"])
def test_a_prefix_that_is_not_an_absolute_web_url_is_a_configuration_error(prefix):
    with pytest.raises(ImproperlyConfigured, match="SLACK_RESPONSE_URL_PREFIXES has"):
        response_url_refusal(RESPONSE_URL, [prefix])


@pytest.mark.parametrize(
    ("prefix", "own"),
    [
        ("https://hooks.slack.com/", True),
        ("https://hooks.slack.com", True),
        ("https://HOOKS.slack.com:443/", True),
        ("https://hooks.slack.com/commands/", False),
        ("http://hooks.slack.com/", False),
        ("http://127.0.0.1:8001/slack/", False),
    ],
)
def test_slacks_own_prefix_is_recognised_however_it_is_spelled(prefix, own):
    assert is_slacks_own(prefix) is own


def prefixes_under(**env: str) -> list[str]:
    ours = {"SLACK_API_URL", "SLACK_RESPONSE_URL_PREFIXES", "SANDBOX_URL", "SANDBOX_PORT", "DJANGO_SETTINGS_MODULE"}
    clean = {name: value for name, value in os.environ.items() if name not in ours}
    code = "from django.conf import settings; import json; print(json.dumps(settings.SLACK_RESPONSE_URL_PREFIXES))"
    result = subprocess.run(
        (sys.executable, "-c", code),
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "incidents_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_sandboxs_response_urls_are_admitted_only_while_slack_is_the_sandbox():
    assert prefixes_under() == ["https://hooks.slack.com/", "http://127.0.0.1:8001/slack/"]
    assert prefixes_under(SANDBOX_URL="http://sandbox.internal:9000") == [
        "https://hooks.slack.com/",
        "http://sandbox.internal:9000/slack/",
    ]
    assert prefixes_under(SLACK_API_URL="https://slack.com/api/") == ["https://hooks.slack.com/"]
    assert prefixes_under(SLACK_RESPONSE_URL_PREFIXES="https://hooks.slack.com/,https://relay.example/slack/") == [
        "https://hooks.slack.com/",
        "https://relay.example/slack/",
    ]
