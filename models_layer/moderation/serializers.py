"""Request and response shapes of the moderation API."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from models_layer.moderation import matching
from models_layer.moderation.models import AppliesTo, ModerationPolicy, PolicyKind
from models_layer.registry.models import Generator


class PolicySerializer(serializers.ModelSerializer):
    classifier = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ModerationPolicy
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "enabled",
            "applies_to",
            "language",
            "terms",
            "pattern",
            "classifier",
            "instructions",
            "labels",
            "blocked_labels",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class _PolicyFields(StrictSerializer):
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    applies_to = serializers.ChoiceField(choices=AppliesTo.choices, required=False)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, help_text="Word lists: en, zh…")
    terms = serializers.ListField(
        child=serializers.CharField(max_length=matching.TERM_MAX_CHARS),
        max_length=matching.TERMS_MAX,
        required=False,
        help_text="Word lists: words and phrases (Latin-script ones match whole words in any case).",
    )
    pattern = serializers.CharField(
        max_length=matching.PATTERN_MAX_CHARS,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Regular expressions (`regex` module syntax; inline flags such as (?i)). Checked on save: "
        "it must compile, not match the empty text, and get through long probes within "
        f"{matching.REGEX_TIMEOUT_SECONDS} s.",
    )
    classifier = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Generator.objects.all(),
        required=False,
        allow_null=True,
        help_text="Classifiers: the slug of a registered text generator (its production version answers).",
    )
    instructions = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        help_text="Classifiers: the system prompt; {labels} is filled in.",
    )
    labels = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    blocked_labels = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)


class PolicyCreateSerializer(_PolicyFields):
    name = serializers.SlugField(max_length=64)
    kind = serializers.ChoiceField(choices=PolicyKind.choices)


class PolicyUpdateSerializer(_PolicyFields):
    name = serializers.SlugField(max_length=64, required=False)
    kind = serializers.ChoiceField(choices=PolicyKind.choices, required=False)


class CheckSerializer(StrictSerializer):
    text = serializers.CharField(max_length=100_000, trim_whitespace=False)
    direction = serializers.ChoiceField(choices=["input", "output"], default="input")


class VerdictSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    kind = serializers.CharField()
    matches = serializers.ListField(child=serializers.CharField())
    label = serializers.CharField(required=False)
    note = serializers.CharField(required=False)


class CheckResultSerializer(serializers.Serializer):
    blocked = serializers.BooleanField()
    policies = VerdictSerializer(many=True)
    classifiers_skipped = serializers.BooleanField(
        help_text="Classifier policies are not run by this dry run (they run a generator)."
    )


class BlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name")
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    detail = serializers.JSONField()
