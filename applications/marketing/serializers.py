"""Marketing's request and response shapes."""

from rest_framework import serializers

from aigc_platform.core.errors import NotFound
from aigc_platform.core.serializers import StrictSerializer
from applications.marketing import selectors
from applications.marketing.models import BrandVoice, Generation, Length, Template, Variant
from applications.writing import LANGUAGES, generator_advice
from infrastructure.compute.serializers import JobSerializer, JobStartedSerializer


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Template
        fields = ["slug", "name", "description", "fields", "prompt"]


class BrandVoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = BrandVoice
        fields = ["id", "name", "description", "audience", "words_to_use", "banned_words", "sample_copy", "created_at"]


class BrandVoiceWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    audience = serializers.CharField(max_length=300, required=False, allow_blank=True)
    words_to_use = serializers.ListField(child=serializers.CharField(max_length=60), max_length=30, required=False)
    banned_words = serializers.ListField(child=serializers.CharField(max_length=60), max_length=30, required=False)
    sample_copy = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class GenerationRequestSerializer(StrictSerializer):
    template = serializers.SlugField()
    product = serializers.CharField(max_length=1000)
    audience = serializers.CharField(max_length=300)
    tone = serializers.CharField(max_length=100)
    language = serializers.ChoiceField(choices=list(LANGUAGES), default="en")
    variants = serializers.IntegerField(min_value=1, max_value=10, default=3)
    length = serializers.ChoiceField(choices=Length.values, default=Length.MEDIUM)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=60), max_length=5, required=False, default=list
    )
    brand_voice = serializers.IntegerField(required=False, allow_null=True, default=None)
    generator = serializers.SlugField(
        required=False, allow_null=True, default=None, help_text="Default: the language's generator."
    )
    generator_version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    seed = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Repeat a generation exactly (same generator version and hardware).",
    )

    def validate_template(self, slug):
        try:
            return selectors.template_get(slug=slug)
        except NotFound as error:
            raise serializers.ValidationError(error.message) from None

    def validate_brand_voice(self, pk):
        if pk is None:
            return None
        try:
            return selectors.brand_voice_get(user=self.context["request"].user, pk=pk)
        except NotFound as error:
            raise serializers.ValidationError(error.message) from None

    def validate_keywords(self, words):
        return [word.strip() for word in words if word.strip()]


class VariantSerializer(serializers.ModelSerializer):
    review = serializers.CharField(read_only=True, help_text="The creator's verdict: accepted, rejected, or empty.")

    class Meta:
        model = Variant
        fields = [
            "id",
            "index",
            "text",
            "fields",
            "checks",
            "passed",
            "attempts",
            "favourite",
            "edited",
            "review",
            "review_reason",
            "judgement",
            "updated_at",
        ]


class VariantUpdateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=5000, required=False)
    favourite = serializers.BooleanField(required=False)


class GenerationStartedSerializer(JobStartedSerializer):
    """A generation's job started: the Job, the generation in `object`."""

    generation_id = serializers.IntegerField(read_only=True, help_text="The same as object.id; kept for older clients.")

    class Meta(JobStartedSerializer.Meta):
        fields = JobStartedSerializer.Meta.fields + ["generation_id"]


class VariantJobStartedSerializer(JobStartedSerializer):
    """A variant written again: the Job, the variant in `object`."""

    variant_id = serializers.IntegerField(read_only=True, help_text="The same as object.id; kept for older clients.")

    class Meta(JobStartedSerializer.Meta):
        fields = JobStartedSerializer.Meta.fields + ["variant_id"]


class GenerationSerializer(serializers.ModelSerializer):
    template = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    brand_voice = serializers.PrimaryKeyRelatedField(read_only=True)
    variants = VariantSerializer(many=True, read_only=True)
    job = JobSerializer(read_only=True)
    generator_advice = serializers.SerializerMethodField(
        help_text="Set when the generator failed more than half of the variants: it says so and points to a larger generator."
    )

    class Meta:
        model = Generation
        fields = [
            "id",
            "template",
            "product",
            "audience",
            "tone",
            "language",
            "length",
            "keywords",
            "brand_voice",
            "variant_count",
            "generator",
            "job",
            "variants",
            "generator_advice",
            "created_at",
        ]

    def get_generator_advice(self, generation) -> str | None:
        written = [variant for variant in generation.variants.all() if variant.attempts > 0]
        return generator_advice(
            failed=sum(not variant.passed for variant in written), total=len(written), generator=generation.generator
        )


class SendToLabelingSerializer(StrictSerializer):
    project = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="One of your labeling projects; default: a new rating project.",
    )
    variants = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Variant ids; default: every written variant.",
    )


class SentToLabelingSerializer(serializers.Serializer):
    project = serializers.UUIDField()
    project_url = serializers.CharField(help_text="The project's page.")
    tasks = serializers.ListField(child=serializers.IntegerField())
