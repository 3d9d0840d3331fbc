from django.urls import path, re_path

from .api import SlackMessageApi, SlackMessageDetailApi

urlpatterns = [
    path("messages", SlackMessageApi.as_view(), name="slack-messages"),
    # chat.update takes the channel by id (C..., G..., D...) and the message by its ts.
    re_path(
        r"^messages/(?P<channel>[A-Z0-9]{1,40})/(?P<ts>\d{1,12}\.\d{1,6})$",
        SlackMessageDetailApi.as_view(),
        name="slack-message",
    ),
]
