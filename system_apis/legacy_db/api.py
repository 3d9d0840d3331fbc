from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .client import LegacyCustomerDatabase


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
        email = serializers.EmailField(max_length=80)

    @extend_schema(
        operation_id="legacy_customers_find_by_email",
        tags=["System: legacy customers"],
        parameters=[OpenApiParameter("email", str, required=True, description="Exact email, any case")],
        responses={200: LegacyCustomerOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customers = LegacyCustomerDatabase.from_settings().find_by_email(query.validated_data["email"])
        return Response(LegacyCustomerOutputSerializer(customers, many=True).data)


class LegacyCustomerDetailApi(APIView):
    @extend_schema(
        operation_id="legacy_customers_get",
        tags=["System: legacy customers"],
        responses={200: LegacyCustomerOutputSerializer},
    )
    def get(self, request: Request, customer_number: str) -> Response:
        customer = LegacyCustomerDatabase.from_settings().get_customer(customer_number)
        return Response(LegacyCustomerOutputSerializer(customer).data)
