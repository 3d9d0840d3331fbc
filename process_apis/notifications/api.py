from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import NotificationDelivery
from ..rest import ERRORS
from .selectors import delivery_list
from .services import notification_resend


class DeliveryOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference")
    state = serializers.ChoiceField(choices=NotificationDelivery.State.choices)
    attempts = serializers.IntegerField(source="work.attempts")
    last_error = serializers.CharField(source="work.last_error")

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
    class FilterSerializer(serializers.Serializer):
        reference = serializers.CharField(max_length=13, required=False)
        state = serializers.ChoiceField(choices=NotificationDelivery.State.choices, required=False)

    @ERRORS.schema(
        operation_id="process_notifications_list",
        tags=["Process: notifications"],
        parameters=[FilterSerializer],
        responses={200: DeliveryOutputSerializer(many=True)},
        errors=(400, 401, 403),
    )
    def get(self, request: Request) -> Response:
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(DeliveryOutputSerializer(delivery_list(**query.validated_data), many=True).data)


class DeliveryResendApi(APIView):
    @ERRORS.schema(
        operation_id="process_notifications_resend",
        tags=["Process: notifications"],
        request=None,
        responses={202: DeliveryOutputSerializer},
        errors=(401, 403, 404, 409),
        described={
            404: "No notification with that id.",
            409: "Only a failed notification can be re-sent; `extra.state` says what this one is.",
        },
        description="Give a failed delivery a fresh round of attempts.",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = notification_resend(delivery_id=delivery_id)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
