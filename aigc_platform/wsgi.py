"""WSGI entry point, for servers without ASGI; event streams need the ASGI one."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
application = get_wsgi_application()
