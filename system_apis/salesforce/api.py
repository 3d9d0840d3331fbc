"""REST face of the Salesforce System API: contacts by email, for consumers other than our own layers.

Views parse, call the connector and render; typed connector errors become HTTP answers in the
project's exception handler.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..rest import system_errors
from .client import SalesforceClient

TAGS = ["System: Salesforce"]
ERRORS = system_errors(
    "Salesforce",
    {
        400: "The email is missing or not valid, or Salesforce refused the query.",
        429: "Salesforce asks to slow down (request limit exceeded); see Retry-After when known.",
    },
)


class ContactListApi(APIView):
    """The Salesforce contacts that have one email address."""

    @extend_schema_serializer(component_name="SalesforceContactQuery")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, help_text="Exact email; Salesforce ignores its case.")

    @extend_schema_serializer(component_name="SalesforceContact")
    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(help_text="The contact's Salesforce Id (18 characters).")
        first_name = serializers.CharField(allow_null=True)
        last_name = serializers.CharField()
        email = serializers.EmailField(allow_null=True)
        phone = serializers.CharField(allow_null=True)
        account_id = serializers.CharField(allow_null=True, help_text="The Salesforce Id of the contact's account.")
        account_name = serializers.CharField(allow_null=True)

    @ERRORS.schema(
        operation_id="salesforce_contacts_find_by_email",
        summary="Find the Salesforce contacts with an email address",
        tags=TAGS,
        parameters=[InputSerializer],
        responses={200: OutputSerializer(many=True)},
        errors=(400, 401, 403, 429, 502, 503, 504),
    )
    def get(self, request: Request) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        contacts = SalesforceClient.from_settings().find_contacts_by_email(query.validated_data["email"])
        return Response(self.OutputSerializer(contacts, many=True).data)
