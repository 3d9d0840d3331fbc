# TracedCall moved to the operations app: only Django's state changes here; the table and its rows stay,
# taken over by operations' 0001_initial.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('process_apis', '0005_traced_calls'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='TracedCall')],
            database_operations=[],
        ),
    ]
