"""API pieces both applications share."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from applications.review import MAX_REASON_CHARS, VERDICTS


class FileDownloadMixin:
    """For views that answer a file chosen by `?format=` (csv, md, pptx…): DRF would read that
    parameter as a renderer choice and answer 404, so content negotiation falls back to JSON (for errors)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


class ItemVerdictSerializer(StrictSerializer):
    """A creator's verdict on one item; a rejection says why (it goes to labelling as a judgement)."""

    verdict = serializers.ChoiceField(choices=list(VERDICTS))
    reason = serializers.CharField(max_length=MAX_REASON_CHARS, required=False, allow_blank=True, default="")
