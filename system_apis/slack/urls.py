from django.urls import path

from .api import SlackMessageApi

urlpatterns = [
    path("messages", SlackMessageApi.as_view(), name="slack-messages"),
]
