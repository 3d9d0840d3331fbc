from django.db import models


class Contact(models.Model):
    sf_id = models.CharField(max_length=18, unique=True)
    first_name = models.CharField(max_length=40, blank=True)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    account_id = models.CharField(max_length=18, blank=True)
    account_name = models.CharField(max_length=255, blank=True)
    # Salesforce's CreatedDate and LastModifiedDate: set by the platform, never by the caller.
    created_date = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"


class AccessToken(models.Model):
    token = models.CharField(max_length=200, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"token issued {self.issued_at:%Y-%m-%d %H:%M:%S}"


class QueryCursor(models.Model):
    """What a `nextRecordsUrl` locator points back to: the query and where its next batch starts."""

    locator = models.CharField(max_length=40, unique=True)
    soql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.locator
