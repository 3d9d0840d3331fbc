"""The answer that follows: when a report's ServiceNow incident was not ready within Slack's three seconds, the
person is answered once it is, through the command's `response_url`, as durable work of kind SLACK_ANSWER.

The work waits (held back, no attempt spent) while the incident is pending, looking again at growing intervals,
and gives up waiting after SLACK_ANSWER_WAIT seconds (a `response_url` lasts 30 minutes), answering with where the
report stands then. Slack's own refusals (an expired or used URL) fail it for good; outages are retried.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import NotFoundError
from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Kind, Paced, register, work_create_for
from process_apis.customer_incidents.selectors import incident_get, incident_summary
from process_apis.team_chat.services import team_chat_reply

from . import messages
from .models import SlackAnswer

SLACK_ANSWER = "slack_answer"
PENDING = "pending"


def slack_answer_owe(*, reference: str, response_url: str, trace_id: str = "") -> SlackAnswer:
    """Owe the full answer for `reference` at `response_url`, once however often Slack retries the command."""
    try:
        with transaction.atomic():
            answer = SlackAnswer(reference=reference, response_url=response_url)
            work_create_for(answer, "work", kind=SLACK_ANSWER, subject=reference, trace_id=trace_id)
            return answer
    except IntegrityError:
        return SlackAnswer.objects.get(reference=reference, response_url=response_url)


def _send(work: Work, answer: SlackAnswer | None = None) -> None:
    answer = answer or SlackAnswer.objects.get(work=work)
    annotate(reference=answer.reference)
    report = incident_get(reference=answer.reference)
    if report is None:
        raise NotFoundError(f"No report {answer.reference} to answer about.")
    waited = (timezone.now() - answer.created_at).total_seconds()
    if report.sync_state == PENDING and waited < settings.SLACK_ANSWER_WAIT:
        # Soon after the command, the incident is usually a retry away; later, ServiceNow is down for a while.
        raise Paced(min(max(waited / 4, 2.0), 30.0))
    team_chat_reply(reply_url=answer.response_url, message=messages.report_standing(incident_summary(report)))


register(
    Kind(
        name=SLACK_ANSWER,
        task_name="experience_apis.send_slack_answer",
        run=_send,
        span=("experience", "slack_command", "send_answer"),
        max_attempts_setting="SLACK_ANSWER_MAX_ATTEMPTS",
        retry_base_setting="SLACK_ANSWER_RETRY_BASE",
        retry_cap_setting="SLACK_ANSWER_RETRY_CAP",
        lease_setting="SLACK_ANSWER_LEASE",
    )
)
