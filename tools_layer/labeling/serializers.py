"""Request and response shapes of the labeling API."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.labeling.models import Annotation, LabelingProject, MemberRole, TaskType
from tools_layer.labeling.services import EXPORT_FORMATS, PREANNOTATE_MAX_TASKS


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    dataset = serializers.UUIDField(source="dataset_version.dataset_id", read_only=True, allow_null=True, default=None)
    members = serializers.SerializerMethodField()

    class Meta:
        model = LabelingProject
        fields = [
            "id",
            "name",
            "owner",
            "dataset",
            "dataset_version",
            "task_type",
            "labels",
            "instructions",
            "overlap",
            "lock_seconds",
            "members",
            "created_at",
        ]
        read_only_fields = fields

    def get_members(self, project) -> list[dict]:
        return [
            {"username": m.user.username, "role": m.role}
            for m in project.members.select_related("user").order_by("user__username")
        ]


class ProjectCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    dataset_version = serializers.UUIDField(required=False, allow_null=True, default=None)
    labels = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    instructions = serializers.CharField(required=False, default="", allow_blank=True)
    overlap = serializers.IntegerField(min_value=1, max_value=20, required=False, default=1)
    lock_seconds = serializers.IntegerField(min_value=10, max_value=24 * 3600, required=False, default=600)
    annotators = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list)


class MemberSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.ANNOTATOR)


class AnnotationSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "task",
            "annotator",
            "value",
            "status",
            "seconds_spent",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnnotationCreateSerializer(StrictSerializer):
    value = serializers.JSONField(
        help_text='{"label"}, {"labels": [...]}, {"rating": 1-5}, {"choice": "a"|"b"|"tie"} or {"text"}.'
    )
    seconds_spent = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)


class ReviewSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    comment = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class ExportSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, required=False)
    only_accepted = serializers.BooleanField(required=False, default=False)
    target_dataset = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="format=dataset: add to this dataset (else a new one is made).",
    )


class OutputSerializer(StrictSerializer):
    text = serializers.CharField(required=False)
    prompt = serializers.CharField(required=False, allow_blank=True)
    a = serializers.CharField(required=False)
    b = serializers.CharField(required=False)


class OutputsSerializer(StrictSerializer):
    outputs = OutputSerializer(many=True, allow_empty=False)
    source = serializers.DictField(required=False, default=dict)


class ProposalSerializer(StrictSerializer):
    task = serializers.IntegerField()
    value = serializers.JSONField()


class ProposalsSerializer(StrictSerializer):
    proposals = ProposalSerializer(many=True, allow_empty=False)


class PreannotateSerializer(StrictSerializer):
    generator = serializers.CharField(max_length=200, help_text="A text generator's slug.")
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="A version number; the production version if left out.",
    )
    max_tasks = serializers.IntegerField(
        min_value=1,
        max_value=PREANNOTATE_MAX_TASKS,
        required=False,
        default=200,
        help_text="At most this many tasks without a proposal or an answer, in task order.",
    )
