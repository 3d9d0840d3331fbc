from django.db import models


class Incident(models.Model):
    """A row of the stand-in's `incident` table; `fields` holds every column as ServiceNow's strings."""

    sys_id = models.CharField(max_length=32, unique=True)
    number = models.CharField(max_length=40, unique=True)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    fields = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number
