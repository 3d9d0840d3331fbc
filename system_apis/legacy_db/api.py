from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..rest import system_errors
from .client import LegacyCustomerDatabase

TAGS = ["System: legacy customers"]


ERRORS = system_errors(
    "The legacy customer database",
    {
        400: "The email is missing or not valid.",
        404: "The legacy customer database has no customer with that number.",
        503: "The legacy customer database is failing, or its circuit is open (see Retry-After).",
    },
)


class LegacyCustomerOutputSerializer(serializers.Serializer):
    customer_number = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField(allow_null=True)
    account_status = serializers.CharField(source="account_status.name")
    opened_on = serializers.DateField(allow_null=True)


class LegacyCustomerListApi(APIView):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=80, help_text="Exact email, any case")

    @ERRORS.schema(
        operation_id="legacy_customers_find_by_email",
        tags=TAGS,
        parameters=[InputSerializer],
        responses={200: LegacyCustomerOutputSerializer(many=True)},
        errors=(400, 401, 403, 503),
    )
    def get(self, request: Request) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customers = LegacyCustomerDatabase.from_settings().find_by_email(query.validated_data["email"])
        return Response(LegacyCustomerOutputSerializer(customers, many=True).data)


class LegacyCustomerDetailApi(APIView):
    @ERRORS.schema(
        operation_id="legacy_customers_get",
        tags=TAGS,
        responses={200: LegacyCustomerOutputSerializer},
        errors=(401, 403, 404, 503),
    )
    def get(self, request: Request, customer_number: str) -> Response:
        customer = LegacyCustomerDatabase.from_settings().get_customer(customer_number)
        return Response(LegacyCustomerOutputSerializer(customer).data)
