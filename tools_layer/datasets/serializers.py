"""Request and response shapes of the datasets API, and the params of its jobs (import, prepare)."""

from django.utils.translation import gettext
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.datasets.models import Dataset, DatasetItem, DatasetKind, DatasetVersion
from tools_layer.datasets.pii import KINDS as PII_KINDS


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    item_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "source",
            "licence",
            "licence_text",
            "has_personal_data",
            "owner",
            "item_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DatasetCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=DatasetKind.choices)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    source = serializers.CharField(
        max_length=1000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Where the data came from: a URL or a description.",
    )
    licence = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text='An SPDX identifier (CC-BY-4.0, CC-BY-ND-4.0, MIT…) or "custom".',
    )
    licence_text = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="A custom licence's terms."
    )
    has_personal_data = serializers.BooleanField(required=False, default=False)


class DatasetUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    licence = serializers.CharField(max_length=100, required=False, allow_blank=True)
    licence_text = serializers.CharField(required=False, allow_blank=True)
    has_personal_data = serializers.BooleanField(required=False)


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

    format = serializers.ChoiceField(
        choices=["jsonl", "csv", "zip"], required=False, help_text="Guessed from the file name if left out."
    )
    text_field = serializers.CharField(max_length=200, required=False, default="text")
    label_field = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    prompt_field = serializers.CharField(max_length=200, required=False, default="prompt")
    chosen_field = serializers.CharField(max_length=200, required=False, default="chosen")
    rejected_field = serializers.CharField(max_length=200, required=False, default="rejected")
    labels_from_folders = serializers.BooleanField(
        required=False, default=True, help_text="ZIP: an image's folder is its label."
    )
    max_chars = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000,
        required=False,
        default=20_000,
        help_text="Longer texts are dropped and counted.",
    )


class DatasetImportSerializer(ImportOptionsSerializer):
    file = serializers.FileField(required=False, help_text="The file to import (multipart), or give file_id.")
    file_id = serializers.UUIDField(required=False, help_text="A file already uploaded through /api/v1/files/.")

    def validate(self, data):
        if ("file" in data) == ("file_id" in data):
            raise serializers.ValidationError({"file": [gettext("Give exactly one of file (an upload) and file_id.")]})
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
        fields = [
            "id",
            "dataset",
            "number",
            "note",
            "seed",
            "validation_fraction",
            "test_fraction",
            "stratified",
            "item_count",
            "train_count",
            "validation_count",
            "test_count",
            "augmented_count",
            "pii_scanned",
            "label_counts",
            "parent",
            "step",
            "parameters",
            "report",
            "job_id",
            "manifest",
            "manifest_sha256",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class DatasetVersionCreateSerializer(StrictSerializer):
    seed = serializers.IntegerField(required=False, default=0)
    validation_fraction = serializers.FloatField(min_value=0.0, max_value=0.99, required=False, default=0.1)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


# Preparation steps: the params of each, then a step as the API and the job take it


class LengthRuleSerializer(StrictSerializer):
    min = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    max = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    unit = serializers.ChoiceField(
        choices=["chars", "tokens"],
        default="chars",
        help_text="tokens: words of Latin-script text, single Han characters, numbers.",
    )


class NearDuplicatesSerializer(StrictSerializer):
    enabled = serializers.BooleanField(default=True)
    threshold = serializers.FloatField(
        min_value=0.1,
        max_value=1.0,
        default=0.8,
        help_text="Text: the estimated Jaccard similarity of word 3-grams at which an item is a near-duplicate.",
    )
    num_perm = serializers.IntegerField(
        min_value=16, max_value=512, default=128, help_text="Text: MinHash permutations."
    )
    max_distance = serializers.IntegerField(
        min_value=0,
        max_value=32,
        default=4,
        help_text="Images: the most bits two perceptual hashes (64 bits) may differ by.",
    )


class QualityRuleSerializer(StrictSerializer):
    min_real_word_share = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True, default=None
    )
    max_repeated_ngram_share = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True, default=None
    )
    task_talk = serializers.BooleanField(
        default=False, help_text='Drop texts that talk about a writing task ("As an AI…").'
    )


class CleanParamsSerializer(StrictSerializer):
    near_duplicates = NearDuplicatesSerializer(required=False)
    length = LengthRuleSerializer(required=False)
    languages = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        default=list,
        help_text="ISO 639-1 codes to keep; empty keeps every language.",
    )
    quality = QualityRuleSerializer(required=False)
    blocked_terms = serializers.BooleanField(
        default=False, help_text="Drop texts holding a term of the moderation list."
    )
    exact_duplicates = serializers.BooleanField(default=True, help_text="Images: drop a second copy of the same bytes.")
    min_width = serializers.IntegerField(min_value=0, default=0, help_text="Images: smaller ones are dropped.")
    min_height = serializers.IntegerField(min_value=0, default=0)


class PiiParamsSerializer(StrictSerializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=list(PII_KINDS)),
        required=False,
        default=list,
        help_text="Empty: every kind.",
    )
    action = serializers.ChoiceField(
        choices=["redact", "drop"],
        default="redact",
        help_text="redact: replace each finding by its type (<EMAIL>, <PHONE>…); drop: leave the item out.",
    )


class AugmentParamsSerializer(StrictSerializer):
    method = serializers.ChoiceField(choices=["eda", "paraphrase", "back_translation", "image"])
    seed = serializers.IntegerField(default=0)
    per_item = serializers.IntegerField(min_value=1, max_value=10, default=1)
    max_items = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Augment only the first this many train items.",
    )
    operations = serializers.ListField(
        child=serializers.ChoiceField(choices=["swap", "delete", "insert"]),
        required=False,
        default=list,
        help_text="EDA: which edits (default all three).",
    )
    rate = serializers.FloatField(
        min_value=0.01, max_value=0.5, default=0.1, help_text="EDA: share of the words edited."
    )
    generator = serializers.SlugField(
        required=False, default="", allow_blank=True, help_text="paraphrase / back_translation."
    )
    pivot_language = serializers.CharField(
        max_length=8, default="zh", help_text="back_translation: the language in between."
    )
    max_new_tokens = serializers.IntegerField(min_value=16, max_value=2048, default=256)
    flip = serializers.BooleanField(default=True)
    crop = serializers.BooleanField(default=True)
    crop_scale = serializers.FloatField(min_value=0.3, max_value=1.0, default=0.8)
    rotate = serializers.FloatField(
        min_value=0, max_value=180, default=15, help_text="Images: up to this many degrees either way."
    )
    jitter = serializers.FloatField(
        min_value=0, max_value=0.9, default=0.2, help_text="Images: brightness, contrast, colour ±."
    )


class SplitParamsSerializer(StrictSerializer):
    validation_fraction = serializers.FloatField(min_value=0.0, max_value=0.9, default=0.1)
    test_fraction = serializers.FloatField(min_value=0.0, max_value=0.9, default=0.1)
    seed = serializers.IntegerField(default=0)
    stratify = serializers.BooleanField(
        default=True, help_text="Split each label on its own (where items have labels)."
    )


STEP_PARAMS = {
    "clean": CleanParamsSerializer,
    "pii": PiiParamsSerializer,
    "augment": AugmentParamsSerializer,
    "split": SplitParamsSerializer,
}


class PrepareStepSerializer(StrictSerializer):
    step = serializers.ChoiceField(choices=list(STEP_PARAMS))
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="clean: CleanParams; pii: PiiParams; augment: AugmentParams; split: SplitParams.",
    )

    def validate(self, data):
        serializer = STEP_PARAMS[data["step"]](data=data["params"])
        if not serializer.is_valid():
            raise serializers.ValidationError({"params": serializer.errors})
        return {"step": data["step"], "params": serializer.validated_data}


class DatasetPrepareSerializer(StrictSerializer):
    steps = PrepareStepSerializer(
        many=True, help_text="Run in order; each writes a new version whose parent is the one before."
    )


class DatasetPreviewSerializer(PrepareStepSerializer):
    pass


class DatasetPrepareParams(DatasetPrepareSerializer):
    version = serializers.CharField(max_length=36)


class DatasetVersionCompareSerializer(StrictSerializer):
    right = serializers.UUIDField(help_text="The version to compare with.")
