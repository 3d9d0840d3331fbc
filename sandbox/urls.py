"""The sandbox's own port: each vendor's stand-in under its prefix, the inspection page at /."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.index, name="sandbox-index"),
    path("_sandbox/faults/<str:system>", views.faults, name="sandbox-faults"),
    path("_sandbox/events/faults", views.event_faults, name="sandbox-event-faults"),
    path("_sandbox/servicenow/incidents/<str:sys_id>", views.move_incident, name="sandbox-servicenow-move"),
    path("_sandbox/slack/command", views.slack_command, name="sandbox-slack-command"),
    path("_sandbox/slack/views/<str:view_id>/submit", views.slack_view_submit, name="sandbox-slack-view-submit"),
    path("_sandbox/slack/views/<str:view_id>/close", views.slack_view_close, name="sandbox-slack-view-close"),
    path("servicenow/", include("sandbox.servicenow.urls")),
    path("salesforce/", include("sandbox.salesforce.urls")),
    path("slack/", include("sandbox.slack.urls")),
    path("mail/", include("sandbox.mail.urls")),
    path("webhooks/", include("sandbox.receiver.urls")),
]
