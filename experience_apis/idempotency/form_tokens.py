"""The report form's token: issued with each rendered form, it makes a double submit or a back-and-resubmit one report.

The token is a random nonce signed with a salt that holds a random value kept in the browser's session,
so a token works only in the session it was issued to and cannot be made up. Its first POST claims an idempotency
record `web:<session binding>` + nonce in the database (shared by every web process); later POSTs with it
get the same report's confirmation, or are told that it is still being sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase
from django.core.signing import BadSignature, TimestampSigner
from django.urls import reverse

from .services import (
    Claim,
    ClaimOutcome,
    idempotency_claim,
    idempotency_complete,
    idempotency_find,
    idempotency_key_ttl,
    idempotency_release,
)

FIELD = "report_token"
_BINDING_IN_SESSION = "incident_hub.form_token_binding"
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


def report_token_issue(*, session: SessionBase) -> str:
    """A new token for one rendered form, bound to this browser's session."""
    if not session.get(_BINDING_IN_SESSION):
        session[_BINDING_IN_SESSION] = secrets.token_urlsafe(16)
    return _signer(session[_BINDING_IN_SESSION]).sign(secrets.token_urlsafe(24))


def report_form_send_once(*, session: SessionBase, token: str, send: Callable[[], str] | None) -> FormSubmission:
    """Run `send()` (which reports and returns the reference) at most once per token.

    `send=None` means the form is not valid: nothing is sent, but a token that already made a report
    still leads to it. Raises ReportTokenRefused for a token this session was not given; what `send`
    raises is raised after the token is freed for another try.
    """
    binding = session.get(_BINDING_IN_SESSION)
    nonce = _nonce(binding, token)
    if nonce is None:
        raise ReportTokenRefused()
    scope = f"web:{binding}"
    if send is None:
        earlier = idempotency_find(scope=scope, key=nonce)
        return _submission(earlier) if earlier else FormSubmission()
    claim = idempotency_claim(scope=scope, key=nonce)
    if claim.outcome != ClaimOutcome.CLAIMED:
        return _submission(claim)
    try:
        reference = send()
    except BaseException:
        idempotency_release(record=claim.record)
        raise
    location = reverse("web:report-done", kwargs={"reference": reference})
    idempotency_complete(record=claim.record, status=302, body={"reference": reference}, location=location)
    return FormSubmission(reference=reference)


def _submission(claim: Claim) -> FormSubmission:
    stored = claim.stored
    if claim.outcome == ClaimOutcome.REPLAY and stored is not None:
        return FormSubmission(reference=stored.body["reference"])
    return FormSubmission(sending=True)


def _nonce(binding: str | None, token: str) -> str | None:
    if not binding or not token:
        return None
    try:
        return _signer(binding).unsign(token, max_age=idempotency_key_ttl())
    except BadSignature:  # also SignatureExpired
        return None


def _signer(binding: str) -> TimestampSigner:
    return TimestampSigner(salt=f"{_SALT}:{binding}")
