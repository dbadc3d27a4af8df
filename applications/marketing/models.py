"""Marketing copy: templates (data, editable by admins), brand voices, and generations with their variants."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

PROMPT_PLACEHOLDERS = ("product", "audience", "tone", "language", "voice", "keywords")


class Template(models.Model):
    """A kind of copy. `fields` lists what each variant is made of:
    [{"name": "headline", "label": "Headline", "min_chars": 10, "max_chars": 60}, ...];
    `prompt` is formatted with {product}, {audience}, {tone}, {language}, {voice} and {keywords}."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    fields = models.JSONField()
    prompt = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """What an admin saves must be writable: well-formed fields and a prompt with known placeholders only."""
        errors = {}
        specs = self.fields if isinstance(self.fields, list) else None
        if not specs or not all(isinstance(spec, dict) for spec in specs):
            errors["fields"] = 'A list of {"name", "label", "min_chars", "max_chars"} objects.'
        else:
            names = [spec.get("name") for spec in specs]
            if not all(isinstance(name, str) and name.isidentifier() for name in names) or len(set(names)) != len(
                names
            ):
                errors["fields"] = "Each field needs a unique name made of letters, digits and underscores."
            elif not all(
                isinstance(spec.get("max_chars"), int) and 0 <= int(spec.get("min_chars", 0)) <= spec["max_chars"]
                for spec in specs
            ):
                errors["fields"] = "Each field needs max_chars, and min_chars (if given) between 0 and max_chars."
        try:
            self.prompt.format_map({name: "" for name in PROMPT_PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as error:
            errors["prompt"] = (
                f"Use only the placeholders {', '.join('{' + n + '}' for n in PROMPT_PLACEHOLDERS)} ({error})."
            )
        if errors:
            raise ValidationError(errors)


class BrandVoice(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_voices")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    audience = models.CharField(max_length=300, blank=True)
    words_to_use = models.JSONField(default=list, blank=True)
    banned_words = models.JSONField(default=list, blank=True, help_text="Words the copy must never contain.")
    sample_copy = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="brand_voice_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class Length(models.TextChoices):
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


class Generation(models.Model):
    """One request for copy; its job writes the variants."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketing_generations")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="generations")
    brand_voice = models.ForeignKey(
        BrandVoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="generations"
    )
    product = models.TextField()
    audience = models.CharField(max_length=300)
    tone = models.CharField(max_length=100)
    language = models.CharField(max_length=8)
    length = models.CharField(max_length=8, choices=Length.choices, default=Length.MEDIUM)
    keywords = models.JSONField(default=list, blank=True, help_text="Words every variant must contain.")
    variant_count = models.PositiveSmallIntegerField()
    generator = models.CharField(max_length=120, blank=True, help_text="The generator version that wrote it.")
    job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]


class Variant(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="variants")
    index = models.PositiveSmallIntegerField()
    text = models.TextField()
    fields = models.JSONField(default=dict)
    checks = models.JSONField(default=dict)
    passed = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    favourite = models.BooleanField(default=False)
    edited = models.BooleanField(default=False)
    review = models.CharField(
        max_length=8,
        blank=True,
        choices=[("accepted", "accepted"), ("rejected", "rejected")],
        help_text="The creator's verdict; empty until given, and again after an edit or a rewrite.",
    )
    review_reason = models.TextField(blank=True)
    judgement = models.JSONField(
        default=dict,
        blank=True,
        help_text='The judge\'s {"judge", "scores", "reason"} when AIGC_JUDGE_GENERATOR names one; empty otherwise.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["generation", "index"]
        constraints = [models.UniqueConstraint(fields=["generation", "index"], name="variant_index_per_generation")]
