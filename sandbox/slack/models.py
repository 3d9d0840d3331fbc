from django.db import models


class Message(models.Model):
    channel_id = models.CharField(max_length=20)
    ts = models.CharField(max_length=20)
    thread_ts = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)
    blocks = models.JSONField(default=list, blank=True)
    posted_at = models.DateTimeField(auto_now_add=True)
    # When chat.update last changed it.
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["channel_id", "ts"], name="slack_message_unique_ts")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.ts}"
