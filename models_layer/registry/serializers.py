"""Request and response shapes of the generators API, and the per-kind generation parameters."""

from django.utils.translation import gettext
from rest_framework import serializers

from aigc_platform.core.errors import ApplicationError
from aigc_platform.core.serializers import StrictSerializer
from models_layer.registry.models import (
    Generator,
    GeneratorKind,
    GeneratorVersion,
    RemoteEndpoint,
    Stage,
    StructuredOutput,
    VersionFormat,
    Visibility,
)
from models_layer.runtime import schema_of

SEED_MAX = 2**31 - 1


class MessageSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = serializers.CharField(max_length=100_000, allow_blank=True, trim_whitespace=False)


class TextGenerateParams(StrictSerializer):
    prompt = serializers.CharField(required=False, max_length=100_000, trim_whitespace=False)
    messages = MessageSerializer(many=True, required=False, allow_empty=False, max_length=200)
    max_new_tokens = serializers.IntegerField(min_value=1, max_value=4096, default=256)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.7, help_text="0: greedy.")
    top_p = serializers.FloatField(min_value=0.01, max_value=1.0, default=0.95)
    presence_penalty = serializers.FloatField(
        min_value=-2.0, max_value=2.0, default=0.0, help_text="Lowers the logit of a word already written, once."
    )
    frequency_penalty = serializers.FloatField(
        min_value=-2.0,
        max_value=2.0,
        default=0.0,
        help_text="Lowers the logit of a word already written, per time written.",
    )
    seed = serializers.IntegerField(min_value=0, max_value=SEED_MAX, required=False, allow_null=True, default=None)
    stop = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False), max_length=8, default=list
    )
    response_format = serializers.DictField(
        required=False,
        allow_null=True,
        default=None,
        help_text='{"type": "json_schema", "json_schema": {"schema": {...}}} or {"type": "json_object"}.',
    )

    def validate_response_format(self, value):
        try:
            schema_of(value)
        except ApplicationError as error:
            raise serializers.ValidationError(error.message) from None
        return value

    def validate(self, data):
        if ("prompt" in data) == ("messages" in data):
            raise serializers.ValidationError({"prompt": [gettext("Give either a prompt or messages.")]})
        return data


class ImageGenerateParams(StrictSerializer):
    count = serializers.IntegerField(min_value=1, max_value=64, default=4)
    seed = serializers.IntegerField(min_value=0, max_value=SEED_MAX, required=False, allow_null=True, default=None)


PARAMS_BY_KIND = {GeneratorKind.TEXT: TextGenerateParams, GeneratorKind.IMAGE: ImageGenerateParams}

VERSION_HELP = "A validated version number; default: the production version."


class TextGenerate(TextGenerateParams):
    """The body of `generate` for a text generator (OpenAPI); the view validates by the generator's kind."""

    version = serializers.IntegerField(min_value=1, required=False, help_text=VERSION_HELP)


class ImageGenerate(ImageGenerateParams):
    """The body of `generate` for an image generator (OpenAPI)."""

    version = serializers.IntegerField(min_value=1, required=False, help_text=VERSION_HELP)


# The most a generate request may wait for its result before the API answers with the job still running.
WAIT_MAX_SECONDS = 300


class GenerateQuerySerializer(serializers.Serializer):
    """The generate endpoint's query string."""

    wait = serializers.FloatField(
        min_value=0,
        required=False,
        default=0,
        help_text=f"Wait up to this many seconds (a longer wait is cut to {WAIT_MAX_SECONDS}) and answer 200 with the "
        "finished job, its result inline; a job still running after that is answered 202 as without it.",
    )

    via = serializers.ChoiceField(
        choices=["api", "playground"],
        required=False,
        default="api",
        help_text="Where the request comes from, as the moderation audit names it (the playground page says so).",
    )

    def validate_wait(self, value: float) -> float:
        return min(value, WAIT_MAX_SECONDS)


class GenerateVersionSerializer(serializers.Serializer):
    """The `version` member of a generate request's body (the rest is the kind's parameters, checked by its kind)."""

    version = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text=VERSION_HELP
    )


class GenerateJobParams(StrictSerializer):
    """What a `generate` job carries: the version to use and the request as its kind validated it."""

    version_id = serializers.IntegerField(min_value=1)
    generator = serializers.SlugField()
    version = serializers.IntegerField(min_value=1)
    request = serializers.DictField()
    api_key_prefix = serializers.CharField(required=False, max_length=16, help_text="The API key it came with (usage).")
    surface = serializers.CharField(
        required=False, max_length=32, help_text="The way it came in (generate API, playground, v1), for moderation."
    )


class ValidateJobParams(StrictSerializer):
    version_id = serializers.IntegerField(min_value=1)


class GeneratorCreateSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=GeneratorKind.choices)
    backend = serializers.CharField(max_length=64, default="transformers")
    description = serializers.CharField(allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PRIVATE)


class VersionUploadSerializer(StrictSerializer):
    """Either an upload (`file`, multipart) or a file already stored (`file_id`)."""

    file = serializers.FileField(required=False)
    file_id = serializers.UUIDField(required=False)
    format = serializers.ChoiceField(choices=VersionFormat.choices)
    model_card = serializers.CharField(allow_blank=True, default="", max_length=200_000)
    parameters = serializers.JSONField(required=False, default=dict)
    base_version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)

    def validate(self, data):
        if ("file" in data) == ("file_id" in data):
            raise serializers.ValidationError({"file": [gettext("Give either a file or a file_id.")]})
        return data


class PromoteSerializer(StrictSerializer):
    stage = serializers.ChoiceField(choices=[Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED])
    comparison = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A finished blind comparison (/api/v1/comparisons/) that included this version: the "
        "promotion cites it, and the model card shows its ratings, intervals and judgements.",
    )


class GeneratorVersionSerializer(serializers.ModelSerializer):
    artifact = serializers.SerializerMethodField()
    base_version = serializers.IntegerField(source="base_version.number", allow_null=True, default=None)
    replaced_version = serializers.IntegerField(source="replaced_version.number", allow_null=True, default=None)
    validated = serializers.BooleanField(source="is_validated")
    remote = serializers.SerializerMethodField()

    class Meta:
        model = GeneratorVersion
        fields = [
            "number",
            "stage",
            "format",
            "parameters",
            "metrics",
            "model_card",
            "artifact",
            "remote",
            "validated",
            "validated_at",
            "validation_error",
            "validation_job",
            "base_version",
            "replaced_version",
            "training_job",
            "dataset_version_ref",
            "created_at",
            "promoted_at",
            "promotion_citation",
        ]
        read_only_fields = fields

    def get_remote(self, version) -> dict | None:
        """The engine a remote version calls (its key stays out of every answer)."""
        endpoint = version.remote_endpoint
        if endpoint is None:
            return None
        return {"endpoint": endpoint.name, "base_url": endpoint.base_url, "model": version.remote_model}

    def get_artifact(self, version) -> dict | None:
        artifact = version.artifact
        if artifact is None:  # a remote version
            return None
        return {
            "file_id": str(artifact.id),
            "filename": artifact.filename,
            "size": artifact.size,
            "sha256": artifact.sha256,
        }


class GeneratorSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    production_version = serializers.SerializerMethodField()

    class Meta:
        model = Generator
        fields = [
            "slug",
            "name",
            "kind",
            "backend",
            "description",
            "owner",
            "visibility",
            "production_version",
            "created_at",
        ]
        read_only_fields = fields

    def get_production_version(self, generator) -> int | None:
        return next((v.number for v in generator.versions.all() if v.stage == Stage.PRODUCTION), None)


class GeneratorDetailSerializer(GeneratorSerializer):
    versions = GeneratorVersionSerializer(many=True, read_only=True)

    class Meta(GeneratorSerializer.Meta):
        fields = GeneratorSerializer.Meta.fields + ["versions"]
        read_only_fields = fields


class RemoteEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as the API shows it: whether it has a key, never the key; and its health."""

    has_api_key = serializers.BooleanField(read_only=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = RemoteEndpoint
        fields = [
            "id",
            "name",
            "base_url",
            "has_api_key",
            "timeout_seconds",
            "max_concurrency",
            "structured_output",
            "health",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_health(self, endpoint) -> dict:
        from models_layer.registry.selectors import remote_endpoint_health

        return remote_endpoint_health(endpoint=endpoint)


class RemoteEndpointCreateSerializer(StrictSerializer):
    name = serializers.SlugField(max_length=100)
    base_url = serializers.CharField(max_length=500, help_text="The engine's OpenAI API, e.g. http://vllm:8000/v1.")
    api_key = serializers.CharField(
        max_length=4096,
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=True,
        write_only=True,
        help_text="Stored encrypted; never shown back.",
    )
    timeout_seconds = serializers.FloatField(min_value=1, max_value=3600, default=60.0)
    max_concurrency = serializers.IntegerField(min_value=1, max_value=4096, default=16)
    structured_output = serializers.ChoiceField(choices=StructuredOutput.choices, default=StructuredOutput.JSON_SCHEMA)


class RemoteEndpointUpdateSerializer(StrictSerializer):
    base_url = serializers.CharField(max_length=500, required=False)
    api_key = serializers.CharField(
        max_length=4096,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text='A new key; "" removes it; leave it out to keep the current one.',
    )
    timeout_seconds = serializers.FloatField(min_value=1, max_value=3600, required=False)
    max_concurrency = serializers.IntegerField(min_value=1, max_value=4096, required=False)
    structured_output = serializers.ChoiceField(choices=StructuredOutput.choices, required=False)


class RemoteVersionCreateSerializer(StrictSerializer):
    endpoint = serializers.SlugField(max_length=100, help_text="The name of a registered remote endpoint.")
    model = serializers.CharField(max_length=200, help_text="The model name the engine serves (its /v1/models id).")
    model_card = serializers.CharField(allow_blank=True, default="", max_length=200_000)
    parameters = serializers.JSONField(required=False, default=dict)


class RemoteGeneratorCreateSerializer(RemoteVersionCreateSerializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PRIVATE)
