"""E-mail System API: sends our `Mail` over SMTP (or to the console), through Django's mail machinery.

EMAIL_URL says where mail goes:
- `smtp://user:password@host:port`: SMTP, with STARTTLS when the port is 587 or the URL says `?tls=1`
  (`smtp+tls://` forces it); user and password are percent-encoded;
- `smtps://user:password@host:465` (or `smtp+ssl://`, or port 465): TLS from the first byte;
- `console://`: printed on the worker's standard output, sent nowhere;
- `locmem://`: kept in `django.core.mail.outbox` (tests).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from functools import cache, cached_property
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from ..errors import SystemAPIError, SystemAuthError, SystemBadRequest, SystemTimeout, SystemUnavailable
from ..pipeline import Answered, SystemClient, TransportError
from .types import Mail, SentMail

logger = logging.getLogger("system_apis.email")

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class EmailServer:
    """Where EMAIL_URL sends mail: a Django mail backend and, for SMTP, how to reach the server."""

    backend: str
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    use_tls: bool = False  # STARTTLS after connecting
    use_ssl: bool = False  # TLS from the first byte

    @property
    def is_smtp(self) -> bool:
        return self.backend == SMTP_BACKEND


def email_server(url: str) -> EmailServer:
    """Parse EMAIL_URL (see the module's docstring); anything else is a configuration error."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in BACKENDS:
        return EmailServer(backend=BACKENDS[scheme])
    if scheme not in ("smtp", "smtps", "smtp+tls", "smtp+ssl"):
        raise ImproperlyConfigured(f"EMAIL_URL must be smtp://, smtps://, console:// or locmem://, not {scheme!r}")
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no SMTP host")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    implicit = scheme in ("smtps", "smtp+ssl") or query.get("ssl", "").lower() in TRUE
    port = parts.port or (465 if implicit else 587 if scheme == "smtp+tls" else 25)
    implicit = implicit or (port == 465 and scheme == "smtp")
    starttls = not implicit and (scheme == "smtp+tls" or port == 587 or query.get("tls", "").lower() in TRUE)
    return EmailServer(
        backend=SMTP_BACKEND,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=starttls,
        use_ssl=implicit,
    )


def new_message_id(sender: str) -> str:
    """A Message-ID in the sender's domain, made once per mail and kept by the caller."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


class EmailClient(SystemClient):
    system = "email"

    def __init__(self, *, server: EmailServer, sender: str, timeout: float = 10.0) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> EmailClient:
        return cls(server=email_server(settings.EMAIL_URL), sender=settings.EMAIL_FROM, timeout=settings.EMAIL_TIMEOUT)

    def send(self, mail: Mail) -> SentMail:
        """Send `mail` to its one recipient; raises the System APIs' typed errors (4xx answers are retryable)."""
        message_id = mail.message_id or new_message_id(self.sender)
        return self._call(
            "send",
            lambda timeout: self._send(mail, message_id, timeout[1]),
            timeout=(self.timeout, self.timeout),
            message_id=message_id,
        )

    def _backend(self, timeout: float) -> BaseEmailBackend:
        server = self.server
        if not server.is_smtp:
            return _backend_class(server.backend)(fail_silently=False)
        return SharedTLSEmailBackend(
            host=server.host,
            port=server.port,
            username=server.username or None,
            password=server.password or None,
            use_tls=server.use_tls,
            use_ssl=server.use_ssl,
            timeout=timeout,
            fail_silently=False,
        )

    def _send(self, mail: Mail, message_id: str, timeout: float) -> Answered[SentMail]:
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text,
            from_email=self.sender,
            to=[mail.to],
            reply_to=[mail.reply_to] if mail.reply_to else None,
            headers={"Message-ID": message_id},
            connection=self._backend(timeout),
        )
        if mail.html:
            message.attach_alternative(mail.html, "text/html")
        try:
            message.send()
        except Exception as exc:
            error, outcome, text = _error_of(exc)
            # SMTP answers may quote our address or the recipient's: the log has them, the error only the kind.
            logger.warning("e-mail %s not sent: %s", message_id, exc)
            raise TransportError(outcome, error, text, level=logging.WARNING) from exc
        return Answered(SentMail(message_id=message_id), "ok")


def _backend_class(path: str) -> type[BaseEmailBackend]:
    return import_string(path)


@cache
def default_tls_context() -> ssl.SSLContext:
    """The TLS context Django's SMTP backend makes (the system's trusted CAs), made once per process."""
    return ssl.create_default_context()


class SharedTLSEmailBackend(smtp.EmailBackend):
    """Django's SMTP backend on the process's TLS context. Django makes a new one for every backend, and so for
    every mail here, loading the system's CAs into it each time (about 25 ms of CPU)."""

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        if self.ssl_certfile or self.ssl_keyfile:  # a client certificate: a context of its own, as Django makes it
            return super().ssl_context
        return default_tls_context()


def _error_of(exc: BaseException) -> tuple[type[SystemAPIError], str, str]:
    """(error type, log outcome, message) of a failed send: an SMTP 4xx is "try later", a 5xx is final."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SystemAuthError, str(exc.smtp_code), f"the SMTP server refused our login ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        temporary = all(400 <= code < 500 for code in codes)
        code = codes[0] if codes else 550
        what = "refused the recipient for now" if temporary else "refused the recipient"
        return (SystemUnavailable if temporary else SystemBadRequest), str(code), f"the SMTP server {what} ({code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        if code == 530:  # "authentication required": our configuration
            return SystemAuthError, str(code), "the SMTP server wants a login (530)"
        kind = SystemUnavailable if 400 <= code < 500 else SystemBadRequest
        return kind, str(code), f"the SMTP server refused the mail ({code})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SystemBadRequest, "not-supported", "the SMTP server does not offer what EMAIL_URL asks (STARTTLS, login)"
    # smtplib reports an answer that never came as a disconnection, from the timeout.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return SystemTimeout, "timeout", "the SMTP server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return SystemUnavailable, "refused", "the SMTP server refused the connection"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ssl.SSLError | OSError | smtplib.SMTPException):
        return SystemUnavailable, type(exc).__name__, f"the SMTP server could not be reached ({type(exc).__name__})"
    raise exc
