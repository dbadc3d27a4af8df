"""Pages for jobs (the list with live progress bars, one job with its live event stream) and workers."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from aigc_platform.accounts.permissions import operator_required
from infrastructure.compute import selectors
from infrastructure.compute.kinds import job_kinds


@login_required
def jobs_page(request):
    jobs = selectors.jobs_visible_to(user=request.user)[:50]
    public_kinds = sorted(name for name, kind in job_kinds().items() if kind.public)
    return render(request, "compute/jobs.html", {"jobs": jobs, "public_kinds": public_kinds})


@login_required
def job_page(request, pk):
    job = selectors.jobs_visible_to(user=request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return render(request, "compute/job.html", {"job": job, "logs": selectors.job_logs(job=job)})


@operator_required
def workers_page(request):
    return render(request, "compute/workers.html")
