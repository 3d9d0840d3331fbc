from django.db import models


class ReceivedMail(models.Model):
    """A mail the sandbox's SMTP server accepted: the customer's mailbox of `make run`."""

    mail_from = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    raw = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.subject} to {', '.join(self.to)}"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "from": self.mail_from,
            "to": self.to,
            "subject": self.subject,
            "message_id": self.message_id,
            "text": self.text,
            "html": self.html,
            "received_at": self.received_at.isoformat(),
        }
