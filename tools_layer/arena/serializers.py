"""Request and response shapes of the comparisons API, and the comparison job's params."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.arena.models import Comparison
from tools_layer.arena.selectors import comparison_url
from tools_layer.arena.services import MAX_COMPARISON_PROMPTS, MAX_COMPARISON_VERSIONS


class ContenderSerializer(StrictSerializer):
    generator = serializers.CharField(max_length=100, help_text="A text generator's slug.")
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="A version number; the production version if left out.",
    )


class ComparisonCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    versions = ContenderSerializer(
        many=True, help_text=f"The versions compared: 2 to {MAX_COMPARISON_VERSIONS}, each once."
    )
    prompt_source = serializers.CharField(
        max_length=100,
        help_text='"dataset" (with dataset_version), or an application whose recent requests give the prompts '
        '("marketing", "courseware"); GET /api/v1/comparisons/prompt-sources/ lists them.',
    )
    dataset_version = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With prompt_source dataset: whose items are the prompts.",
    )
    max_prompts = serializers.IntegerField(min_value=1, max_value=MAX_COMPARISON_PROMPTS, required=False, default=20)
    max_new_tokens = serializers.IntegerField(min_value=1, max_value=1024, required=False, default=128)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, required=False, default=0.7)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    annotators = serializers.ListField(
        child=serializers.CharField(max_length=150),
        required=False,
        default=list,
        help_text="Usernames who judge the answers (members of the labelling project).",
    )
    overlap = serializers.IntegerField(
        min_value=1, max_value=20, required=False, default=1, help_text="Judgements asked for each pair of answers."
    )


class ComparisonJobParams(StrictSerializer):
    # An id as a string: a job's params are stored as JSON.
    comparison = serializers.CharField(max_length=36)


class PromptSourceSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class RatedVersionSerializer(serializers.Serializer):
    generator = serializers.CharField()
    version = serializers.IntegerField()
    stage = serializers.CharField()
    position = serializers.IntegerField()
    rating = serializers.FloatField(help_text="Bradley–Terry strength on Elo's scale; the versions average 1000.")
    low = serializers.FloatField(help_text="The confidence interval's lower bound (percentile bootstrap).")
    high = serializers.FloatField(help_text="The confidence interval's upper bound.")
    judgements = serializers.IntegerField()
    wins = serializers.FloatField(help_text="Wins, a tie counting half.")
    win_rate = serializers.FloatField(allow_null=True)


class VersionLabelSerializer(serializers.Serializer):
    generator = serializers.CharField()
    version = serializers.IntegerField()
    stage = serializers.CharField()


class PairResultSerializer(serializers.Serializer):
    first = VersionLabelSerializer()
    second = VersionLabelSerializer()
    judgements = serializers.IntegerField()
    first_win_rate = serializers.FloatField(allow_null=True, help_text="A tie counts half.")
    second_win_rate = serializers.FloatField(allow_null=True)


class ComparisonResultsSerializer(serializers.Serializer):
    judgements = serializers.IntegerField()
    tasks = serializers.IntegerField()
    confidence = serializers.FloatField()
    bootstrap_samples = serializers.IntegerField()
    versions = RatedVersionSerializer(many=True)
    pairs = PairResultSerializer(many=True)


class ComparisonSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    versions = serializers.SerializerMethodField()
    prompt_count = serializers.SerializerMethodField()
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    project = serializers.UUIDField(source="project_id", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Comparison
        fields = [
            "id",
            "name",
            "owner",
            "versions",
            "prompt_source",
            "dataset_version",
            "prompt_count",
            "max_new_tokens",
            "temperature",
            "seed",
            "annotators",
            "overlap",
            "job",
            "status",
            "progress",
            "error",
            "project",
            "url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VersionLabelSerializer(many=True))
    def get_versions(self, comparison) -> list[dict]:
        return [
            {"generator": e.version.generator.slug, "version": e.version.number, "stage": e.version.stage}
            for e in comparison.entrants.select_related("version__generator").order_by("position")
        ]

    def get_prompt_count(self, comparison) -> int:
        return len(comparison.prompts)

    def get_status(self, comparison) -> str:
        """The job's status while it writes the answers; `judging` once the labelling project exists."""
        if comparison.project_id is not None:
            return "judging"
        return comparison.job.status if comparison.job else "unknown"

    def get_progress(self, comparison) -> float:
        return comparison.job.progress if comparison.job else 0.0

    def get_error(self, comparison) -> str:
        return comparison.job.error if comparison.job else ""

    def get_url(self, comparison) -> str:
        return comparison_url(comparison)


class ComparisonDetailSerializer(ComparisonSerializer):
    results = serializers.SerializerMethodField()

    class Meta(ComparisonSerializer.Meta):
        fields = ComparisonSerializer.Meta.fields + ["results"]
        read_only_fields = fields

    @extend_schema_field(ComparisonResultsSerializer)
    def get_results(self, comparison) -> dict:
        return self.context["results"]
