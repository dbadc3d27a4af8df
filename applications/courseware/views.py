"""The creator page: the form, slides previewed as they are written, edits, one slide again, downloads."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from applications.courseware import exports
from applications.writing import LANGUAGES


@login_required
def creator_page(request):
    return render(
        request, "courseware/creator.html", {"languages": LANGUAGES, "formats": exports.LABELS, "grades": range(1, 13)}
    )
