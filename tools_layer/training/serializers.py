"""Request and response shapes of the training API; one hyperparameter serializer per recipe, each
field with its default and help text (the submit form is drawn from them)."""

from django.utils.translation import gettext
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from tools_layer.training.models import TrainingMetric, TrainingRun


class CommonHyperparameters(StrictSerializer):
    steps = serializers.IntegerField(min_value=1, max_value=1_000_000, default=300, help_text="Optimizer steps in all.")
    batch_size = serializers.IntegerField(
        min_value=1, max_value=4096, default=32, help_text="Examples per step (per process)."
    )
    learning_rate = serializers.FloatField(min_value=1e-7, max_value=1.0, default=2e-3, help_text="Peak learning rate.")
    warmup_steps = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        default=10,
        help_text="Linear warm-up steps; then cosine decay to a tenth of the peak.",
    )
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        default=0,
        help_text="Seeds weights and batches: the same seed repeats a CPU run exactly.",
    )
    eval_every = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        default=20,
        help_text="Record metrics (loss, validation loss, throughput) every N steps.",
    )
    sample_every = serializers.IntegerField(
        min_value=1, max_value=100_000, default=100, help_text="Show a sample every N steps."
    )
    checkpoint_every = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        default=100,
        help_text="Save a checkpoint to object storage every N steps (and at the end).",
    )
    cpu_processes = serializers.IntegerField(
        min_value=0,
        max_value=8,
        default=0,
        help_text="Run this many CPU processes with DDP (gloo) instead of one; 0 uses the job's GPUs (DDP when more than one).",
    )


class LanguageHyperparameters(CommonHyperparameters):
    context = serializers.IntegerField(min_value=8, max_value=4096, default=64, help_text="Tokens per training window.")
    weight_decay = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.01)
    sample_prompt = serializers.CharField(
        max_length=200, default="The", allow_blank=True, help_text="Text the samples continue."
    )
    sample_tokens = serializers.IntegerField(min_value=1, max_value=512, default=40, help_text="Tokens per sample.")


class LmScratchHyperparameters(LanguageHyperparameters):
    batch_size = serializers.IntegerField(
        min_value=1, max_value=4096, default=16, help_text="Windows per step (per process)."
    )
    vocab_size = serializers.IntegerField(
        min_value=260, max_value=65_536, default=1024, help_text="Byte-level BPE vocabulary trained from the dataset."
    )
    n_layer = serializers.IntegerField(min_value=1, max_value=48, default=2, help_text="Transformer blocks.")
    n_head = serializers.IntegerField(min_value=1, max_value=64, default=2, help_text="Attention heads per block.")
    n_embd = serializers.IntegerField(
        min_value=8, max_value=4096, default=64, help_text="Hidden size (a multiple of n_head)."
    )
    dropout = serializers.FloatField(min_value=0.0, max_value=0.9, default=0.0)

    def validate(self, attrs):
        if attrs["n_embd"] % attrs["n_head"]:
            raise serializers.ValidationError({"n_embd": [gettext("Must be a multiple of n_head.")]})
        return attrs


class LmFinetuneHyperparameters(LanguageHyperparameters):
    steps = serializers.IntegerField(min_value=1, max_value=1_000_000, default=100, help_text="Optimizer steps in all.")
    batch_size = serializers.IntegerField(
        min_value=1, max_value=1024, default=4, help_text="Windows per step (per process)."
    )
    learning_rate = serializers.FloatField(min_value=1e-7, max_value=1.0, default=5e-4, help_text="Peak learning rate.")
    context = serializers.IntegerField(
        min_value=8, max_value=8192, default=128, help_text="Tokens per training window."
    )
    method = serializers.ChoiceField(
        choices=["lora", "full"],
        default="lora",
        help_text="LoRA adapters (merged into the weights when saved) or every weight.",
    )
    lora_r = serializers.IntegerField(min_value=1, max_value=256, default=8, help_text="LoRA rank.")
    lora_alpha = serializers.IntegerField(
        min_value=1, max_value=1024, default=16, help_text="LoRA scaling (alpha / r)."
    )
    lora_dropout = serializers.FloatField(min_value=0.0, max_value=0.9, default=0.0)
    eval_every = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        default=10,
        help_text="Record metrics (loss, validation loss, throughput) every N steps.",
    )
    sample_every = serializers.IntegerField(
        min_value=1, max_value=100_000, default=50, help_text="Show a sample every N steps."
    )
    checkpoint_every = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        default=50,
        help_text="Save a checkpoint to object storage every N steps (and at the end).",
    )


class LmDpoHyperparameters(LmFinetuneHyperparameters):
    method = None  # always LoRA: the reference model is the base with its adapters switched off
    steps = serializers.IntegerField(min_value=1, max_value=1_000_000, default=100, help_text="Optimizer steps in all.")
    batch_size = serializers.IntegerField(
        min_value=1, max_value=256, default=4, help_text="Preference pairs per step (per process)."
    )
    learning_rate = serializers.FloatField(min_value=1e-7, max_value=1.0, default=5e-4, help_text="Peak learning rate.")
    context = serializers.IntegerField(
        min_value=16,
        max_value=8192,
        default=256,
        help_text="Most tokens of a prompt and one response together (the prompt keeps at most half).",
    )
    beta = serializers.FloatField(
        min_value=0.001,
        max_value=10.0,
        default=0.1,
        help_text="How far from the base model the preferences may pull it (DPO's beta; smaller goes further).",
    )


class ImageHyperparameters(CommonHyperparameters):
    batch_size = serializers.IntegerField(
        min_value=2, max_value=4096, default=64, help_text="Images per step (per process)."
    )
    image_size = serializers.ChoiceField(
        choices=[8, 16, 32], default=8, help_text="Images are made grayscale and this many pixels square."
    )
    latent_dim = serializers.IntegerField(
        min_value=1, max_value=512, default=16, help_text="Size of the noise / latent vector."
    )


class DcganHyperparameters(ImageHyperparameters):
    width = serializers.IntegerField(
        min_value=4, max_value=512, default=32, help_text="Channels of the first convolution."
    )
    beta1 = serializers.FloatField(
        min_value=0.0, max_value=0.999, default=0.5, help_text="Adam's beta1 (0.5 steadies GANs)."
    )


class VaeHyperparameters(ImageHyperparameters):
    latent_dim = serializers.IntegerField(min_value=1, max_value=512, default=8, help_text="Size of the latent vector.")
    width = serializers.IntegerField(
        min_value=4, max_value=4096, default=128, help_text="Hidden units of encoder and decoder."
    )
    beta = serializers.FloatField(min_value=0.0, max_value=100.0, default=1.0, help_text="Weight of the KL term.")


HYPERPARAMETERS = {
    "lm-scratch": LmScratchHyperparameters,
    "lm-finetune": LmFinetuneHyperparameters,
    "lm-dpo": LmDpoHyperparameters,
    "dcgan": DcganHyperparameters,
    "vae": VaeHyperparameters,
}


class ResourcesSerializer(StrictSerializer):
    gpus = serializers.IntegerField(
        min_value=0, max_value=64, default=0, help_text="GPUs on one worker; more than one trains with DDP."
    )
    min_gpu_memory_mb = serializers.IntegerField(
        min_value=0, max_value=10_000_000, default=0, help_text="Memory each GPU must have."
    )


class LabelFilterSerializer(StrictSerializer):
    only_accepted = serializers.BooleanField(
        required=False, default=False, help_text="Only annotations a reviewer accepted."
    )
    min_rating = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=5,
        help_text="A rating project's items rated at least this (lm-finetune).",
    )


class TrainingJobSubmitSerializer(StrictSerializer):
    recipe = serializers.ChoiceField(choices=list(HYPERPARAMETERS))
    dataset_version = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The frozen dataset version to train on (its train/validation split); or give labeling_project.",
    )
    labeling_project = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Train on a labelling project's judgements instead: exported now into a dataset version "
        "(lm-dpo: pairwise choices, or ratings paired within a prompt, ties skipped; lm-finetune: the texts).",
    )
    label_filter = LabelFilterSerializer(required=False, allow_null=True, default=None)
    base_generator = serializers.SlugField(
        max_length=100,
        required=False,
        allow_null=True,
        default=None,
        help_text="lm-finetune: the generator whose production version it starts from.",
    )
    generator = serializers.SlugField(
        max_length=100,
        required=False,
        allow_null=True,
        default=None,
        help_text="The generator the result becomes a version of; created when new.",
    )
    hyperparameters = serializers.DictField(required=False, default=dict)
    resources = ResourcesSerializer(required=False)
    licence_override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Admins only: train on a dataset whose licence forbids it (NoDerivatives, a custom no-training licence); audited.",
    )


class TrainingRunSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="job_id", read_only=True)
    status = serializers.CharField(source="job.status", read_only=True)
    progress = serializers.FloatField(source="job.progress", read_only=True)
    message = serializers.CharField(source="job.message", read_only=True)
    error = serializers.CharField(source="job.error", read_only=True)
    attempt = serializers.IntegerField(source="job.attempt", read_only=True)
    worker = serializers.CharField(source="job.worker", read_only=True)
    gpus = serializers.IntegerField(source="job.gpus", read_only=True)
    min_gpu_memory_mb = serializers.IntegerField(source="job.min_gpu_memory_mb", read_only=True)
    result = serializers.JSONField(source="job.result", read_only=True, allow_null=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    dataset = serializers.CharField(source="dataset_version.dataset.name", read_only=True)
    dataset_version_number = serializers.IntegerField(source="dataset_version.number", read_only=True)
    base_version = serializers.SerializerMethodField()
    labeling_project = serializers.UUIDField(source="labeling_project_id", read_only=True, allow_null=True)
    result_version = serializers.SerializerMethodField()
    finished_at = serializers.DateTimeField(source="job.finished_at", read_only=True, allow_null=True)

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "recipe",
            "status",
            "progress",
            "message",
            "error",
            "attempt",
            "worker",
            "gpus",
            "min_gpu_memory_mb",
            "owner",
            "dataset_version",
            "dataset",
            "dataset_version_number",
            "base_version",
            "labeling_project",
            "label_filter",
            "generator_slug",
            "hyperparameters",
            "processes",
            "total_steps",
            "checkpoint_step",
            "result_version",
            "result",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_base_version(self, run) -> dict | None:
        version = run.base_version
        return {"generator": version.generator.slug, "number": version.number} if version else None

    def get_result_version(self, run) -> dict | None:
        version = run.result_version
        return (
            {"generator": version.generator.slug, "number": version.number, "stage": version.stage} if version else None
        )


class TrainingMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingMetric
        fields = ["step", "attempt", "values", "created_at"]
        read_only_fields = fields


class TrainingMetricsSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    recipe = serializers.CharField()
    status = serializers.CharField()
    total_steps = serializers.IntegerField()
    metrics = TrainingMetricSerializer(many=True)


class RecipeFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    help_text = serializers.CharField(allow_blank=True)
    min_value = serializers.FloatField(allow_null=True)
    max_value = serializers.FloatField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField(), allow_null=True)


class RecipeSerializer(serializers.Serializer):
    name = serializers.CharField()
    dataset_kind = serializers.CharField()
    generator_kind = serializers.CharField()
    needs_base = serializers.BooleanField()
    hyperparameters = RecipeFieldSerializer(many=True)


class TrainingJobParams(StrictSerializer):
    """The `training` job's params: what the run is, as the API validated it."""

    recipe = serializers.ChoiceField(choices=list(HYPERPARAMETERS))
    dataset_version = serializers.UUIDField()
    base_version_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    generator = serializers.SlugField(max_length=100)
    hyperparameters = serializers.DictField()
