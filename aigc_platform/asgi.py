"""ASGI entry point: the web server of `aigc up` and of deployments (server-sent events need ASGI)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
django.setup(set_prefix=False)

from aigc_platform.core.asgi_handler import PlatformASGIHandler  # noqa: E402 (needs the settings configured above)
from aigc_platform.core.asgi_limits import RequestLimits  # noqa: E402

django_application = PlatformASGIHandler()
application = RequestLimits(django_application)
