"""What staff see of anything sent by work of its own (`models.SentByWork`: Slack notices, customer e-mails,
webhook messages): its state, attempts, last error, claim and attempt history, and a filter by state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from kernel.models import WorkAttempt

from .models import WORK_STATE, DeliveryState, SentByWork

EMPTY = "—"


def attempt_table(attempts: Iterable[WorkAttempt]) -> str | SafeString:
    rows = [(f"{a.at:%Y-%m-%d %H:%M:%S}", a.number, a.outcome, a.error or EMPTY, a.duration_ms) for a in attempts]
    if not rows:
        return "No attempt yet."
    return format_html(
        '<table class="attempt-history"><thead><tr><th>At (UTC)</th><th>Attempt</th><th>Outcome</th>'
        "<th>Error</th><th>Duration (ms)</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


class DeliveryWorkColumns:
    """What a delivery's work says of it: attempts, last error, claim and history."""

    @admin.display(description="State")
    def state(self, delivery: SentByWork) -> str:
        return delivery.get_state_display()

    @admin.display(description="Attempts")
    def attempts(self, delivery: SentByWork) -> int:
        return delivery.work.attempts

    @admin.display(description="Last error")
    def last_error(self, delivery: SentByWork) -> str:
        return delivery.work.last_error

    @admin.display(description="Claimed at")
    def claimed_at(self, delivery: SentByWork) -> Any:
        return delivery.work.claimed_at

    @admin.display(description="Attempts history")
    def attempt_history(self, delivery: SentByWork) -> str | SafeString:
        return attempt_table(delivery.work.history.all())


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state__exact"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return DeliveryState.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[SentByWork]) -> QuerySet:
        value = self.value()
        return queryset.filter(work__state=WORK_STATE[value]) if value in WORK_STATE else queryset
