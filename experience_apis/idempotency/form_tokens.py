"""The report form's token: issued with each rendered form, it makes a double submit or a back-and-resubmit one report.

The token is a random nonce signed with a salt that holds a random value kept in a signed cookie of the browser,
so a token works only in the browser it was issued to and cannot be made up, and showing the form writes
nothing on the server (an anonymous GET must not cost a database row). Its first POST claims an idempotency
record `web:<session binding>` + nonce in the database (shared by every web process); later POSTs with it
get the same report's confirmation, or are told that it is still being sent. The admin's add-API-client
form signs its token with `form_token_issue` too.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.signing import BadSignature, TimestampSigner
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .services import (
    ClaimOutcome,
    StoredResponse,
    idempotency_claim,
    idempotency_find,
    idempotency_key_ttl,
    idempotency_run,
)

FIELD = "report_token"
BINDING_COOKIE = "incident_hub_form"
_SALT = "experience_apis.report_form_token"


class ReportTokenRefused(Exception):
    """The POST carried no token, a forged one, one from another session, or one too old."""

    message = (
        "This form could not be matched to this browser: it may be too old, or it was opened elsewhere. "
        "Nothing was sent. Check what you typed and send it again."
    )


@dataclass(frozen=True)
class FormSubmission:
    reference: str = ""  # the report this token made (now or earlier); empty when nothing was sent
    sending: bool = False  # the first POST with this token is still being processed


def form_token_issue(salt: str, nbytes: int = 24) -> str:
    """A one-time form token: a random nonce signed with `salt`."""
    return TimestampSigner(salt=salt).sign(secrets.token_urlsafe(nbytes))


def form_token_nonce(salt: str, token: str) -> str | None:
    """The nonce of a token issued with `salt`, or None if it is forged, issued with another salt, or too old."""
    try:
        return TimestampSigner(salt=salt).unsign(token, max_age=idempotency_key_ttl())
    except BadSignature:  # also SignatureExpired
        return None


def report_form_binding(request: HttpRequest) -> str:
    """This browser's binding: the one its cookie carries, or a new one (`remember_form_binding` sets it)."""
    return request.get_signed_cookie(BINDING_COOKIE, default="", salt=_SALT) or secrets.token_urlsafe(16)


def remember_form_binding(response: HttpResponse, binding: str) -> HttpResponse:
    response.set_signed_cookie(
        BINDING_COOKIE,
        binding,
        salt=_SALT,
        max_age=idempotency_key_ttl(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def report_token_issue(*, binding: str) -> str:
    """A new token for one rendered form, bound to this browser."""
    return form_token_issue(f"{_SALT}:{binding}")


def report_form_send_once(*, binding: str, token: str, send: Callable[[], str] | None) -> FormSubmission:
    """Run `send()` (which reports and returns the reference) at most once per token.

    `send=None` means the form is not valid: nothing is sent, but a token that already made a report
    still leads to it. Raises ReportTokenRefused for a token this browser was not given; what `send`
    raises is raised after the token is freed for another try.
    """
    nonce = form_token_nonce(f"{_SALT}:{binding}", token)
    if nonce is None:
        raise ReportTokenRefused()
    scope = f"web:{binding}"
    claim = idempotency_find(scope=scope, key=nonce) if send is None else idempotency_claim(scope=scope, key=nonce)
    if claim is None:
        return FormSubmission()
    if claim.outcome != ClaimOutcome.CLAIMED:
        stored = claim.stored  # None while the first POST is in flight
        return FormSubmission(reference=stored.body["reference"]) if stored else FormSubmission(sending=True)
    reference = idempotency_run(
        claim.record,
        send,
        lambda reference: StoredResponse(
            302, {"reference": reference}, reverse("web:report-done", kwargs={"reference": reference})
        ),
    )
    return FormSubmission(reference=reference)
