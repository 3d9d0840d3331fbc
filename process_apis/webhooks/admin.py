"""Staff's view of client webhooks: register an endpoint for a client, deactivate one, follow each delivery's
attempts and retry a failed one. A delivery is read-only (it says what was sent); an endpoint's secret is shown
once, when it is made."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kernel.admin import NoEditing
from kernel.errors import ApplicationError

from ..delivery_admin import EMPTY, DeliveryStateFilter, DeliveryWorkColumns
from .models import EventType, WebhookDelivery, WebhookEndpoint
from .services import InvalidWebhookError, webhook_delivery_retry, webhook_secret_new, webhook_url_check


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, initial=[c.value for c in EventType]
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("api_client_id", "url", "description", "event_types", "active")
        help_texts = {"api_client_id": "The client_id of the API client whose reports it hears of."}

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhook_url_check(url)
        except InvalidWebhookError as exc:
            raise forms.ValidationError(exc.message) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "api_client_id", "active", "event_types_display", "disabled_reason", "created_at")
    list_filter = ("active",)
    search_fields = ("=api_client_id", "url")
    search_help_text = "An API client's client_id, or part of a URL."
    readonly_fields = ("disabled_reason", "deleted_at", "created_at", "updated_at")
    actions = ("deactivate",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its deliveries' history keeps it; deactivate it instead

    @admin.display(description="Event types")
    def event_types_display(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types) or EMPTY

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.secret = webhook_secret_new()
        elif "active" in form.changed_data and obj.active:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                f"The signing secret of this webhook, shown this once: give it to the client. {obj.secret}",
                messages.WARNING,
            )

    @admin.action(description="Deactivate the selected webhooks", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = queryset.filter(active=True).update(active=False, disabled_reason=f"Deactivated by {request.user}.")
        self.message_user(request, f"Deactivated {count} webhook{'' if count == 1 else 's'}.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeliveryWorkColumns, NoEditing, admin.ModelAdmin):
    list_display = (
        "message_id",
        "request_reference",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "response_status",
        "last_error",
        "delivered_at",
        "created_at",
    )
    list_filter = (DeliveryStateFilter, "event_type")
    search_fields = ("=request__reference", "=message_id", "=endpoint__api_client_id")
    search_help_text = "A report's reference, a message id (msg_...) or a client_id."
    list_select_related = ("request", "work", "endpoint")
    show_full_result_count = False
    actions = ("retry_failed",)
    fields = readonly_fields = (
        "message_id",
        "request_reference",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "response_status",
        "response_excerpt",
        "delivered_at",
        "created_at",
        "payload_display",
        "attempt_history",
    )

    @admin.display(description="Report", ordering="request__reference")
    def request_reference(self, delivery: WebhookDelivery) -> SafeString:
        url = reverse("admin:process_apis_incidentrequest_change", args=[delivery.request_id])
        return format_html('<a href="{}">{}</a>', url, delivery.request.reference)

    @admin.display(description="Next attempt at")
    def next_attempt_at(self, delivery: WebhookDelivery) -> Any:
        return delivery.work.next_attempt_at

    @admin.display(description="Last error")
    def last_error(self, delivery: WebhookDelivery) -> str:
        return super().last_error(delivery) or EMPTY

    @admin.display(description="Payload")
    def payload_display(self, delivery: WebhookDelivery) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2, ensure_ascii=False))

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("process_apis.change_webhookdelivery")

    @admin.action(description="Retry failed deliveries", permissions=["operate"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = []
        for delivery in queryset.order_by("pk"):
            try:
                webhook_delivery_retry(delivery_id=delivery.pk)
            except ApplicationError as exc:
                self.message_user(request, f"Skipped {delivery.message_id}: {exc.message}", messages.WARNING)
            else:
                queued.append(delivery.message_id)
        level = messages.SUCCESS if queued else messages.WARNING
        self.message_user(request, f"Queued {len(queued)} for retrying: {', '.join(queued) or 'none'}.", level)
