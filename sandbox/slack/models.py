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


class SlashCommand(models.Model):
    """One `/incident` a user typed: the fields Slack posted to the app, and the response_url it came with."""

    team_id = models.CharField(max_length=20)
    channel_id = models.CharField(max_length=20)
    channel_name = models.CharField(max_length=80)
    user_id = models.CharField(max_length=20)
    user_name = models.CharField(max_length=80)
    command = models.CharField(max_length=32)
    text = models.TextField(blank=True)
    trigger_id = models.CharField(max_length=80)
    # The form-encoded body exactly as sent: a retry sends these bytes again.
    body = models.TextField()
    response_token = models.CharField(max_length=40, unique=True)
    response_url_uses = models.PositiveSmallIntegerField(default=0)
    retries = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.command} {self.text}"


class Trigger(models.Model):
    """A trigger_id handed to the app with a command or a submission: good for one views.open within 3 seconds."""

    trigger_id = models.CharField(max_length=80, unique=True)
    user_id = models.CharField(max_length=20)
    user_name = models.CharField(max_length=80)
    command = models.ForeignKey(SlashCommand, null=True, blank=True, on_delete=models.CASCADE, related_name="triggers")
    issued_at = models.DateTimeField()
    exchanged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.trigger_id


class Modal(models.Model):
    """A view the app opened (views.open) or pushed, as the user sees it: open until submitted, cleared or closed."""

    view_id = models.CharField(max_length=20, unique=True)
    user_id = models.CharField(max_length=20)
    user_name = models.CharField(max_length=80)
    command = models.ForeignKey(SlashCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="modals")
    # The view object as views.open answered it (block_id and action_id filled in where the app left them out).
    view = models.JSONField()
    hash = models.CharField(max_length=40)
    root_view_id = models.CharField(max_length=20)
    previous_view_id = models.CharField(max_length=20, blank=True)
    # What the user last entered, block_id -> value, so that a modal kept open shows it again.
    entered = models.JSONField(default=dict, blank=True)
    # block_id -> the message shown under that block (the app's response_action "errors", or the client's own).
    errors = models.JSONField(default=dict, blank=True)
    # A message over the whole modal, as Slack shows when the app's answer could not be used.
    problem = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.view_id

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AppAnswer(models.Model):
    """What the app said back to Slack: its answer to a command, to a modal's submission or close, or a message it
    posted to a command's response_url."""

    COMMAND = "command"
    RESPONSE_URL = "response_url"
    VIEW_SUBMISSION = "view_submission"
    VIEW_CLOSED = "view_closed"
    KINDS = (COMMAND, RESPONSE_URL, VIEW_SUBMISSION, VIEW_CLOSED)

    kind = models.CharField(max_length=20, choices=[(kind, kind) for kind in KINDS])
    command = models.ForeignKey(SlashCommand, null=True, blank=True, on_delete=models.CASCADE, related_name="answers")
    modal = models.ForeignKey(Modal, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    retry_num = models.PositiveSmallIntegerField(default=0)
    # The HTTP status of the app's answer, or for a response_url post the status the sandbox answered it with.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # "ok", or what went wrong as Slack names it (operation_timeout, dispatch_failed, 500_service_error, used_url...).
    outcome = models.CharField(max_length=60)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=120, blank=True)
    body = models.TextField(blank=True)
    # The message as the user sees it: response_type, text, blocks (and replace_original/delete_original on a
    # response_url), or for a submission the response_action taken.
    message = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome}"
