"""Settings for bench/api.py only: the platform's settings, with a URL conf that adds bare Django
views beside the API (so each endpoint is measured against a baseline in the same server)."""

from aigc_platform.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.bench_urls"
