"""The sandbox's SMTP server: a real one, whose mailbox the sandbox page and its JSON list show."""

import pytest
from django.test import Client

from sandbox.faults import FaultSettingsError, update_faults
from sandbox.mail.models import ReceivedMail
from sandbox.mail.server import smtp_server
from sandbox.models import Fault
from system_apis.email.client import EmailClient, email_server
from system_apis.email.types import Mail
from system_apis.errors import SystemUnavailable
from tests.mailserver import free_port

# The server stores from its own threads: the data must be committed for them to see it, and for the test to see theirs.
pytestmark = pytest.mark.django_db(transaction=True)

MAIL = Mail(
    to="ada.lovelace@example.com",
    subject="We received your report IH-0000000001",
    text="Reference: IH-0000000001\n",
    html="<p>Reference: <b>IH-0000000001</b></p>",
    message_id="<1.2.3@localhost>",
)


@pytest.fixture
def smtp_url():
    port = free_port()
    server = smtp_server(port=port)
    server.start()
    yield f"smtp://127.0.0.1:{port}"
    server.stop()


def send(url: str, mail: Mail = MAIL) -> None:
    EmailClient(server=email_server(url), sender="Incident Hub <incidents@localhost>", timeout=5).send(mail)


@pytest.fixture
def sandbox(settings) -> Client:
    settings.ROOT_URLCONF = "sandbox.urls"
    return Client()


def test_a_mail_is_kept_and_shown_in_the_mailbox_latest_first(smtp_url, sandbox):
    send(smtp_url)
    send(smtp_url, Mail(to="grace@example.com", subject="Second", text="Plain only\n"))

    first, second = ReceivedMail.objects.order_by("id")
    assert (first.mail_from, first.to, first.subject, first.message_id) == (
        "incidents@localhost",
        ["ada.lovelace@example.com"],
        "We received your report IH-0000000001",
        "<1.2.3@localhost>",
    )
    assert first.text.replace("\r\n", "\n") == "Reference: IH-0000000001\n"
    assert first.html.rstrip() == "<p>Reference: <b>IH-0000000001</b></p>"
    assert (second.text.replace("\r\n", "\n"), second.html) == ("Plain only\n", "")

    listed = sandbox.get("/mail/_sandbox/messages").json()["messages"]
    assert [(m["subject"], m["to"]) for m in listed] == [
        ("Second", ["grace@example.com"]),
        ("We received your report IH-0000000001", ["ada.lovelace@example.com"]),
    ]
    assert [m["subject"] for m in sandbox.get("/mail/_sandbox/messages?to=grace@").json()["messages"]] == ["Second"]

    page = sandbox.get("/").content.decode()
    assert '<h2 id="mailbox">Mailbox (2)</h2>' in page
    assert page.index("Second") < page.index("We received your report IH-0000000001")
    assert f'<a href="/mail/_sandbox/messages/{first.pk}.html">view</a>' in page
    assert "&lt;p&gt;" not in page  # the text part is shown, not the HTML source

    html = sandbox.get(f"/mail/_sandbox/messages/{first.pk}.html")
    assert html.content.decode().rstrip() == "<p>Reference: <b>IH-0000000001</b></p>"
    assert html["Content-Security-Policy"].startswith("sandbox;")

    assert sandbox.delete("/mail/_sandbox/messages").json() == {"messages": []}
    assert not ReceivedMail.objects.exists()


def test_the_mail_server_refuses_the_next_mails_with_421_then_accepts(smtp_url):
    update_faults("mail", {"fail_next": 1})

    with pytest.raises(SystemUnavailable) as refused:
        send(smtp_url)
    send(smtp_url)

    assert "(421)" in str(refused.value)
    assert ReceivedMail.objects.count() == 1
    assert Fault.for_system("mail").requests_seen == 2


def test_a_mail_server_that_is_down_refuses_every_mail_until_it_is_up(smtp_url, sandbox):
    assert sandbox.put("/_sandbox/faults/mail", {"down": True}, content_type="application/json").json()["down"] is True

    for _ in range(2):
        with pytest.raises(SystemUnavailable):
            send(smtp_url)
    update_faults("mail", {"down": False})
    send(smtp_url)

    assert ReceivedMail.objects.count() == 1


@pytest.mark.parametrize(
    ("system", "values"),
    [("slack", {"down": True}), ("mail", {"rate_limit_next": 1}), ("mail", {"down": "maybe"})],
)
def test_knobs_that_do_not_fit_the_system_are_refused(system, values):
    with pytest.raises(FaultSettingsError):
        update_faults(system, values)
