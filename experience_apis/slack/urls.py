from django.urls import path

from . import views

urlpatterns = [
    path("commands", views.commands, name="slack-commands"),
    path("interactions", views.interactions, name="slack-interactions"),
]
