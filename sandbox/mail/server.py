"""The sandbox's SMTP server: a real one (aiosmtpd) that keeps every mail it accepts in the sandbox database.

The fault knobs of system "mail" (sandbox.faults) apply per mail: `down` refuses every mail, `fail_next` the next N
and `error_rate` a share of them, with 421 (or `error_status` when that is another SMTP code than the default 503);
`latency_ms` delays the answer to the mail's data and `hang_next` holds it for `hang_seconds` first.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.db.models import F

from ..models import Fault
from .models import ReceivedMail

logger = logging.getLogger(__name__)

T = TypeVar("T")
SYSTEM = "mail"
DEFAULT_REFUSAL = 421


def _refusal(fault: Fault) -> str:
    code = fault.error_status if fault.error_status != 503 else DEFAULT_REFUSAL
    return f"{code} {'4.3.2' if code < 500 else '5.3.0'} Service not available (sandbox fault)"


def _database_work(function: Callable[..., T]) -> Callable[..., T]:
    """Run on the server's worker threads as a request would: an old connection replaced first, and given back
    (to the pool, if any) after."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> T:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return run


@_database_work
def _fault_on_mail() -> tuple[str | None, float]:
    """(refusal or None, seconds to wait before answering the data) for the mail that is starting."""
    fault = Fault.for_system(SYSTEM)
    Fault.objects.filter(pk=fault.pk).update(requests_seen=F("requests_seen") + 1)
    if fault.down or fault.take("fail_next") or (fault.error_rate and random.random() < fault.error_rate):
        return _refusal(fault), 0.0
    wait = fault.latency_ms / 1000 + (fault.hang_seconds if fault.take("hang_next") else 0.0)
    return None, wait


@_database_work
def store_mail(*, mail_from: str, to: list[str], content: bytes) -> ReceivedMail:
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return ReceivedMail.objects.create(
        mail_from=mail_from,
        to=to,
        subject=str(message.get("Subject", "")),
        message_id=str(message.get("Message-ID", "")),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
        raw=content.decode("utf-8", errors="replace"),
    )


class MailboxHandler:
    """aiosmtpd's handler: faults at MAIL FROM, storage at DATA."""

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        refusal, wait = await sync_to_async(_fault_on_mail, thread_sensitive=False)()
        if refusal:
            logger.info("sandbox mail: refused a mail from %s (%s)", address, refusal)
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        session.sandbox_wait = wait
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        wait = getattr(session, "sandbox_wait", 0.0)
        if wait:
            await asyncio.sleep(wait)
        stored = await sync_to_async(store_mail, thread_sensitive=False)(
            mail_from=envelope.mail_from, to=list(envelope.rcpt_tos), content=envelope.original_content
        )
        logger.info("sandbox mail: %r to %s kept as %s", stored.subject, ", ".join(stored.to), stored.pk)
        return "250 Message accepted for delivery"


def smtp_server(*, host: str = "127.0.0.1", port: int) -> Controller:
    """The server, not yet started (`.start()` / `.stop()`): one thread of its own runs it."""
    return Controller(MailboxHandler(), hostname=host, port=port, decode_data=False, enable_SMTPUTF8=True)
