"""The customer's e-mail: a confirmation when the report is accepted, a message when its incident is resolved.

Each is queued in the transaction of its news (work of kind EMAIL, sent by a worker of the "email" queue), so an
SMTP outage delays the mail and nothing else: the report only queues it. The (request, kind) constraint, and the
check before queueing a resolution, keep each mail to one however often or late the news comes; the mail's
Message-ID is made when it is queued and sent with every attempt.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Commit, Kind, register, work_create_for
from system_apis.email.client import EmailClient, new_message_id
from system_apis.email.types import Mail

from ..incident_events.news import IncidentNews, NewsKind, incident_news_listen
from ..models import CustomerMail, IncidentEvent, IncidentRequest

logger = logging.getLogger("process_apis.customer_mail")

EMAIL = "email"
SUBJECTS = {
    CustomerMail.Kind.CONFIRMATION: "We received your report {reference}",
    CustomerMail.Kind.RESOLUTION: "Your report {reference} is resolved",
}


@incident_news_listen
def _on_news(news: IncidentNews) -> None:
    if news.kind == NewsKind.ACCEPTED:
        customer_mail_queue(request=news.request, kind=CustomerMail.Kind.CONFIRMATION)
    elif news.kind == NewsKind.CHANGED and news.resolved:
        # Resolved, reopened and resolved again: the customer heard of the resolution once already.
        if not CustomerMail.objects.filter(request=news.request, kind=CustomerMail.Kind.RESOLUTION).exists():
            customer_mail_queue(request=news.request, kind=CustomerMail.Kind.RESOLUTION)


def customer_mail_queue(*, request: IncidentRequest, kind: CustomerMail.Kind) -> CustomerMail:
    """Record the `kind` mail to the report's customer: sent by a worker once the caller's transaction commits."""
    mail = CustomerMail(request=request, kind=kind, to=request.email, message_id=new_message_id(settings.EMAIL_FROM))
    work_create_for(mail, "work", kind=EMAIL, subject=request.reference, trace_id=request.trace_id)
    return mail


def status_page_url(reference: str) -> str:
    """The status page, its reference filled in (the customer types the e-mail address: it is never in a link)."""
    return f"{settings.SITE_URL.rstrip('/')}{settings.STATUS_PAGE_PATH}?{urlencode({'reference': reference})}"


def customer_mail_render(mail: CustomerMail) -> Mail:
    """The mail as the customer reads it, plain text and HTML, from the report as it is now."""
    request = mail.request
    context = {
        "request": request,
        "name": request.name,
        "reference": request.reference,
        "summary": request.short_description,
        "servicenow_number": request.servicenow_number,
        "status_url": status_page_url(request.reference),
        "close_code": request.servicenow_close_code,
        "close_notes": request.servicenow_close_notes,
    }
    template = f"email/customer_{mail.kind}"
    return Mail(
        to=mail.to,
        subject=SUBJECTS[CustomerMail.Kind(mail.kind)].format(reference=request.reference),
        text=render_to_string(f"{template}.txt", context),
        html=render_to_string(f"{template}.html", context),
        message_id=mail.message_id,
    )


def _send(work: Work) -> Commit | None:
    """Send the mail (the work of kind EMAIL)."""
    mail = CustomerMail.objects.select_related("request").get(work=work)
    annotate(reference=mail.request.reference)
    if mail.sent_at is not None:
        return None
    sent = EmailClient.from_settings().send(customer_mail_render(mail))

    def record_sent() -> None:
        CustomerMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now())
        IncidentEvent.objects.create(
            request_id=mail.request_id, kind="email_sent", detail={"mail": mail.kind, "message_id": sent.message_id}
        )
        logger.info("customer mail %s (%s) sent as %s", mail.pk, mail.kind, sent.message_id)

    return record_sent


def _failed_for_good(work: Work) -> None:
    mail = CustomerMail.objects.get(work=work)
    IncidentEvent.objects.create(
        request_id=mail.request_id, kind="email_failed", detail={"mail": mail.kind, "error": work.last_error}
    )


register(
    Kind(
        name=EMAIL,
        task_name="process_apis.send_customer_mail",
        run=_send,
        span=("process", "customer_mail", "send"),
        on_failed=_failed_for_good,
        max_attempts_setting="EMAIL_MAX_ATTEMPTS",
        retry_base_setting="EMAIL_RETRY_BASE",
        retry_cap_setting="EMAIL_RETRY_CAP",
        lease_setting="EMAIL_CLAIM_LEASE",
    )
)
