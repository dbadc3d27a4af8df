"""ASGI entry point: the web server of `aigc up` and of deployments (server-sent events need ASGI)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
application = get_asgi_application()
