"""Courseware's request and response shapes."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from applications.courseware import authoring, services
from applications.courseware.models import Lesson
from applications.writing import LANGUAGES, generator_advice
from infrastructure.compute.serializers import JobSerializer, JobStartedSerializer


class LessonRequestSerializer(StrictSerializer):
    topic = serializers.CharField(max_length=200)
    grade_level = serializers.IntegerField(min_value=1, max_value=13, help_text="School grade 1-12, or 13 for college.")
    objectives = serializers.ListField(
        child=serializers.CharField(max_length=200),
        min_length=1,
        max_length=services.MAX_OBJECTIVES,
        help_text="Learning objectives; each is covered by a slide.",
    )
    slide_count = serializers.IntegerField(min_value=1, max_value=services.MAX_SLIDES, default=5)
    quiz_questions = serializers.IntegerField(min_value=1, max_value=services.MAX_QUIZ_QUESTIONS, default=4)
    language = serializers.ChoiceField(choices=list(LANGUAGES), default="en")
    generator = serializers.SlugField(
        required=False, allow_null=True, default=None, help_text="Default: the language's generator."
    )
    generator_version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class ActivitySerializer(serializers.Serializer):
    name = serializers.CharField()
    minutes = serializers.IntegerField()
    description = serializers.CharField()


class LessonPlanSerializer(serializers.Serializer):
    """Empty until the job has written it."""

    objectives = serializers.ListField(child=serializers.CharField(), required=False)
    overview = serializers.CharField(required=False)
    activities = ActivitySerializer(many=True, required=False)
    total_minutes = serializers.IntegerField(required=False)


class SlideSerializer(serializers.Serializer):
    title = serializers.CharField()
    bullets = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()


class QuestionSerializer(serializers.Serializer):
    question = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    answer = serializers.CharField()
    explanation = serializers.CharField()


class LessonSerializer(serializers.ModelSerializer):
    lesson_plan = LessonPlanSerializer(read_only=True)
    slides = SlideSerializer(many=True, read_only=True)
    quiz = QuestionSerializer(many=True, read_only=True)
    checks = serializers.JSONField(
        read_only=True,
        help_text="Per section and item: {checks, passed, attempts, tries}; tries names the checks each attempt failed.",
    )
    passed = serializers.BooleanField(read_only=True, help_text="Every item passed every check.")
    job = JobSerializer(read_only=True, allow_null=True)
    generator_advice = serializers.SerializerMethodField(
        help_text="Set when the generator failed more than half of the lesson's items: it says so and points to a larger generator."
    )

    class Meta:
        model = Lesson
        fields = [
            "id",
            "topic",
            "grade_level",
            "objectives",
            "slide_count",
            "quiz_questions",
            "language",
            "generator",
            "lesson_plan",
            "slides",
            "quiz",
            "checks",
            "passed",
            "generator_advice",
            "job",
            "created_at",
            "updated_at",
        ]

    def get_generator_advice(self, lesson) -> str | None:
        checks = lesson.checks or {}
        entries = [checks.get("lesson_plan"), checks.get("outline"), *checks.get("slides", []), *checks.get("quiz", [])]
        written = [entry for entry in entries if isinstance(entry, dict) and entry.get("checks")]
        return generator_advice(
            failed=sum(not entry.get("passed") for entry in written), total=len(written), generator=lesson.generator
        )


class LessonJobSerializer(JobStartedSerializer):
    """The lesson's job started, and the lesson it writes in `object`."""

    lesson_id = serializers.IntegerField(read_only=True, help_text="The same as object.id; kept for older clients.")

    class Meta(JobStartedSerializer.Meta):
        fields = JobStartedSerializer.Meta.fields + ["lesson_id"]


class SlideUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=authoring.TITLE_CHARS[1] * 2, required=False)
    bullets = serializers.ListField(
        child=serializers.CharField(max_length=authoring.BULLET_CHARS[1] * 3),
        min_length=1,
        max_length=10,
        required=False,
    )
    notes = serializers.CharField(max_length=authoring.NOTES_CHARS[1] * 4, required=False)


class QuestionUpdateSerializer(StrictSerializer):
    question = serializers.CharField(max_length=authoring.QUESTION_CHARS[1] * 2, required=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=authoring.CHOICE_CHARS[1] * 2),
        min_length=authoring.CHOICES,
        max_length=authoring.CHOICES,
        required=False,
    )
    answer = serializers.CharField(max_length=authoring.CHOICE_CHARS[1] * 2, required=False)
    explanation = serializers.CharField(max_length=authoring.EXPLANATION_CHARS[1] * 2, required=False)
