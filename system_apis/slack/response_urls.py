"""Which `response_url`s an answer may be posted to.

A slash command's or an interaction's `response_url` arrives in a request that anyone who can reach us could
forge, and posting to it sends our message (and the trace context) wherever it points. So an answer goes only to
URLs under a prefix of SLACK_RESPONSE_URL_PREFIXES (Slack's are all under https://hooks.slack.com/), compared as
parsed URLs (scheme, host, port, path), never as strings: `https://hooks.slack.com.evil.example/`,
`https://hooks.slack.com@evil.example/` and `https://hooks.slack.com:8443/` are not Slack's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SLACK_RESPONSE_URL_PREFIX = "https://hooks.slack.com/"
SETTING = "SLACK_RESPONSE_URL_PREFIXES"
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters a client or server may read differently from `urlsplit` (a backslash is a slash to browsers and
# some servers; whitespace and controls are stripped or refused by one parser and kept by another).
AMBIGUOUS = frozenset("\\ \x7f") | frozenset(chr(code) for code in range(0x20))


class UnusableUrl(ValueError):
    """Why a URL cannot be compared with a prefix at all."""


@dataclass(frozen=True)
class UrlPrefix:
    """A prefix of SLACK_RESPONSE_URL_PREFIXES: the scheme, host and port a URL must have, and the start of its path."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, prefix: str) -> UrlPrefix:
        """Raises ImproperlyConfigured for a prefix that is not an absolute http(s) URL with a host and nothing else."""
        try:
            parts = _split(prefix)
        except UnusableUrl as exc:
            raise ImproperlyConfigured(f"{SETTING} has {prefix!r}: {exc}") from exc
        if parts.query or parts.fragment:
            raise ImproperlyConfigured(f"{SETTING} has {prefix!r}: a prefix takes no query or fragment")
        path = parts.path or "/"
        # "/slack" would let "/slackware/..." through: a prefix's path is a whole directory.
        return cls(parts.scheme, parts.hostname or "", _port(parts), path if path.endswith("/") else f"{path}/")

    def admits(self, parts: SplitResult) -> bool:
        same_origin = (parts.scheme, parts.hostname, _port(parts)) == (self.scheme, self.host, self.port)
        return same_origin and parts.path.startswith(self.path)


def response_url_refusal(url: str, prefixes: Iterable[str]) -> str | None:
    """Why an answer may not be posted to `url`, or None when one of `prefixes` admits it.

    The reason names the URL's scheme, host and port at most: its path is the capability to answer, not for logs.
    """
    try:
        parts = _split(url)
    except UnusableUrl as exc:
        return str(exc)
    where = f"{parts.scheme}://{parts.hostname}:{_port(parts)}"
    if parts.username is not None or parts.password is not None:
        return f"the URL names a user before its host ({where})"
    segments = [unquote(segment) for segment in parts.path.split("/")]
    if any(segment in (".", "..") for segment in segments):
        return f"the URL's path climbs out of its directory ({where})"
    if not any(UrlPrefix.parse(prefix).admits(parts) for prefix in prefixes):
        return f"{where} and that path are under none of {SETTING}"
    return None


def is_slacks_own(prefix: str) -> bool:
    """Whether `prefix` admits exactly what Slack's own https://hooks.slack.com/ admits."""
    return UrlPrefix.parse(prefix) == UrlPrefix.parse(SLACK_RESPONSE_URL_PREFIX)


def _split(url: str) -> SplitResult:
    if any(character in AMBIGUOUS for character in url):
        raise UnusableUrl("the URL has whitespace, a control character or a backslash")
    try:
        parts = urlsplit(url)
        _port(parts)
    except ValueError as exc:
        raise UnusableUrl(f"the URL cannot be read ({exc})") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UnusableUrl("the URL is not an absolute http(s) URL with a host")
    return parts


def _port(parts: SplitResult) -> int:
    # Not `parts.port or ...`: an explicit port 0 is not the default port.
    return parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme, 0)
