"""A real SMTP server on a free port, in the test process (aiosmtpd), for the e-mail connector and its callers."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    to: list[str]
    message: EmailMessage
    over_tls: bool = False

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content().replace("\r\n", "\n") if body is not None else ""


@dataclass
class MailServer:
    """What it accepted, in order; `refuse_next` mails are answered `refusal` at MAIL FROM; `refuse_rcpt` too."""

    port: int
    received: list[Received] = field(default_factory=list)
    refuse_next: int = 0
    refusal: str = "421 4.3.2 Service not available"
    refuse_rcpt: str = ""

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        if self.refuse_next:
            self.refuse_next -= 1
            return self.refusal
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.ssl is not None))
        return "250 Message accepted for delivery"


@contextmanager
def mail_server(port: int | None = None, *, tls: ssl.SSLContext | None = None) -> Iterator[MailServer]:
    """The server, offering STARTTLS with `tls` when given."""
    server = MailServer(port=port or free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port, decode_data=False, tls_context=tls)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
