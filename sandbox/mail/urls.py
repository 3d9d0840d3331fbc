from django.urls import path

from . import views

urlpatterns = [
    path("_sandbox/messages", views.messages, name="sandbox-mail-messages"),
    path("_sandbox/messages/<int:pk>.html", views.message_html, name="sandbox-mail-html"),
]
