from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from kernel.admin import NoEditing

from .clients.services import api_client_create, api_client_set_active
from .idempotency.form_tokens import form_token_issue, form_token_nonce
from .idempotency.services import ClaimOutcome, StoredResponse, idempotency_claim, idempotency_run
from .models import CLIENT_SCOPES, ApiClient, IdempotencyRecord

# The add form's one-time token: a reload of the page that shows a new secret (which sends the form again)
# shows that client, without its secret, instead of making a second one.
ADD_TOKEN_FIELD = "add_token"  # noqa: S105 - a form field name
_ADD_TOKEN_SALT = "experience_apis.api_client_add"  # noqa: S105 - a signing salt, not a secret


class ApiClientCreateForm(forms.Form):
    name = forms.CharField(
        max_length=255, help_text="Who uses it, e.g. the partner's or the app's name. Shown in the admin only."
    )
    tier = forms.ChoiceField(
        choices=ApiClient.Tier.choices,
        initial=ApiClient.Tier.BRONZE,
        help_text="Sets the client's rate limit on /api/v1/.",
    )
    internal = forms.BooleanField(
        required=False,
        help_text="Also may call the System and Process APIs. Only for Incident Hub's own programs.",
    )
    scopes = forms.MultipleChoiceField(
        choices=list(CLIENT_SCOPES.items()),
        initial=["incidents"],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What its tokens may do (none ticked: incidents).",
    )

    def clean_scopes(self) -> list[str]:
        return self.cleaned_data["scopes"] or ["incidents"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["__str__", "client_id", "tier", "scopes", "internal", "active", "created_at"]
    list_filter = ["tier", "internal", "active"]
    search_fields = ["application__name", "application__client_id"]
    list_select_related = ["application"]
    fields = ["name", "client_id", "tier", "scopes", "internal", "active", "created_at"]
    # Scopes are chosen when a client is made, with its purpose (a partner app, ServiceNow).
    readonly_fields = ["name", "client_id", "scopes", "created_at"]
    actions = ["disable_clients", "enable_clients"]

    @admin.display(description="Name")
    def name(self, client: ApiClient) -> str:
        return client.application.name

    def get_readonly_fields(self, request: HttpRequest, obj: ApiClient | None = None) -> list[str]:
        # Marking a client internal opens the internal APIs to it: a right of its own, not any change's.
        marks = request.user.has_perm("experience_apis.mark_internal")
        return self.readonly_fields if marks else [*self.readonly_fields, "internal"]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Make a client through the service and show its secret once, in this response and nowhere else.

        The secret is never put in a message, the session or a URL: the page below is rendered from the
        POST that made the client (and is not cached), so leaving it loses the secret for good.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiClientCreateForm(request.POST if request.method == "POST" else None)
        if not request.user.has_perm("experience_apis.mark_internal"):
            del form.fields["internal"]
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Add API client"}
        salt = f"{_ADD_TOKEN_SALT}:{request.user.pk}"
        if form.is_valid():
            nonce = form_token_nonce(salt, request.POST.get(ADD_TOKEN_FIELD, ""))
            if nonce is None:
                form.add_error(None, "This form is too old or was not opened by you: open Add API client again.")
            else:
                return self._add_once(request, form, nonce, context)
        context.update(
            form=form,
            errors=form.errors,
            add_token_field=ADD_TOKEN_FIELD,
            add_token=form_token_issue(salt, nbytes=16),
        )
        return TemplateResponse(request, "admin/experience_apis/apiclient/add.html", context)

    def _add_once(self, request: HttpRequest, form: ApiClientCreateForm, nonce: str, context: dict) -> HttpResponse:
        claim = idempotency_claim(scope=f"admin-api-client:{request.user.pk}", key=nonce)
        if claim.outcome != ClaimOutcome.CLAIMED:
            stored = claim.stored
            made = ApiClient.objects.filter(pk=stored.body["client"]).first() if stored else None
            context.update(client=made, title="This form was already sent")
            return TemplateResponse(request, "admin/experience_apis/apiclient/already_made.html", context)
        client, secret = idempotency_run(
            claim.record,
            lambda: api_client_create(**form.cleaned_data),
            lambda made: StoredResponse(201, {"client": made[0].pk}),
        )
        self.log_addition(request, client, [{"added": {}}])
        context.update(client=client, client_secret=secret, title="API client made: copy its secret now")
        response = TemplateResponse(request, "admin/experience_apis/apiclient/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

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
class IdempotencyRecordAdmin(NoEditing, admin.ModelAdmin):
    """Read-only: records are written by the intake and expire on their own."""

    list_display = ["key", "scope", "state", "response_status", "created_at", "expires_at"]
    list_filter = ["state", "response_status"]
    search_fields = ["key", "scope", "response_location"]
    date_hierarchy = "created_at"
