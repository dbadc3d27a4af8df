"""Provenance records for admins: read only (a record is written by the producer of its artifact)."""

from django.contrib import admin

from infrastructure.provenance.models import ProvenanceRecord


@admin.register(ProvenanceRecord)
class ProvenanceRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "artifact_ref", "generator_slug", "generator_version", "owner", "created_at"]
    list_filter = ["kind", "generator_slug"]
    search_fields = ["id", "artifact_ref", "request_sha256", "content_sha256", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = [field.name for field in ProvenanceRecord._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
