from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..rest import ERRORS
from .services import customer_find


class CustomerOutputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    display_name = serializers.CharField()
    first_name = serializers.CharField(allow_null=True)
    last_name = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    account_name = serializers.CharField(allow_null=True)
    legacy_customer_number = serializers.CharField(allow_null=True)
    legacy_account_status = serializers.CharField(allow_null=True)
    customer_since = serializers.DateField(allow_null=True)
    salesforce_contact_id = serializers.CharField(allow_null=True)
    salesforce_account_id = serializers.CharField(allow_null=True)
    found_in = serializers.ListField(child=serializers.CharField())
    unavailable = serializers.ListField(child=serializers.CharField(), help_text="Sources that could not be asked.")
    migrated = serializers.BooleanField(
        help_text="The Salesforce contact is the legacy record migrated there: one customer, Salesforce's details."
    )
    differences = serializers.ListField(
        child=serializers.CharField(), help_text="Fields the two sources disagree on (Salesforce's value is shown)."
    )
    is_new = serializers.BooleanField()
    degraded = serializers.BooleanField()


class CustomerLookupApi(APIView):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)

    @ERRORS.schema(
        operation_id="process_customers_find",
        tags=["Process: customers"],
        parameters=[InputSerializer],
        responses={200: CustomerOutputSerializer},
        errors=(400, 401, 403),
        described={400: "The email is missing or not valid."},
        description="One customer merged from the legacy database and Salesforce; degraded, never failed.",
    )
    def get(self, request: Request) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = customer_find(email=query.validated_data["email"])
        return Response(CustomerOutputSerializer(customer.as_dict()).data)
