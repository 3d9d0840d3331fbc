"""The answer that follows: when a report's ServiceNow incident was not ready within Slack's three seconds, the
person is answered once it is, through the command's `response_url`, as durable work of kind SLACK_ANSWER.

The work is woken when the incident is created (incident news, in the transaction that records it); until then it
is held back (no attempt spent), looking again every minute in case the news was missed, and by `reply_by` it
answers with where the report stands then. Slack's own refusals (an expired or used URL) fail it for good; outages
are retried.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import NotFoundError
from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Kind, Paced, register, work_create_for, work_enqueue
from process_apis.customer_incidents.selectors import incident_get, incident_summary
from process_apis.incident_events.news import IncidentNews, NewsKind, incident_news_listen
from process_apis.models import IncidentRequest
from process_apis.team_chat.services import team_chat_reply

from . import messages
from .consumer import CONSUMER
from .models import SlackAnswer

SLACK_ANSWER = "slack_answer"
# How often a waiting answer looks for itself, should the news of its incident have been missed.
LOOK_AGAIN_SECONDS = 60.0


def slack_answer_owe(*, reference: str, response_url: str, reply_by: datetime, trace_id: str = "") -> SlackAnswer:
    """Owe the full answer for `reference` at `response_url`, once however often Slack retries the command."""
    try:
        with transaction.atomic():
            answer = SlackAnswer(reference=reference, response_url=response_url, reply_by=reply_by)
            work_create_for(answer, "work", kind=SLACK_ANSWER, subject=reference, trace_id=trace_id)
            return answer
    except IntegrityError:
        return SlackAnswer.objects.get(reference=reference, response_url=response_url)


@incident_news_listen
def _on_news(news: IncidentNews) -> None:
    # Only the reports this consumer brought in can be owed an answer: no query for the others.
    if news.kind != NewsKind.CREATED or news.request.consumer != CONSUMER.name:
        return
    owed = SlackAnswer.objects.filter(reference=news.request.reference).values("work_id")
    waiting = list(Work.objects.filter(state=Work.State.PENDING, pk__in=owed))
    Work.objects.filter(state=Work.State.PENDING, pk__in=[work.pk for work in waiting]).update(next_attempt_at=None)
    for work in waiting:
        transaction.on_commit(partial(work_enqueue, work))


def _send(work: Work, answer: SlackAnswer | None = None) -> None:
    answer = answer or SlackAnswer.objects.get(work=work)
    annotate(reference=answer.reference)
    report = incident_get(reference=answer.reference)
    if report is None:
        raise NotFoundError(f"No report {answer.reference} to answer about.")
    left = (answer.reply_by - timezone.now()).total_seconds()
    if report.sync_state == IncidentRequest.SyncState.PENDING and left > 0:
        raise Paced(min(left, LOOK_AGAIN_SECONDS))
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
