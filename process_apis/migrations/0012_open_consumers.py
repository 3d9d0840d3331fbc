from django.db import migrations, models

# The closed channels of before, as the consumers that brought those reports in name themselves now.
WEB = ("incident_form", "Web form", "web")
REST_V1 = ("incidents_v1", "REST API", "self-service")
PROCESS_API = ("process_rest", "Process API (REST)", "self-service")


def consumers_named(apps, schema_editor):
    IncidentRequest = apps.get_model("process_apis", "IncidentRequest")
    reports = IncidentRequest.objects.using(schema_editor.connection.alias)
    for consumer, filter_ in (
        (WEB, {"consumer": "web"}),
        (PROCESS_API, {"consumer": "api", "api_client_id__startswith": "staff:"}),
        (REST_V1, {"consumer": "api"}),
    ):
        name, label, contact_type = consumer
        reports.filter(**filter_).update(consumer=name, consumer_label=label, contact_type=contact_type)


def channels_again(apps, schema_editor):
    IncidentRequest = apps.get_model("process_apis", "IncidentRequest")
    reports = IncidentRequest.objects.using(schema_editor.connection.alias)
    reports.filter(consumer=WEB[0]).update(consumer="web")
    reports.exclude(consumer="web").update(consumer="api")


class Migration(migrations.Migration):
    dependencies = [("process_apis", "0011_customer_mail")]

    operations = [
        migrations.RenameField("incidentrequest", "channel", "consumer"),
        migrations.AlterField("incidentrequest", "consumer", models.CharField(max_length=40, editable=False)),
        migrations.AddField(
            "incidentrequest",
            "consumer_label",
            models.CharField(max_length=60, editable=False, default="", help_text="The consumer as people read it."),
            preserve_default=False,
        ),
        migrations.AddField(
            "incidentrequest",
            "contact_type",
            models.CharField(
                "ServiceNow contact type",
                max_length=40,
                editable=False,
                default="self-service",
                help_text="How the incident came to the service desk.",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(consumers_named, channels_again),
        migrations.AddField(
            "incidentrequest",
            "filed_by",
            models.CharField(
                max_length=200, blank=True, help_text="Who filed it on the customer's behalf (empty: the customer did)."
            ),
        ),
        migrations.AlterField(
            "incidentrequest",
            "api_client_id",
            models.CharField(
                "API client id",
                max_length=100,
                blank=True,
                db_index=True,
                editable=False,
                help_text="Who called the consumer: its API client, staff user or chat user.",
            ),
        ),
        migrations.AlterField("incidentrequest", "name", models.CharField(max_length=200, blank=True)),
        migrations.AlterField("incidentrequest", "description", models.TextField(max_length=4000, blank=True)),
    ]
