"""Staff's view of the legacy-customer migration runs: each run's counts, checkpoint and rejections, read-only, and
the buttons that start a run, stop an active one and retry a finished run's rejected customers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from kernel.admin import NoEditing
from kernel.errors import ApplicationError

from ..delivery_admin import EMPTY, attempt_table
from .models import MigrationRejection, MigrationRun
from .services import migration_rejections_retry, migration_run_start, migration_run_stop


class MigrationRunStartForm(forms.Form):
    dry_run = forms.BooleanField(required=False, help_text=MigrationRun._meta.get_field("dry_run").help_text)
    since = forms.DateTimeField(
        required=False, help_text="Only customers changed at or after this time (UTC), e.g. 2024-06-11 14:23:00."
    )
    chunk_size = forms.IntegerField(
        min_value=1, initial=10000, help_text=MigrationRun._meta.get_field("chunk_size").help_text
    )


class MigrationRejectionInline(NoEditing, admin.TabularInline):
    model = MigrationRejection
    verbose_name = "rejected customer"
    verbose_name_plural = "rejected customers"
    extra = 0
    can_delete = False
    show_change_link = False
    fields = readonly_fields = ("customer_number", "source", "error", "retried")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Part of the run's record: whoever may see the run sees what it rejected.
        return request.user.has_perm("process_apis.view_migrationrun") or request.user.has_perm(
            "process_apis.change_migrationrun"
        )


@admin.register(MigrationRun)
class MigrationRunAdmin(NoEditing, admin.ModelAdmin):
    list_display = (
        "__str__",
        "state",
        "dry_run",
        "since",
        "chunk_size",
        "read",
        "sent",
        "created",
        "updated",
        "failed",
        "unmigratable",
        "progress",
        "started_at",
        "finished_at",
    )
    list_filter = ("state",)
    list_select_related = ("work",)
    show_full_result_count = False
    inlines = (MigrationRejectionInline,)
    fields = (
        ("state", "dry_run", "retry_of"),
        ("since", "chunk_size"),
        ("checkpoint", "job_id", "chunks", "progress"),
        ("read", "sent", "created", "updated", "failed", "unmigratable"),
        "error",
        ("created_at", "started_at", "finished_at"),
        ("work_state", "work_last_error"),
        "attempt_history",
    )
    # Everything shown is read-only: the run's record says what happened.
    readonly_fields = flatten(fields)

    @admin.display(description="Progress")
    def progress(self, run: MigrationRun) -> str:
        """Where the run is, from its own record: a retry knows how many customers it has, a full pass does not."""
        if run.retry_of_id is not None:
            return f"{run.read} of {len(run.only_customers)} customers retried"
        if not run.chunks:
            return "not started" if run.active else "no chunk read"
        chunks = f"{run.chunks} chunk{'' if run.chunks == 1 else 's'}"
        return f"{chunks}, through customer {run.checkpoint}"

    @admin.display(description="Work state")
    def work_state(self, run: MigrationRun) -> str:
        return f"{run.work.state} after {run.work.attempts} attempt{'' if run.work.attempts == 1 else 's'}"

    @admin.display(description="Last error of the work")
    def work_last_error(self, run: MigrationRun) -> str:
        return run.work.last_error or EMPTY

    @admin.display(description="Attempts history")
    def attempt_history(self, run: MigrationRun) -> str | SafeString:
        return attempt_table(run.work.history.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[MigrationRun]:
        return super().get_queryset(request).select_related("work")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("process_apis.change_migrationrun")

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path("start/", self.admin_site.admin_view(self.start_view), name=f"{name}_start"),
            path("<path:object_id>/stop/", self.admin_site.admin_view(self.stop_view), name=f"{name}_stop"),
            path(
                "<path:object_id>/retry-rejected/",
                self.admin_site.admin_view(self.retry_view),
                name=f"{name}_retry_rejected",
            ),
        ]
        # Before the defaults: their `<path:object_id>/` would swallow these.
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_operate": self.has_operate_permission(request)}
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        run = self.get_object(request, unquote(object_id))
        open_rejections = run is not None and run.rejections.filter(retried=False).exists()
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
            "can_stop": run is not None and run.active,
            "can_retry": run is not None and not run.active and open_rejections,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        form = MigrationRunStartForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                run = migration_run_start(**form.cleaned_data)
            except ApplicationError as exc:
                self.message_user(request, f"No run started: {exc.message}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:process_apis_migrationrun_changelist"))
            what = "Dry run" if run.dry_run else "Run"
            self.message_user(request, f"{what} {run.pk} started: it is queued for a worker.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:process_apis_migrationrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Start a migration run",
            "form": form,
        }
        return TemplateResponse(request, "admin/process_apis/migrationrun/start.html", context)

    def stop_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._operate(
            request,
            object_id,
            migration_run_stop,
            "Run {run.pk} stopped: the chunk in flight, if any, is still recorded.",
        )

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._operate(
            request, object_id, migration_rejections_retry, "Run {new.pk} started to retry the rejected customers."
        )

    def _operate(
        self, request: HttpRequest, object_id: str, operation: Callable[[MigrationRun], MigrationRun], success: str
    ) -> HttpResponse:
        """A run page's button: POST only, for who may change runs; a refusal is an error message on the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_operate_permission(request):
            raise PermissionDenied
        run = self.get_object(request, unquote(object_id))
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            new = operation(run)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:process_apis_migrationrun_change", args=[run.pk]))
        self.message_user(request, success.format(run=run, new=new), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:process_apis_migrationrun_change", args=[new.pk]))
