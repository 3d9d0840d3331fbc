from django.urls import path

from . import interactive_views, views

urlpatterns = [
    path("api/chat.postMessage", views.post_message, name="slack-post-message"),
    path("api/chat.update", views.update_message, name="slack-update-message"),
    path("api/views.open", interactive_views.views_open, name="slack-views-open"),
    path("api/<str:method>", views.unknown_method, name="slack-unknown-method"),
    path(
        "commands/<str:team_id>/<int:command_id>/<str:token>",
        interactive_views.response_url,
        name="slack-response-url",
    ),
    path("_sandbox/messages", views.messages, name="slack-sandbox-messages"),
    path("_sandbox/commands", interactive_views.sandbox_commands, name="slack-sandbox-commands"),
    path("_sandbox/views", interactive_views.sandbox_views, name="slack-sandbox-views"),
    path(
        "_sandbox/views/<str:view_id>/submit", interactive_views.sandbox_view_submit, name="slack-sandbox-view-submit"
    ),
    path("_sandbox/views/<str:view_id>/close", interactive_views.sandbox_view_close, name="slack-sandbox-view-close"),
    path("_sandbox/responses", interactive_views.sandbox_responses, name="slack-sandbox-responses"),
]
