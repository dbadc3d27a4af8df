"""Template filters for the pages' words that come from data: a job's or worker's status, in the page's language."""

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

# The same words, in the same context, as the pages' script (aigc.statusLabel).
STATUS_LABELS = {
    "queued": pgettext_lazy("status", "queued"),
    "running": pgettext_lazy("status", "running"),
    "succeeded": pgettext_lazy("status", "succeeded"),
    "failed": pgettext_lazy("status", "failed"),
    "cancelled": pgettext_lazy("status", "cancelled"),
    "online": pgettext_lazy("status", "online"),
    "offline": pgettext_lazy("status", "offline"),
    "draining": pgettext_lazy("status", "draining"),
}


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
