from django.urls import path

from . import views

urlpatterns = [
    path("api/chat.postMessage", views.post_message, name="slack-post-message"),
    path("api/chat.update", views.update_message, name="slack-update-message"),
    path("api/<str:method>", views.unknown_method, name="slack-unknown-method"),
    path("_sandbox/messages", views.messages, name="slack-sandbox-messages"),
]
