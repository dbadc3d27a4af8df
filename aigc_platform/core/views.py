"""Pages of the spine (dashboard, API keys), the health endpoint, and the 404/500 handlers."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.authentication import request_user
from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.errors import json_error_response
from aigc_platform.core.health import run_checks


@login_required
def dashboard_page(request):
    return render(request, "core/dashboard.html")


@login_required
def api_keys_page(request):
    return render(request, "core/api_keys.html")


HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded", "down"]),
        "checks": serializers.DictField(
            required=False, help_text="Operators and admins only: each check and what it found."
        ),
    },
)


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(auth=[], responses={200: HEALTH, 503: HEALTH})
    def get(self, request):
        """Up or down: 503 when a critical part (database, broker, storage) is down. Operators and admins,
        signed in, also get each check's detail (host names, versions, paths), which nobody else sees."""
        results = run_checks()
        critical_down = any(not r.ok and r.critical for r in results.values())
        overall = "down" if critical_down else ("ok" if all(r.ok for r in results.values()) else "degraded")
        body = {"status": overall}
        if user_has_role(request_user(request._request), OPERATOR):
            body["checks"] = {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()}
        return Response(body, status=503 if critical_down else 200)


# The REST API and the OpenAI-compatible API answer JSON, never an HTML page.
API_PREFIXES = ("/api/", "/v1/")


def api_aware_404(request, exception):
    if request.path.startswith("/v1/"):
        # OpenAI's clients read their own error object (message, type, param, code), not the platform's
        message = "Nothing here: check the path and the id."
        return JsonResponse(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "not_found"}},
            status=404,
        )
    if request.path.startswith(API_PREFIXES):
        return json_error_response("not_found", gettext("Nothing here: check the path and the id."), 404)
    return defaults.page_not_found(request, exception)


def api_aware_500(request):
    if request.path.startswith(API_PREFIXES):
        return json_error_response("server_error", gettext("The server failed; the error was logged."), 500)
    return defaults.server_error(request)
