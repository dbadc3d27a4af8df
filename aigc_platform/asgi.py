"""ASGI entry point: the web server of `aigc up` and of deployments (server-sent events need ASGI)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
django_application = get_asgi_application()

from aigc_platform.core.asgi_limits import RequestLimits  # noqa: E402 (needs the settings configured above)

application = RequestLimits(django_application)
