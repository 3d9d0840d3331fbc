from django.db import models


class Incident(models.Model):
    """A row of the stand-in's `incident` table; `fields` holds every column as ServiceNow's strings.

    `sys_updated_on` and `sys_mod_count` are copied out of `fields` into columns of their own, so that a
    poller's `sys_updated_on>=...^ORDERBYsys_updated_on` is an indexed range and counts order as numbers.
    """

    sys_id = models.CharField(max_length=32, unique=True)
    number = models.CharField(max_length=40, unique=True)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    # "YYYY-MM-DD HH:MM:SS" in UTC, as in `fields`: as text it sorts and compares as the time it names.
    sys_updated_on = models.CharField(max_length=19, blank=True, db_index=True)
    sys_mod_count = models.PositiveIntegerField(default=0)
    fields = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number
