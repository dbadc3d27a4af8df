"""API pieces both applications share."""


class FileDownloadMixin:
    """For views that answer a file chosen by `?format=` (csv, md, pptx…): DRF would read that
    parameter as a renderer choice and answer 404, so content negotiation falls back to JSON (for errors)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
