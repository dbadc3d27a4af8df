"""Request and response shapes of the files API."""

from django.urls import reverse
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from infrastructure.storage.models import File


class FileSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = ["id", "filename", "size", "sha256", "content_type", "download_url", "owner", "created_at"]
        read_only_fields = fields

    def get_download_url(self, file: File) -> str:
        path = reverse("file-download", kwargs={"pk": file.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class FileUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The file's bytes (multipart); its content type is sniffed from them.")
