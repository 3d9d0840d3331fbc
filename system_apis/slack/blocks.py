"""Block Kit for a Notice: the only place that knows Slack's message layout and its limits."""

from __future__ import annotations

import re
from typing import Any

from .types import Notice

ELLIPSIS = "…"
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
CONTEXT_TEXT_MAX = 3000
# Slack truncates longer texts; 4,000 is the length its docs recommend for the fallback.
FALLBACK_TEXT_MAX = 4000

# Characters that would end or split a `<url|label>` link, and anything that is not printable.
_URL_UNSAFE = re.compile(r"[\s<>|\"\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Neutralise Slack's control characters so user text cannot mention `<!channel>` or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, never splitting an `&amp;`-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def mrkdwn(markup: str) -> dict[str, object]:
    """A mrkdwn text object taken as written: Slack turns no bare URL, channel name or mention in it into a link
    or a ping (`verbatim`); what should link is marked up explicitly (`link_markup`)."""
    return {"type": "mrkdwn", "text": markup, "verbatim": True}


def link_markup(label: str, url: str) -> str:
    """`<url|label>` with the label escaped and the URL unable to break out of the link."""
    safe_url = _URL_UNSAFE.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), url)
    safe_url = safe_url.replace("&", "&amp;")
    room = SECTION_TEXT_MAX - len(safe_url) - 3
    return f"<{safe_url}|{truncate(escape(' '.join(label.split())), max(room, 1))}>"


def fallback_text(notice: Notice) -> str:
    return truncate(escape(notice.text or notice.title), FALLBACK_TEXT_MAX)


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    """Header, fields, body, link and context, each within Block Kit's limits."""
    title = " ".join(notice.title.split())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, HEADER_MAX), "emoji": True}}
    ]
    field_texts = [_field_text(label, value) for label, value in notice.fields]
    field_texts = [text for text in field_texts if text]
    for start in range(0, len(field_texts), FIELDS_PER_SECTION):
        chunk = field_texts[start : start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [mrkdwn(text) for text in chunk]})
    if notice.text.strip():
        blocks.append({"type": "section", "text": mrkdwn(truncate(escape(notice.text), SECTION_TEXT_MAX))})
    if notice.link is not None:
        label, url = notice.link
        markup = link_markup(label if label.strip() else url, url)
        blocks.append({"type": "section", "text": mrkdwn(markup)})
    if notice.context and notice.context.strip():
        blocks.append({"type": "context", "elements": [mrkdwn(truncate(escape(notice.context), CONTEXT_TEXT_MAX))]})
    return blocks


def _field_text(label: str, value: str) -> str:
    label = escape(" ".join(label.split()))
    value = escape(value)
    if not label:
        return truncate(value, FIELD_TEXT_MAX)
    if not value:
        return truncate(f"*{label}*", FIELD_TEXT_MAX)
    return truncate(f"*{label}*\n{value}", FIELD_TEXT_MAX)
