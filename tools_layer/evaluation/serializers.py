"""Request and response shapes of the evaluations API, and the evaluation job's params."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.evaluation.models import Evaluation
from tools_layer.evaluation.services import MAX_ITEMS


class EvaluationCreateSerializer(StrictSerializer):
    generator = serializers.CharField(max_length=100, help_text="The generator's slug.")
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="A version number; the production version if left out.",
    )
    dataset_version = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Required for a text generator: whose validation split is scored. "
        "Optional for an image generator: real images to compare diversity with.",
    )
    max_items = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ITEMS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Text: validation items scored (default 64). Image: samples drawn (default 64).",
    )
    max_new_tokens = serializers.IntegerField(
        min_value=1,
        max_value=512,
        required=False,
        default=64,
        help_text="Text: the longest answer generated for BLEU and ROUGE.",
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)


class EvaluationJobParams(StrictSerializer):
    # An id as a string: a job's params are stored as JSON.
    evaluation = serializers.CharField(max_length=36)


class EvaluationSerializer(serializers.ModelSerializer):
    generator = serializers.CharField(source="version.generator.slug", read_only=True)
    generator_kind = serializers.CharField(source="version.generator.kind", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    stage = serializers.CharField(source="version.stage", read_only=True)
    dataset_version = serializers.UUIDField(source="dataset_version_id", read_only=True, allow_null=True)
    dataset = serializers.SerializerMethodField()
    dataset_readable = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username", read_only=True)
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    metrics = serializers.DictField(read_only=True)
    samples = serializers.SerializerMethodField()
    grid_url = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "generator",
            "generator_kind",
            "version",
            "stage",
            "dataset_version",
            "dataset",
            "dataset_readable",
            "max_items",
            "max_new_tokens",
            "seed",
            "owner",
            "job",
            "status",
            "progress",
            "error",
            "metrics",
            "samples",
            "grid_url",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"finished_at": {"allow_null": True}}

    def get_dataset(self, evaluation) -> str | None:
        version = evaluation.dataset_version
        return (
            f"{version.dataset.name} v{version.number}" if version and self.get_dataset_readable(evaluation) else None
        )

    def get_dataset_readable(self, evaluation) -> bool:
        """Whether you may read the evaluation's dataset: only then are its samples and its name shown."""
        # Set by selectors.with_dataset_readable; an evaluation read without it counts as unreadable.
        return bool(getattr(evaluation, "dataset_readable", False))

    @extend_schema_field(
        serializers.ListField(
            child=serializers.DictField(),
            help_text="Text: a few prompts with their references and the generated answers "
            "(empty unless dataset_readable: they quote the dataset).",
        )
    )
    def get_samples(self, evaluation) -> list[dict]:
        return evaluation.samples if self.get_dataset_readable(evaluation) else []

    def get_status(self, evaluation) -> str:
        return evaluation.job.status if evaluation.job else "unknown"

    def get_progress(self, evaluation) -> float:
        return evaluation.job.progress if evaluation.job else 0.0

    def get_error(self, evaluation) -> str:
        return evaluation.job.error if evaluation.job else ""

    def get_grid_url(self, evaluation) -> str | None:
        return f"/api/v1/evaluations/{evaluation.pk}/grid/" if evaluation.grid_id else None
