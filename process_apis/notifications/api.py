from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import NotificationDelivery
from .services import notification_resend


class DeliveryOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference")

    class Meta:
        model = NotificationDelivery
        fields = [
            "id",
            "reference",
            "kind",
            "channel",
            "state",
            "attempts",
            "last_error",
            "slack_channel_id",
            "slack_ts",
            "sent_at",
            "created_at",
        ]


class DeliveryListApi(APIView):
    @extend_schema(
        operation_id="process_notifications_list",
        tags=["Process: notifications"],
        parameters=[
            OpenApiParameter("reference", str, required=False),
            OpenApiParameter("state", str, required=False, enum=NotificationDelivery.State.values),
        ],
        responses={200: DeliveryOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        deliveries = NotificationDelivery.objects.select_related("request").order_by("-created_at")
        if reference := request.query_params.get("reference"):
            deliveries = deliveries.filter(request__reference=reference)
        if state := request.query_params.get("state"):
            deliveries = deliveries.filter(state=state)
        return Response(DeliveryOutputSerializer(deliveries[:200], many=True).data)


class DeliveryResendApi(APIView):
    @extend_schema(
        operation_id="process_notifications_resend",
        tags=["Process: notifications"],
        request=None,
        responses={202: DeliveryOutputSerializer},
        description="Give a failed delivery a fresh round of attempts.",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = notification_resend(delivery_id=delivery_id)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
