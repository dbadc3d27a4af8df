"""The provenance record as the API answers it."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA, ProvenanceRecord


class GeneratorRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="The generator in the API (it may since be gone).")


class ProvenanceRecordSerializer(serializers.ModelSerializer):
    generator = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField(help_text="The username the artifact was made for.")
    job = serializers.UUIDField(source="job_id", allow_null=True, help_text="The job that made it.")
    job_url = serializers.SerializerMethodField()
    parent = serializers.UUIDField(source="parent_id", allow_null=True, help_text="The record it was made from.")
    page_url = serializers.SerializerMethodField(help_text="The record as a page.")
    digital_source_type = serializers.SerializerMethodField(help_text="IPTC's digital source type of the artifact.")

    class Meta:
        model = ProvenanceRecord
        fields = [
            "id",
            "kind",
            "artifact_ref",
            "artifact_url",
            "media_type",
            "content_sha256",
            "request_sha256",
            "generator",
            "owner",
            "job",
            "job_url",
            "parent",
            "detail",
            "digital_source_type",
            "page_url",
            "created_at",
        ]

    @extend_schema_field(GeneratorRefSerializer)
    def get_generator(self, record: ProvenanceRecord) -> dict:
        return {
            "slug": record.generator_slug,
            "version": record.generator_version,
            "label": record.generator_label,
            "url": f"/api/v1/generators/{record.generator_slug}/" if record.generator_slug else None,
        }

    def get_owner(self, record: ProvenanceRecord) -> str | None:
        return record.owner.username if record.owner else None

    def get_job_url(self, record: ProvenanceRecord) -> str | None:
        return f"/api/v1/jobs/{record.job_id}/" if record.job_id else None

    def get_page_url(self, record: ProvenanceRecord) -> str:
        return f"/provenance/{record.pk}"

    def get_digital_source_type(self, record: ProvenanceRecord) -> str:
        return TRAINED_ALGORITHMIC_MEDIA
