from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .models import KEPT_HEADERS, ReceivedWebhook


@csrf_exempt
@require_POST
def receive(request: HttpRequest, receiver: str) -> HttpResponse:
    """Take a webhook message as a client's server would: kept as it came, answered 204."""
    ReceivedWebhook.objects.create(
        receiver=receiver,
        headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
        body=request.body.decode("utf-8", errors="replace"),
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def received(request: HttpRequest) -> JsonResponse:
    """What the receivers took, latest first (`?receiver=` one's); DELETE forgets it all."""
    if request.method == "DELETE":
        ReceivedWebhook.objects.all().delete()
        return JsonResponse({"webhooks": []})
    webhooks = ReceivedWebhook.objects.all()
    if receiver := request.GET.get("receiver"):
        webhooks = webhooks.filter(receiver=receiver)
    return JsonResponse({"webhooks": [webhook.as_dict() for webhook in webhooks[:200]]})
