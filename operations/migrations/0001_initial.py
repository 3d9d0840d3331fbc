# TracedCall as it was in process_apis (0005_traced_calls), taken over with its table: no SQL runs here.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('process_apis', '0006_move_traced_calls_to_operations'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='TracedCall',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('trace_id', models.CharField(db_index=True, help_text='The OpenTelemetry trace (32 hex).', max_length=32)),
                        ('span_id', models.CharField(max_length=16)),
                        ('parent_span_id', models.CharField(blank=True, max_length=16)),
                        ('correlation_id', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('reference', models.CharField(blank=True, db_index=True, max_length=20)),
                        ('layer', models.CharField(choices=[('experience', 'Experience'), ('process', 'Process'), ('system', 'System')], max_length=10)),
                        ('api', models.CharField(help_text='e.g. customer-incidents, servicenow, incidents-v1.', max_length=40)),
                        ('operation', models.CharField(max_length=60)),
                        ('system', models.CharField(blank=True, help_text='The system of record called, if any.', max_length=40)),
                        ('outcome', models.CharField(help_text='ok, an HTTP status, timeout, unreachable, circuit-open...', max_length=40)),
                        ('ok', models.BooleanField()),
                        ('attempt', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('started_at', models.DateTimeField()),
                        ('duration_ms', models.FloatField()),
                    ],
                    options={
                        'verbose_name': 'traced call',
                        'ordering': ['started_at', 'id'],
                        'db_table': 'process_apis_tracedcall',
                        'indexes': [models.Index(fields=['layer', 'api', 'started_at'], name='traced_call_api_recent')],
                    },
                ),
            ],
        ),
    ]
