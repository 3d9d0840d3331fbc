"""Staff's view of every unit of background work, whatever its kind, and its one "try again"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .errors import ApplicationError
from .models import Work, WorkAttempt
from .work import work_enqueue, work_retry


class NoEditing:
    """Nothing is added, changed or deleted: the records say what was sent."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WorkAttemptInline(NoEditing, admin.TabularInline):
    model = WorkAttempt
    extra = 0
    fields = readonly_fields = ("at", "number", "outcome", "error", "duration_ms")


@admin.register(Work)
class WorkAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "state", "attempts", "next_attempt_at", "last_error", "updated_at")
    list_filter = ("state", "kind")
    search_fields = ("=subject",)
    search_help_text = "What the work is about, e.g. a report's reference."
    show_full_result_count = False
    actions = ("try_again",)
    inlines = (WorkAttemptInline,)
    fields = readonly_fields = (
        "kind",
        "subject",
        "state",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "trace_id",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Try again now", permissions=["change"])
    def try_again(self, request: HttpRequest, queryset: QuerySet[Work]) -> None:
        for work in queryset:
            try:
                with transaction.atomic():
                    work_retry(work)
                    transaction.on_commit(lambda work=work: work_enqueue(work))
            except ApplicationError as exc:
                self.message_user(request, f"Skipped: {exc.message}", messages.WARNING)
            else:
                self.message_user(request, f"Queued {work} to run again.", messages.SUCCESS)
