from django.db import models

# What a receiver reads of a Standard Webhooks message, besides its body.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")


class ReceivedWebhook(models.Model):
    """A webhook message a client's server would have received: its headers and body as they came."""

    receiver = models.CharField(max_length=100, help_text="The last part of the URL it was sent to.")
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.headers.get('webhook-id', '?')} to {self.receiver}"

    @property
    def message_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def signature(self) -> str:
        return self.headers.get("webhook-signature", "")

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "receiver": self.receiver,
            "headers": self.headers,
            "body": self.body,
            "received_at": self.received_at.isoformat(),
        }
