"""The root URL conf: pages at /, the REST API under /api/v1/, schema and docs under /api/.

Each installed app of the platform that has a `urls.py` is mounted here by discovery: its
`api_urlpatterns` under /api/v1/ and its `urlpatterns` at the root. Adding an app therefore needs no
edit here, and this module names no layer above the spine.
"""

from importlib import import_module

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.module_loading import module_has_submodule
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aigc_platform.accounts.views import SignInView, admin_sign_in
from aigc_platform.core.i18n import language_set

PLATFORM_PACKAGES = ("aigc_platform", "infrastructure", "models_layer", "tools_layer", "applications")


def _app_url_modules():
    for config in apps.get_app_configs():
        if config.name.split(".")[0] in PLATFORM_PACKAGES and module_has_submodule(config.module, "urls"):
            yield import_module(f"{config.name}.urls")


_modules = list(_app_url_modules())
api_v1 = [pattern for module in _modules for pattern in getattr(module, "api_urlpatterns", [])]
pages = [pattern for module in _modules for pattern in getattr(module, "urlpatterns", [])]

urlpatterns = [
    path("admin/login/", admin_sign_in),  # before the admin's own: the sign-in limit covers it too
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/language/", language_set, name="language-set"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include(pages)),
]

handler404 = "aigc_platform.core.views.api_aware_404"
handler500 = "aigc_platform.core.views.api_aware_500"
