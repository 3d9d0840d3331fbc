from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .clients.services import api_client_set_active
from .models import ApiClient, IdempotencyRecord


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["__str__", "client_id", "tier", "active", "created_at"]
    list_filter = ["tier", "active"]
    search_fields = ["application__name", "application__client_id"]
    list_select_related = ["application"]
    fields = ["name", "client_id", "tier", "active", "created_at"]
    readonly_fields = ["name", "client_id", "created_at"]
    actions = ["disable_clients", "enable_clients"]

    @admin.display(description="Name")
    def name(self, client: ApiClient) -> str:
        return client.application.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A client's secret is shown once, by `manage.py create_api_client`.
        return False

    def save_model(self, request: HttpRequest, client: ApiClient, form: object, change: bool) -> None:
        super().save_model(request, client, form, change)
        if not client.active:
            api_client_set_active(client=client, active=False)

    @admin.action(description="Disable (and revoke their tokens)")
    def disable_clients(self, request: HttpRequest, clients: QuerySet[ApiClient]) -> None:
        for client in clients:
            api_client_set_active(client=client, active=False)
        self.message_user(request, f"{len(clients)} client(s) disabled; their tokens are revoked.", messages.SUCCESS)

    @admin.action(description="Enable")
    def enable_clients(self, request: HttpRequest, clients: QuerySet[ApiClient]) -> None:
        for client in clients:
            api_client_set_active(client=client, active=True)
        self.message_user(request, f"{len(clients)} client(s) enabled.", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """Read-only: records are written by the intake and expire on their own."""

    list_display = ["key", "scope", "state", "response_status", "created_at", "expires_at"]
    list_filter = ["state", "response_status"]
    search_fields = ["key", "scope", "response_location"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IdempotencyRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IdempotencyRecord | None = None) -> bool:
        return False
