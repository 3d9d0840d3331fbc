import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidents_site.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: a production deployment left on laptop defaults stops here, not later.
from incidents_site.production_checks import refuse_to_start_on_laptop_defaults  # noqa: E402

refuse_to_start_on_laptop_defaults()
