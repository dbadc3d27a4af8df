"""Request and response shapes of the datasets API, and the import job's params."""
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.datasets.models import Dataset, DatasetItem, DatasetKind, DatasetVersion


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    item_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "description", "owner", "item_count", "created_at", "updated_at"]
        read_only_fields = fields


class DatasetCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=DatasetKind.choices)
    description = serializers.CharField(required=False, default="", allow_blank=True)


class DatasetUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class DatasetItemSerializer(serializers.ModelSerializer):
    content_url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetItem
        fields = ["id", "label", "preview", "sha256", "content_type", "length", "meta", "created_at", "content_url"]
        read_only_fields = fields

    def get_content_url(self, item) -> str:
        return f"/api/v1/datasets/{item.dataset_id}/items/{item.pk}/content/"


class ImportOptionsSerializer(StrictSerializer):
    """How to read the file: its format, which fields hold the text and label, and cleaning limits."""

    format = serializers.ChoiceField(choices=["jsonl", "csv", "zip"], required=False, help_text="Guessed from the file name if left out.")
    text_field = serializers.CharField(max_length=200, required=False, default="text")
    label_field = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    prompt_field = serializers.CharField(max_length=200, required=False, default="prompt")
    chosen_field = serializers.CharField(max_length=200, required=False, default="chosen")
    rejected_field = serializers.CharField(max_length=200, required=False, default="rejected")
    labels_from_folders = serializers.BooleanField(required=False, default=True, help_text="ZIP: an image's folder is its label.")
    max_chars = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=20_000,
                                         help_text="Longer texts are dropped and counted.")


class DatasetImportSerializer(ImportOptionsSerializer):
    file = serializers.FileField(required=False, help_text="The file to import (multipart), or give file_id.")
    file_id = serializers.UUIDField(required=False, help_text="A file already uploaded through /api/v1/files/.")

    def validate(self, data):
        if ("file" in data) == ("file_id" in data):
            raise serializers.ValidationError({"file": ["Give exactly one of file (an upload) and file_id."]})
        return data


class DatasetImportParams(ImportOptionsSerializer):
    # Ids as strings: a job's params are stored as JSON.
    dataset = serializers.CharField(max_length=36)
    file = serializers.CharField(max_length=36)


class DatasetVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    manifest = serializers.UUIDField(source="manifest_id", read_only=True)

    class Meta:
        model = DatasetVersion
        fields = ["id", "dataset", "number", "note", "seed", "validation_fraction", "item_count", "train_count",
                  "validation_count", "label_counts", "manifest", "manifest_sha256", "created_by", "created_at"]
        read_only_fields = fields


class DatasetVersionCreateSerializer(StrictSerializer):
    seed = serializers.IntegerField(required=False, default=0)
    validation_fraction = serializers.FloatField(min_value=0.0, max_value=0.99, required=False, default=0.1)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
