"""The platform's URLs plus bare Django views under /bare/ (bench/api.py's baselines; never in production).

Each bare view does the endpoint's essential database work with nothing else: no DRF, no
authentication, throttling, validation or serializers, and no broker."""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from aigc_platform.urls import urlpatterns as platform_urlpatterns
from infrastructure.compute.models import Job


def bare_health(request):
    return JsonResponse({"status": "ok"})


@csrf_exempt
def bare_jobs(request):
    """GET: the count and one page of the bench user's jobs; POST: insert one job row."""
    owner_id = int(request.GET.get("owner", 0))
    if request.method == "POST":
        body = json.loads(request.body)
        job = Job.objects.create(owner_id=owner_id, kind=body["kind"], params=body.get("params", {}))
        return JsonResponse({"id": str(job.id), "status": job.status}, status=201)
    size = int(request.GET.get("page_size", 20))
    jobs = Job.objects.filter(owner_id=owner_id).order_by("-created_at")
    rows = list(
        jobs.values(
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "error",
            "queue",
            "worker",
            "attempt",
            "created_at",
            "started_at",
            "finished_at",
        )[:size]
    )
    return JsonResponse({"count": jobs.count(), "results": rows}, json_dumps_params={"default": str})


urlpatterns = [
    path("bare/health/", bare_health),
    path("bare/jobs/", bare_jobs),
    *platform_urlpatterns,
]
