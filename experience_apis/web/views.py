"""The browser Experience API: the report form, its confirmation and the status page (no JavaScript needed).

Views parse, call the Process APIs and render; nothing here decides anything about a report. The report
form carries a server-issued token (`idempotency.form_tokens`) so that sending it twice reports once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kernel.errors import NotAcceptedError, NotFoundError
from process_apis.customer_incidents.selectors import incident_get, incident_summary
from process_apis.customer_incidents.services import incident_report, incident_status

from ..idempotency.form_tokens import FIELD as REPORT_TOKEN_FIELD
from ..idempotency.form_tokens import (
    ReportTokenRefused,
    remember_form_binding,
    report_form_binding,
    report_form_send_once,
    report_token_issue,
)
from ..policies.rate_limits import rate_limit_ip_hit
from .consumer import CONSUMER
from .forms import HONEYPOT_FIELD, IncidentReportForm, StatusLookupForm

logger = logging.getLogger(__name__)

# The references this browser session reported: only those have a readable confirmation page.
REPORTED_IN_SESSION = "incident_hub.reported_references"
REMEMBERED_REPORTS = 20


@require_http_methods(["GET", "HEAD", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    binding = report_form_binding(request)
    return remember_form_binding(_report(request, binding), binding)


def _report(request: HttpRequest, binding: str) -> HttpResponse:
    if request.method != "POST":
        return _report_page(request, IncidentReportForm(), token=report_token_issue(binding=binding))
    limited = _rate_limited(request, scope="web-report", rate=settings.REPORT_FORM_RATE_LIMIT)
    if limited:
        return limited
    form = IncidentReportForm(request.POST)
    token = request.POST.get(REPORT_TOKEN_FIELD, "")
    if form.honeypot_filled():
        logger.info("report form: the honeypot field was filled in; nothing is stored or sent")

    def send() -> str:
        return incident_report(
            **form.cleaned_data, consumer=CONSUMER, trace_id=request.trace_id, intake_key=f"web:{token}"
        ).reference

    try:
        sent = report_form_send_once(binding=binding, token=token, send=send if form.is_valid() else None)
    except ReportTokenRefused as exc:
        form.add_error(None, exc.message)
        return _report_page(request, form, token=report_token_issue(binding=binding))
    except NotAcceptedError as exc:
        return _report_page(request, form, token=token, not_accepted=exc.message, status=503)
    if sent.sending:
        return _report_page(request, form, token=token, sending=True, status=409)
    if not sent.reference:
        return _report_page(request, form, token=token)
    reported = [known for known in request.session.get(REPORTED_IN_SESSION, []) if known != sent.reference]
    request.session[REPORTED_IN_SESSION] = [*reported, sent.reference][-REMEMBERED_REPORTS:]
    return redirect("web:report-done", reference=sent.reference)


@never_cache
@require_http_methods(["GET", "HEAD"])
def report_done(request: HttpRequest, reference: str) -> HttpResponse:
    # A reference alone opens nothing: the confirmation is for the browser that sent the report.
    if reference not in request.session.get(REPORTED_IN_SESSION, []):
        raise Http404("No report with that reference was sent from this browser.")
    accepted = incident_get(reference=reference)
    if accepted is None:
        raise Http404("No report with that reference.")
    return render(request, "experience/report_done.html", {"report": incident_summary(accepted), "nav": "report"})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    # The lookup is POSTed so that the email never lands in a URL (access logs, history, Referer);
    # GET only pre-fills the reference, as the confirmation page links it.
    if request.method == "POST":
        limited = _rate_limited(request, scope="web-status", rate=settings.STATUS_LOOKUP_RATE_LIMIT)
        if limited:
            return limited
        form = StatusLookupForm(request.POST)
    else:
        form = StatusLookupForm(initial={"reference": request.GET.get("reference", "")[:40]})
    found = not_found = None
    if form.is_valid():
        try:
            found = incident_summary(incident_status(**form.cleaned_data))
        except NotFoundError as exc:
            not_found = exc.message
    context = {
        "form": form,
        "report": found,
        "not_found": not_found,
        "nav": "status",
    }
    return render(request, "experience/status.html", context)


def _report_page(
    request: HttpRequest,
    form: IncidentReportForm,
    *,
    token: str,
    not_accepted: str | None = None,
    sending: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "report_token_field": REPORT_TOKEN_FIELD,
        "report_token": token,
        "honeypot_field": HONEYPOT_FIELD,
        "not_accepted": not_accepted,
        "sending": sending,
        "nav": "report",
    }
    return render(request, "experience/report_form.html", context, status=status)


def _rate_limited(request: HttpRequest, *, scope: str, rate: str) -> HttpResponse | None:
    """A friendly 429 page when this address sent too many of these forms in the current window."""
    usage = rate_limit_ip_hit(request=request, scope=scope, rate=rate)
    if usage is None or not usage.exceeded:
        return None
    minutes = -(-usage.retry_after // 60)
    response = render(request, "experience/rate_limited.html", {"minutes": minutes, "nav": ""}, status=429)
    response["Retry-After"] = str(usage.retry_after)
    return response
