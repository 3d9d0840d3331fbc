"""The ServiceNow sync and the Slack deliveries become work of `kernel.work`: their schedule, claim, attempts and
last error move from the report and the delivery to one Work row each (and the attempts log to WorkAttempt)."""

import django.db.models.deletion
from django.db import migrations, models

SYNC_STATE = {"created": "done", "failed": "failed"}
DELIVERY_STATE = {"pending": "pending", "sending": "running", "retrying": "retrying", "sent": "done", "failed": "failed"}


def to_work(apps, schema_editor):
    Work = apps.get_model("kernel", "Work")
    WorkAttempt = apps.get_model("kernel", "WorkAttempt")
    IncidentRequest = apps.get_model("process_apis", "IncidentRequest")
    NotificationDelivery = apps.get_model("process_apis", "NotificationDelivery")
    NotificationAttempt = apps.get_model("process_apis", "NotificationAttempt")
    for report in IncidentRequest.objects.all().iterator():
        if report.sync_state in SYNC_STATE:
            state = SYNC_STATE[report.sync_state]
        elif report.sync_claimed_at is not None:
            state = "running"
        else:
            state = "retrying" if report.next_sync_at is not None else "pending"
        report.sync_work = Work.objects.create(
            kind="servicenow_sync",
            subject=report.reference,
            trace_id=report.trace_id,
            state=state,
            attempts=report.sync_attempts,
            next_attempt_at=report.next_sync_at if state in ("pending", "retrying") else None,
            claimed_at=report.sync_claimed_at if state == "running" else None,
            claim=1 if state == "running" else 0,
            last_error=report.sync_error,
        )
        report.save(update_fields=["sync_work"])
    for delivery in NotificationDelivery.objects.select_related("request").iterator():
        state = DELIVERY_STATE.get(delivery.state, "pending")
        delivery.work = Work.objects.create(
            kind="notification",
            subject=delivery.request.reference,
            trace_id=delivery.request.trace_id,
            state=state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            claimed_at=delivery.claimed_at if state == "running" else None,
            claim=1 if state == "running" else 0,
            last_error=delivery.last_error,
        )
        delivery.save(update_fields=["work"])
        for attempt in NotificationAttempt.objects.filter(delivery=delivery).order_by("at", "id"):
            outcome = "done" if attempt.outcome == "sent" else attempt.outcome
            moved = WorkAttempt.objects.create(
                work=delivery.work,
                number=attempt.number,
                outcome=outcome,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
            WorkAttempt.objects.filter(pk=moved.pk).update(at=attempt.at)  # `at` is set on create


class Migration(migrations.Migration):
    dependencies = [
        ("kernel", "0001_initial"),
        ("process_apis", "0006_move_traced_calls_to_operations"),
    ]

    operations = [
        migrations.AddField(
            model_name="incidentrequest",
            name="sync_work",
            field=models.OneToOneField(
                null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="kernel.work"
            ),
        ),
        migrations.AddField(
            model_name="notificationdelivery",
            name="work",
            field=models.OneToOneField(
                null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="kernel.work"
            ),
        ),
        migrations.RunPython(to_work, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="incidentrequest", name="next_sync_at"),
        migrations.RemoveField(model_name="incidentrequest", name="sync_attempts"),
        migrations.RemoveField(model_name="incidentrequest", name="sync_claimed_at"),
        migrations.RemoveField(model_name="incidentrequest", name="sync_error"),
        migrations.RemoveField(model_name="notificationdelivery", name="attempts"),
        migrations.RemoveField(model_name="notificationdelivery", name="claimed_at"),
        migrations.RemoveField(model_name="notificationdelivery", name="last_error"),
        migrations.RemoveField(model_name="notificationdelivery", name="next_attempt_at"),
        migrations.RemoveField(model_name="notificationdelivery", name="state"),
        migrations.DeleteModel(name="NotificationAttempt"),
        migrations.AlterField(
            model_name="incidentrequest",
            name="sync_work",
            field=models.OneToOneField(
                editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="kernel.work"
            ),
        ),
        migrations.AlterField(
            model_name="notificationdelivery",
            name="work",
            field=models.OneToOneField(
                editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="kernel.work"
            ),
        ),
    ]
