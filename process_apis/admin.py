"""Staff's view of every report: what was submitted, who the customer is, what ServiceNow and Slack got.

Read-only on purpose: a record says what was sent, so editing it here would lie. Staff act through
the Process APIs instead (re-send a failed notification, refresh the state from ServiceNow), as
changelist actions and as buttons on a report's page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from kernel.admin import NoEditing
from kernel.errors import ApplicationError

from .customer_incidents.references import normalize_reference
from .customer_incidents.services import incident_refresh_state, incident_retry_sync
from .customers.types import sources_text
from .delivery_admin import EMPTY, DeliveryStateFilter, DeliveryWorkColumns, attempt_table
from .models import WORK_STATE, CustomerMail, IncidentEvent, IncidentRequest, NotificationDelivery
from .notifications.services import notification_resend
from .service_incidents.types import priority_text


def _plain(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or EMPTY
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(v, dict) and set(v) == {"from", "to"} for v in value.values())
    ):
        # What a change moved, e.g. "state New → Resolved; close_code — → Solution provided".
        return "; ".join(f"{name} {_plain(moved['from'])} → {_plain(moved['to'])}" for name, moved in value.items())
    return str(value)


def _queue_resends(
    model_admin: admin.ModelAdmin, request: HttpRequest, deliveries: Iterable[NotificationDelivery]
) -> None:
    """Re-send what failed; say what was queued and, for everything else, why it was skipped."""
    queued: list[str] = []
    for delivery in deliveries:
        try:
            notification_resend(delivery_id=delivery.pk)
        except ApplicationError as exc:
            model_admin.message_user(request, f"Skipped {delivery.request.reference}: {exc.message}", messages.WARNING)
        else:
            queued.append(delivery.request.reference)
    count = f"{len(queued)} notification{'' if len(queued) == 1 else 's'}"
    if queued:
        model_admin.message_user(request, f"Queued {count} for re-sending: {', '.join(queued)}.", messages.SUCCESS)
    else:
        model_admin.message_user(request, "Queued 0 notifications for re-sending.", messages.WARNING)


def _refresh_states(model_admin: admin.ModelAdmin, request: HttpRequest, reports: Iterable[IncidentRequest]) -> None:
    """Ask ServiceNow for each report's state; a ServiceNow failure is a message, never an error page."""
    for report in reports:
        was_created = report.sync_state == IncidentRequest.SyncState.CREATED
        before = report.servicenow_state_label
        try:
            # Staff asking means "now": a report not yet in ServiceNow gets its create retried at once.
            report = incident_refresh_state(request=report) if was_created else incident_retry_sync(request=report)
        except ApplicationError as exc:
            model_admin.message_user(request, f"{report.reference}: {exc.message}", messages.ERROR)
            continue
        level = messages.SUCCESS
        if report.sync_state != IncidentRequest.SyncState.CREATED:
            text, level = f"still not in ServiceNow: {report.sync_work.last_error}", messages.ERROR
        elif not was_created:
            text = f"now linked to {report.servicenow_number} ({report.servicenow_state_label})."
        elif report.servicenow_state_label != before:
            text = f"{report.servicenow_state_label} in ServiceNow (was {before})."
        else:
            text = f"unchanged, {report.servicenow_state_label}."
        model_admin.message_user(request, f"{report.reference}: {text}", level)


def _search_reference_too(queryset: QuerySet, searched: QuerySet, search_term: str, field: str) -> QuerySet:
    """A reference as a person types it (lower case, O for 0) finds the report as well."""
    reference = normalize_reference(search_term) if search_term.strip() else None
    if reference is None:
        return searched
    return searched | queryset.filter(**{field: reference})


class ReadOnlyAdminMixin(NoEditing):
    """Read-only; `operate` is the right to run the actions."""

    def has_operate_permission(self, request: HttpRequest) -> bool:
        opts = self.opts  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class ReportPartInline(NoEditing, admin.options.InlineModelAdmin):
    """Part of a report's record: shown to whoever may see the report, never edited."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("process_apis.view_incidentrequest") or request.user.has_perm(
            "process_apis.change_incidentrequest"
        )


class NotificationColumns(DeliveryWorkColumns):
    """A Slack delivery's columns, and what it announces."""

    @admin.display(description="Announces")
    def announces(self, delivery: NotificationDelivery) -> str:
        """What a thread reply tells: the change it announces, as from -> to."""
        if delivery.event is None:
            return "The new incident" if delivery.kind == NotificationDelivery.NEW_INCIDENT else EMPTY
        changes = delivery.event.detail.get("changes", {})
        return "; ".join(f"{name}: {_plain(c.get('from'))} → {_plain(c.get('to'))}" for name, c in changes.items())


class NotificationDeliveryInline(NotificationColumns, ReportPartInline, admin.StackedInline):
    model = NotificationDelivery
    verbose_name = "notification delivery"
    fields = readonly_fields = (
        "kind",
        "announces",
        "channel",
        "state",
        "attempts",
        "last_error",
        "slack_channel_id",
        "slack_ts",
        "sent_at",
        "attempt_history",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationDelivery]:
        return super().get_queryset(request).select_related("work", "event").prefetch_related("work__history")


class CustomerMailInline(DeliveryWorkColumns, ReportPartInline, admin.StackedInline):
    model = CustomerMail
    verbose_name = "customer e-mail"
    verbose_name_plural = "customer e-mails"
    fields = readonly_fields = (
        "kind",
        "to",
        "state",
        "attempts",
        "last_error",
        "message_id",
        "sent_at",
        "attempt_history",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerMail]:
        return super().get_queryset(request).select_related("work").prefetch_related("work__history")


class IncidentEventInline(ReportPartInline, admin.TabularInline):
    model = IncidentEvent
    verbose_name = "event"
    verbose_name_plural = "events timeline"
    fields = readonly_fields = ("at", "kind", "details")

    @admin.display(description="Detail")
    def details(self, event: IncidentEvent) -> str | SafeString:
        if not event.detail:
            return EMPTY
        # Spans, not a list: the tabular inline puts a read-only value inside a <p>.
        return format_html_join(
            "", '<span class="event-detail">{}: {}</span><br>', ((k, _plain(v)) for k, v in event.detail.items())
        )


class ServiceNowStateFilter(admin.SimpleListFilter):
    title = "ServiceNow state"
    parameter_name = "servicenow_state"
    NONE = "none"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # The states our reports are in, with ServiceNow's own labels as they were stored.
        seen = (
            IncidentRequest.objects.exclude(servicenow_state=None)
            .values_list("servicenow_state", "servicenow_state_label")
            .order_by("servicenow_state")
            .distinct()
        )
        labels = [(str(code), label or str(code)) for code, label in dict(seen).items()]
        return [*labels, (self.NONE, "Not in ServiceNow yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IncidentRequest]) -> QuerySet[IncidentRequest]:
        value = self.value()
        if value == self.NONE:
            return queryset.filter(servicenow_state=None)
        if value and value.isdigit():
            return queryset.filter(servicenow_state=int(value))
        return queryset


class NotificationStateFilter(admin.SimpleListFilter):
    title = "notification state"
    parameter_name = "notification_state"
    NONE = "none"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [*NotificationDelivery.State.choices, (self.NONE, "No notification")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IncidentRequest]) -> QuerySet[IncidentRequest]:
        value = self.value()
        deliveries = NotificationDelivery.objects.filter(request=OuterRef("pk"))
        if value == self.NONE:
            return queryset.filter(~Exists(deliveries))
        if value in NotificationDelivery.State.values:
            # Exists rather than a join over notifications: one row per report, however many notices.
            return queryset.filter(Exists(deliveries.filter(work__state=WORK_STATE[value])))
        return queryset


@admin.register(IncidentRequest)
class IncidentRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "created_at",
        "email",
        "category",
        "urgency",
        "consumer_label",
        "servicenow_link",
        "servicenow_state_label",
        "sync_state",
        "notification_state",
    )
    search_fields = ("=reference", "email", "=servicenow_number")
    search_help_text = "Reference, email (or part of it) or ServiceNow number."
    list_filter = (
        "sync_state",
        ServiceNowStateFilter,
        "category",
        "urgency",
        "consumer_label",
        NotificationStateFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ("resend_failed_notifications", "refresh_from_servicenow")
    inlines = (NotificationDeliveryInline, CustomerMailInline, IncidentEventInline)
    change_form_template = "admin/process_apis/incidentrequest/change_form.html"
    fieldsets = (
        (
            "The report as submitted",
            {
                "fields": (
                    ("reference", "created_at", "updated_at"),
                    ("consumer_label", "api_client_id", "trace_id"),
                    ("name", "email", "order_number", "filed_by"),
                    ("category", "urgency", "impact"),
                    "short_description",
                    "description",
                )
            },
        ),
        ("The customer as merged from its sources", {"fields": ("customer_merged",)}),
        (
            "The ServiceNow incident",
            {
                "fields": (
                    ("servicenow_link", "servicenow_sys_id_display"),
                    ("servicenow_state_display", "servicenow_priority_display"),
                    ("servicenow_updated_at", "servicenow_mod_count", "servicenow_assigned_to"),
                    ("servicenow_close_code", "servicenow_close_notes"),
                    ("sync_state", "sync_error"),
                    "sync_history",
                )
            },
        ),
    )
    # Everything shown is read-only: the record says what was sent.
    readonly_fields = flatten_fieldsets(fieldsets)
    list_select_related = ("sync_work",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentRequest]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("notifications", queryset=NotificationDelivery.objects.select_related("work")))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[IncidentRequest], search_term: str
    ) -> tuple[QuerySet[IncidentRequest], bool]:
        searched, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return _search_reference_too(queryset, searched, search_term, "reference"), may_have_duplicates

    @admin.display(description="Attempts history")
    def sync_history(self, report: IncidentRequest) -> str | SafeString:
        return attempt_table(report.sync_work.history.all())

    @admin.display(description="Sync error")
    def sync_error(self, report: IncidentRequest) -> str:
        return report.sync_work.last_error

    @admin.display(description="ServiceNow", ordering="servicenow_number")
    def servicenow_link(self, report: IncidentRequest) -> str | SafeString:
        if not report.servicenow_number:
            return EMPTY
        # The URL comes from ServiceNow's answer: only a web address becomes a link, never `javascript:`.
        if not report.servicenow_url.startswith(("https://", "http://")):
            return report.servicenow_number
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            report.servicenow_url,
            report.servicenow_number,
        )

    @admin.display(description="sys_id")
    def servicenow_sys_id_display(self, report: IncidentRequest) -> str:
        return report.servicenow_sys_id or EMPTY

    @admin.display(description="ServiceNow state")
    def servicenow_state_display(self, report: IncidentRequest) -> str:
        if report.servicenow_state is None:
            return EMPTY
        return f"{report.servicenow_state_label} ({report.servicenow_state})"

    @admin.display(description="Priority")
    def servicenow_priority_display(self, report: IncidentRequest) -> str:
        return priority_text(report.servicenow_priority) or EMPTY

    @admin.display(description="Notification")
    def notification_state(self, report: IncidentRequest) -> str:
        deliveries = report.notifications.all()
        shown = ", ".join(d.get_state_display() for d in deliveries if d.kind == NotificationDelivery.NEW_INCIDENT)
        replies = [d for d in deliveries if d.kind == NotificationDelivery.STATE_CHANGE]
        if replies:
            sent = sum(d.state == NotificationDelivery.State.SENT for d in replies)
            shown += f" · {len(replies)} thread repl{'y' if len(replies) == 1 else 'ies'} ({sent} sent)"
        return shown.strip(" ·") or EMPTY

    @admin.display(description="Customer")
    def customer_merged(self, report: IncidentRequest) -> str | SafeString:
        customer = report.merged_customer
        if customer.is_new:
            found = "nowhere: a new customer"
        else:
            found = customer.found_in_text or "nowhere"
        rows = [
            ("Name", customer.display_name),
            ("Email", customer.email),
            ("Phone", customer.phone),
            ("Account", customer.account_name),
            ("Customer since", customer.customer_since),
            ("Legacy customer number", customer.legacy_customer_number),
            ("Legacy account status", customer.legacy_account_status),
            ("Salesforce contact id", customer.salesforce_contact_id),
            ("Salesforce account id", customer.salesforce_account_id),
            ("Found in", found),
            ("Unavailable", sources_text(customer.unavailable, customer.source_errors) or "none"),
        ]
        return format_html(
            '<table class="merged-customer"><tbody>{}</tbody></table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, _plain(v)) for k, v in rows)),
        )

    @admin.action(description="Re-send failed notification", permissions=["operate"])
    def resend_failed_notifications(self, request: HttpRequest, queryset: QuerySet[IncidentRequest]) -> None:
        reports = list(queryset)
        deliveries = list(
            NotificationDelivery.objects.filter(request__in=reports).select_related("request").order_by("pk")
        )
        with_delivery = {delivery.request_id for delivery in deliveries}
        for report in reports:
            if report.pk not in with_delivery:
                self.message_user(
                    request, f"Skipped {report.reference}: it has no notification (yet).", messages.WARNING
                )
        _queue_resends(self, request, deliveries)

    @admin.action(description="Refresh state from ServiceNow", permissions=["operate"])
    def refresh_from_servicenow(self, request: HttpRequest, queryset: QuerySet[IncidentRequest]) -> None:
        _refresh_states(self, request, queryset)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path(
                "<path:object_id>/resend-notification/",
                self.admin_site.admin_view(self.resend_view),
                name=f"{name}_resend_notification",
            ),
            path(
                "<path:object_id>/refresh-state/",
                self.admin_site.admin_view(self.refresh_view),
                name=f"{name}_refresh_state",
            ),
        ]
        # Before the defaults: their `<path:object_id>/` would swallow these.
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        failed = NotificationDelivery.objects.filter(
            request_id=object_id if str(object_id).isdigit() else None, work__state=WORK_STATE["failed"]
        )
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
            "has_failed_notification": failed.exists(),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._operate(request, object_id, self.resend_failed_notifications)

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._operate(request, object_id, self.refresh_from_servicenow)

    def _operate(self, request: HttpRequest, object_id: str, action: Callable[..., None]) -> HttpResponse:
        """A report page's button: POST only, for who may operate; runs the changelist `action` on this report."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_operate_permission(request):
            raise PermissionDenied
        report = self.get_object(request, unquote(object_id))
        if report is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        action(request, IncidentRequest.objects.filter(pk=report.pk))
        return HttpResponseRedirect(reverse("admin:process_apis_incidentrequest_change", args=[report.pk]))


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(NotificationColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "request_reference",
        "kind",
        "channel",
        "state",
        "attempts",
        "last_error",
        "slack_channel_id",
        "slack_ts",
        "sent_at",
        "created_at",
    )
    list_filter = (DeliveryStateFilter, "kind", "channel")
    search_fields = ("=request__reference",)
    search_help_text = "Reference of the report."
    list_select_related = ("request", "work", "event")
    show_full_result_count = False
    actions = ("resend_failed_notifications",)
    fields = readonly_fields = (
        "request_reference",
        "kind",
        "announces",
        "channel",
        "state",
        "attempts",
        "last_error",
        "claimed_at",
        "slack_channel_id",
        "slack_ts",
        "sent_at",
        "created_at",
        "updated_at",
        "attempt_history",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NotificationDelivery], search_term: str
    ) -> tuple[QuerySet[NotificationDelivery], bool]:
        searched, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return _search_reference_too(queryset, searched, search_term, "request__reference"), may_have_duplicates

    @admin.display(description="Report", ordering="request__reference")
    def request_reference(self, delivery: NotificationDelivery) -> SafeString:
        url = reverse("admin:process_apis_incidentrequest_change", args=[delivery.request_id])
        return format_html('<a href="{}">{}</a>', url, delivery.request.reference)

    @admin.action(description="Re-send failed notification", permissions=["operate"])
    def resend_failed_notifications(self, request: HttpRequest, queryset: QuerySet[NotificationDelivery]) -> None:
        _queue_resends(self, request, queryset.select_related("request").order_by("pk"))


# Legacy-customer migration runs (process_apis.customer_migration); client webhooks, their endpoints and deliveries
# (process_apis.webhooks).
from .customer_migration import admin as customer_migration_admin  # noqa: E402, F401
from .webhooks import admin as webhooks_admin  # noqa: E402, F401
