"""The libraries' own admin pages (OAuth applications and tokens, beat's schedules) are for superusers only:
model permissions on them would let a staff member mint tokens or schedule tasks."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

SUPERUSER_ONLY_APPS = ("oauth2_provider", "django_celery_beat")


class SuperuserOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


# The site's app comes last in INSTALLED_APPS, so the libraries' admins are registered by now.
for model, model_admin in list(admin.site._registry.items()):
    if model._meta.app_label in SUPERUSER_ONLY_APPS:
        admin.site.unregister(model)
        admin.site.register(model, type(type(model_admin).__name__, (SuperuserOnly, type(model_admin)), {}))
