"""The OAuth toolkit's and celery-beat's admin pages are for superusers, whatever model permissions staff hold."""

import pytest
from django.contrib.auth.models import Permission, User

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/oauth2_provider/application/",
    "/admin/oauth2_provider/accesstoken/",
    "/admin/oauth2_provider/application/add/",
    "/admin/django_celery_beat/periodictask/",
]


@pytest.fixture
def staff_with_every_permission(client):
    staff = User.objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["oauth2_provider", "django_celery_beat"])
    )
    client.force_login(staff)
    return client


@pytest.mark.parametrize("page", PAGES)
def test_staff_with_model_permissions_cannot_open_them(staff_with_every_permission, page):
    assert staff_with_every_permission.get(page).status_code == 403


def test_they_are_not_listed_for_staff(staff_with_every_permission):
    home = staff_with_every_permission.get("/admin/").content.decode()

    assert "oauth2_provider" not in home and "django_celery_beat" not in home


@pytest.mark.parametrize("page", PAGES)
def test_superusers_still_can(admin_client, page):
    assert admin_client.get(page).status_code == 200
