"""Consumer state of the Slack command: the answers still owed to someone in Slack."""

from django.db import models

from kernel.models import Work


class SlackAnswer(models.Model):
    """The full answer to a command or a modal, owed through its `response_url` once the report's ServiceNow
    incident exists; sent by its own durable work, so a restart of the web process loses nothing."""

    reference = models.CharField(max_length=13)
    response_url = models.URLField(max_length=500)
    # When to stop waiting for the incident and say where the report stands (a response_url lasts 30 minutes).
    reply_by = models.DateTimeField()
    work = models.OneToOneField(Work, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "experience_apis"
        # One answer per report and reply URL: a retried command does not owe a second.
        constraints = [models.UniqueConstraint(fields=["reference", "response_url"], name="slack_answer_once")]

    def __str__(self) -> str:
        return f"Slack answer for {self.reference}"
