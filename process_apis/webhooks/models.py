"""Client webhooks: the URLs a REST client registered, and each message sent to one of them."""

from __future__ import annotations

from django.db import models

from ..models import SentByWork


class EventType(models.TextChoices):
    CREATED = "incident.created", "The report's ServiceNow incident was created"
    UPDATED = "incident.updated", "ServiceNow changed the incident"
    RESOLVED = "incident.resolved", "The incident was resolved or closed"


ALL_EVENT_TYPES = [choice.value for choice in EventType]


def all_event_types() -> list[str]:
    return list(ALL_EVENT_TYPES)


class WebhookEndpoint(models.Model):
    """Where a REST client wants to hear about its own reports."""

    api_client_id = models.CharField("API client id", max_length=100, db_index=True)
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Shown once, when made; kept as it is since every message is signed with it.
    secret = models.CharField(max_length=120, editable=False)
    event_types = models.JSONField(default=all_event_types, help_text="The event types it receives.")
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Deleted by its client: kept for its deliveries' history, never sent to again.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "process_apis"
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.url} ({self.api_client_id})"

    def receives(self, event_type: str) -> bool:
        return self.active and self.deleted_at is None and event_type in self.event_types


class WebhookDelivery(SentByWork):
    """One message (one piece of news) to one endpoint; its attempts are its work's."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    request = models.ForeignKey("process_apis.IncidentRequest", on_delete=models.CASCADE, related_name="+")
    # The news it announces: one message per endpoint and piece of news.
    event = models.ForeignKey("process_apis.IncidentEvent", on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    message_id = models.CharField(max_length=40, unique=True, editable=False, help_text="webhook-id: msg_...")
    payload = models.JSONField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The last answer's status.")
    response_excerpt = models.CharField(max_length=200, blank=True, help_text="The start of the last answer.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "process_apis"
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="one_webhook_per_endpoint_and_news")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
