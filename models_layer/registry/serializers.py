"""Request and response shapes of the generators API, and the per-kind generation parameters."""
from rest_framework import serializers

from aigc_platform.core.errors import ApplicationError
from aigc_platform.core.serializers import StrictSerializer
from models_layer.registry.models import Generator, GeneratorKind, GeneratorVersion, Stage, VersionFormat, Visibility
from models_layer.runtime.structured import schema_of

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
    presence_penalty = serializers.FloatField(min_value=-2.0, max_value=2.0, default=0.0,
                                              help_text="Lowers the logit of a word already written, once.")
    frequency_penalty = serializers.FloatField(min_value=-2.0, max_value=2.0, default=0.0,
                                               help_text="Lowers the logit of a word already written, per time written.")
    seed = serializers.IntegerField(min_value=0, max_value=SEED_MAX, required=False, allow_null=True, default=None)
    stop = serializers.ListField(child=serializers.CharField(max_length=200, trim_whitespace=False), max_length=8, default=list)
    response_format = serializers.DictField(
        required=False, allow_null=True, default=None,
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
            raise serializers.ValidationError({"prompt": ["Give either a prompt or messages."]})
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


class GenerateJobParams(StrictSerializer):
    """What a `generate` job carries: the version to use and the request as its kind validated it."""

    version_id = serializers.IntegerField(min_value=1)
    generator = serializers.SlugField()
    version = serializers.IntegerField(min_value=1)
    request = serializers.DictField()
    api_key_prefix = serializers.CharField(required=False, max_length=16, help_text="The API key it came with (usage).")


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
            raise serializers.ValidationError({"file": ["Give either a file or a file_id."]})
        return data


class PromoteSerializer(StrictSerializer):
    stage = serializers.ChoiceField(choices=[Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED])


class GeneratorVersionSerializer(serializers.ModelSerializer):
    artifact = serializers.SerializerMethodField()
    base_version = serializers.IntegerField(source="base_version.number", allow_null=True, default=None)
    replaced_version = serializers.IntegerField(source="replaced_version.number", allow_null=True, default=None)
    validated = serializers.BooleanField(source="is_validated")

    class Meta:
        model = GeneratorVersion
        fields = [
            "number", "stage", "format", "parameters", "metrics", "model_card", "artifact", "validated", "validated_at",
            "validation_error", "validation_job", "base_version", "replaced_version", "training_job",
            "dataset_version_ref", "created_at", "promoted_at",
        ]
        read_only_fields = fields

    def get_artifact(self, version) -> dict:
        artifact = version.artifact
        return {"file_id": str(artifact.id), "filename": artifact.filename, "size": artifact.size, "sha256": artifact.sha256}


class GeneratorSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    production_version = serializers.SerializerMethodField()

    class Meta:
        model = Generator
        fields = ["slug", "name", "kind", "backend", "description", "owner", "visibility", "production_version", "created_at"]
        read_only_fields = fields

    def get_production_version(self, generator) -> int | None:
        return next((v.number for v in generator.versions.all() if v.stage == Stage.PRODUCTION), None)


class GeneratorDetailSerializer(GeneratorSerializer):
    versions = GeneratorVersionSerializer(many=True, read_only=True)

    class Meta(GeneratorSerializer.Meta):
        fields = GeneratorSerializer.Meta.fields + ["versions"]
        read_only_fields = fields
