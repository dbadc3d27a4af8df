"""Pages of the spine (dashboard, API keys), the health endpoint, and the 404/500 handlers."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.core.errors import json_error_response
from aigc_platform.core.health import run_checks


@login_required
def dashboard_page(request):
    return render(request, "core/dashboard.html")


@login_required
def api_keys_page(request):
    return render(request, "core/api_keys.html")


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        auth=[],
        responses=inline_serializer(
            "Health",
            {"status": serializers.ChoiceField(["ok", "degraded", "down"]), "checks": serializers.DictField()},
        ),
    )
    def get(self, request):
        """Database, broker, storage and workers. 503 when a critical part is down."""
        results = run_checks()
        critical_down = any(not r.ok and r.critical for r in results.values())
        overall = "down" if critical_down else ("ok" if all(r.ok for r in results.values()) else "degraded")
        body = {
            "status": overall,
            "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
        }
        return Response(body, status=503 if critical_down else 200)


def api_aware_404(request, exception):
    if request.path.startswith("/api/"):
        return json_error_response("not_found", "Nothing here: check the path and the id.", 404)
    return defaults.page_not_found(request, exception)


def api_aware_500(request):
    if request.path.startswith("/api/"):
        return json_error_response("server_error", "The server failed; the error was logged.", 500)
    return defaults.server_error(request)
