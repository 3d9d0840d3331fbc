"""The E-mail System API's own types: what a mail is, to the layers above (no SMTP in sight)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    # The same content as HTML, sent as an alternative part ("" for plain text only).
    html: str = ""
    reply_to: str = ""
    # `<...@domain>`, as made by `new_message_id`: kept by the caller, so a retry of a send whose outcome was
    # unknown carries the same id and the recipient can tell it is the same mail.
    message_id: str = ""


@dataclass(frozen=True)
class SentMail:
    message_id: str
