from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import ReceivedMail


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def messages(request: HttpRequest) -> JsonResponse:
    """The mailbox, latest first (`?to=` one recipient's); DELETE empties it."""
    if request.method == "DELETE":
        ReceivedMail.objects.all().delete()
        return JsonResponse({"messages": []})
    mails = ReceivedMail.objects.all()
    if to := request.GET.get("to"):
        mails = mails.filter(to__icontains=to)
    return JsonResponse({"messages": [mail.as_dict() for mail in mails[:200]]})


def message_html(request: HttpRequest, pk: int) -> HttpResponse:
    """One mail's HTML part, as a mail client would show it: no scripts, no requests of its own."""
    mail = get_object_or_404(ReceivedMail, pk=pk)
    response = HttpResponse(mail.html or "<p>(this mail has no HTML part)</p>", content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response
