import socket
import ssl

import pytest
from django.core import mail as django_mail
from django.core.exceptions import ImproperlyConfigured

from bench.tls import self_signed
from system_apis.email.client import (
    SMTP_BACKEND,
    EmailClient,
    EmailServer,
    default_tls_context,
    email_server,
    new_message_id,
)
from system_apis.email.types import Mail
from system_apis.errors import SystemAuthError, SystemBadRequest, SystemTimeout, SystemUnavailable
from tests.mailserver import free_port, mail_server

pytestmark = pytest.mark.django_db

SENDER = "Incident Hub <incidents@shop.example>"
MAIL = Mail(
    to="katherine@example.com",
    subject="We received your report IH-0000000001",
    text="Reference: IH-0000000001\n",
    html="<p>Reference: <b>IH-0000000001</b></p>",
    message_id="<1.2.3@shop.example>",
)


def client_for(url: str, timeout: float = 2.0) -> EmailClient:
    return EmailClient(server=email_server(url), sender=SENDER, timeout=timeout)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://user:p%40ss@mail.example.com:587",
            EmailServer(SMTP_BACKEND, "mail.example.com", 587, "user", "p@ss", use_tls=True),
        ),
        ("smtp://mail.example.com", EmailServer(SMTP_BACKEND, "mail.example.com", 25)),
        ("smtp://mail.example.com:2525?tls=1", EmailServer(SMTP_BACKEND, "mail.example.com", 2525, use_tls=True)),
        ("smtps://u:p@mail.example.com", EmailServer(SMTP_BACKEND, "mail.example.com", 465, "u", "p", use_ssl=True)),
        ("smtp://mail.example.com:465", EmailServer(SMTP_BACKEND, "mail.example.com", 465, use_ssl=True)),
        ("smtp+ssl://mail.example.com:2465", EmailServer(SMTP_BACKEND, "mail.example.com", 2465, use_ssl=True)),
        ("smtp+tls://mail.example.com", EmailServer(SMTP_BACKEND, "mail.example.com", 587, use_tls=True)),
        ("console://", EmailServer("django.core.mail.backends.console.EmailBackend")),
    ],
)
def test_email_url_says_server_and_tls(url, expected):
    assert email_server(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "consolemail://"])
def test_an_email_url_of_another_kind_is_refused(url):
    with pytest.raises(ImproperlyConfigured):
        email_server(url)


def test_a_message_id_is_in_the_senders_domain():
    assert new_message_id(SENDER).endswith("@shop.example>")


def test_a_mail_is_sent_with_both_parts_and_its_message_id():
    with mail_server() as server:
        sent = client_for(server.url).send(MAIL)

    assert sent.message_id == "<1.2.3@shop.example>"
    [received] = server.received
    assert received.mail_from == "incidents@shop.example"
    assert received.to == ["katherine@example.com"]
    assert received.message["Subject"] == "We received your report IH-0000000001"
    assert received.message["Message-ID"] == "<1.2.3@shop.example>"
    assert received.message["From"] == SENDER
    assert received.part("plain") == "Reference: IH-0000000001\n"
    assert received.part("html") == "<p>Reference: <b>IH-0000000001</b></p>"


def test_a_refused_recipient_is_a_bad_request_not_retried():
    with mail_server() as server:
        server.refuse_rcpt = "550 5.1.1 No such user"
        with pytest.raises(SystemBadRequest) as refused:
            client_for(server.url).send(MAIL)

    assert refused.value.retryable is False
    assert (refused.value.system, refused.value.operation) == ("email", "send")
    assert server.received == []


def test_a_recipient_refused_for_now_is_retryable():
    with mail_server() as server:
        server.refuse_rcpt = "450 4.2.1 Mailbox busy"
        with pytest.raises(SystemUnavailable):
            client_for(server.url).send(MAIL)

    assert server.received == []


def test_a_server_that_refuses_mail_with_421_is_unavailable():
    with mail_server() as server:
        server.refuse_next = 1
        with pytest.raises(SystemUnavailable) as refused:
            client_for(server.url).send(MAIL)

    assert refused.value.retryable is True
    assert server.received == []


def test_no_server_on_the_port_is_unavailable():
    with pytest.raises(SystemUnavailable) as down:
        client_for(f"smtp://127.0.0.1:{free_port()}").send(MAIL)

    assert down.value.retryable is True
    assert "refused the connection" in str(down.value)


def test_a_server_that_never_answers_is_a_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(SystemTimeout) as slow:
            client_for(f"smtp://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3).send(MAIL)

    assert slow.value.retryable is True


def test_a_login_the_server_refuses_is_an_auth_error():
    # aiosmtpd offers no AUTH without TLS: a server that refuses the login outright says 535 the same way.
    with mail_server() as server:
        server.refuse_next = 1
        server.refusal = "530 5.7.0 Authentication required"
        with pytest.raises(SystemAuthError):
            client_for(server.url).send(MAIL)


def test_console_and_locmem_send_nowhere(capsys):
    django_mail.outbox = []
    client_for("locmem://").send(MAIL)
    client_for("console://").send(MAIL)

    assert [message.subject for message in django_mail.outbox] == [MAIL.subject]
    assert "Subject: We received your report IH-0000000001" in capsys.readouterr().out


@pytest.fixture
def tls_server_context(tmp_path, monkeypatch):
    """A STARTTLS server's context, its certificate trusted as the system's CAs (SSL_CERT_FILE) for this test."""
    cert, key = self_signed(tmp_path, "127.0.0.1", "mail stand-in")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    default_tls_context.cache_clear()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    yield context
    default_tls_context.cache_clear()


def test_mails_over_starttls_share_the_process_s_tls_context(tls_server_context, tls_client_contexts):
    with mail_server(tls=tls_server_context) as server:
        for _ in range(2):
            client_for(f"{server.url}?tls=1").send(MAIL)

    assert [received.over_tls for received in server.received] == [True, True]
    assert tls_client_contexts == [default_tls_context()] * 2


def test_a_starttls_server_whose_certificate_is_not_trusted_is_refused(tls_server_context, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    default_tls_context.cache_clear()

    with mail_server(tls=tls_server_context) as server, pytest.raises(SystemUnavailable):
        client_for(f"{server.url}?tls=1").send(MAIL)

    assert server.received == []
