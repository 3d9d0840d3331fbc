"""What the Slack connector takes and returns: our own types, no Block Kit."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host: the only links a notice may carry."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class Notice:
    """One message for the team: a title, a body, labelled facts and optional link and context line.

    `text` is both the body and the plain-text fallback shown in notifications.
    """

    title: str
    text: str
    fields: tuple[tuple[str, str], ...] = ()
    context: str | None = None
    link: tuple[str, str] | None = None
    thread_ts: str | None = None

    def __post_init__(self) -> None:
        # Accept lists from callers but keep the value hashable and immutable.
        object.__setattr__(self, "fields", tuple((str(label), str(value)) for label, value in self.fields))
        if self.link is not None:
            object.__setattr__(self, "link", (str(self.link[0]), str(self.link[1])))
            if not is_web_url(self.link[1]):
                raise ValueError("a notice link must be an http or https URL")
        if not self.title.strip():
            raise ValueError("a notice needs a title")


@dataclass(frozen=True)
class PostedMessage:
    """Where Slack put the message: the channel id it answered and the message's `ts`."""

    channel: str
    ts: str
