"""The storage page: a user's files, quota used, upload with progress; admins also see totals per user."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from infrastructure.storage import selectors

FILES_PER_PAGE = 50


@login_required
def storage_page(request):
    files = selectors.files_visible_to(user=request.user).filter(owner=request.user)
    usage = selectors.storage_usage(user=request.user)
    context = {
        "page": Paginator(files, FILES_PER_PAGE).get_page(request.GET.get("page")),
        "usage": usage,
        "usage_percent": min(100, round(100 * usage["used"] / usage["quota"])) if usage["quota"] else None,
        "per_user": selectors.storage_totals_per_user() if request.user.is_staff else None,
    }
    return render(request, "storage/storage.html", context)
