"""Training runs (one per training Job), their metric series, and their last checkpoint."""

from django.conf import settings
from django.db import models


class TrainingRun(models.Model):
    """What a training job trains: its recipe, data, base model and hyperparameters, and how far it got.

    The Job (infrastructure/compute) is the run's lifecycle; this row is what survives between its
    attempts: the last checkpoint in object storage, from which a re-queued or retried job resumes.
    """

    job = models.OneToOneField("compute.Job", on_delete=models.CASCADE, primary_key=True, related_name="training_run")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_runs")
    recipe = models.CharField(max_length=64, db_index=True)
    dataset_version = models.ForeignKey("datasets.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    base_version = models.ForeignKey(
        "registry.GeneratorVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    labeling_project = models.ForeignKey(
        "labeling.LabelingProject",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The labelling project whose judgements it trains on; `dataset_version` is their export.",
    )
    label_filter = models.JSONField(
        default=dict, blank=True, help_text="Which judgements: {only_accepted, min_rating} as submitted."
    )
    generator_slug = models.SlugField(max_length=100, help_text="The generator its result becomes a version of.")
    hyperparameters = models.JSONField(
        default=dict, help_text="As the recipe's serializer validated them, defaults included."
    )
    processes = models.PositiveIntegerField(default=1, help_text="Training processes (DDP ranks); 1 trains in the job.")
    total_steps = models.PositiveIntegerField()
    checkpoint = models.ForeignKey("storage.File", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    checkpoint_step = models.PositiveIntegerField(default=0)
    result_version = models.ForeignKey(
        "registry.GeneratorVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.recipe} run {self.job_id}"


class TrainingMetric(models.Model):
    """One point of a run's curves. A resumed run rewrites the points after its checkpoint, so a
    run has one point per step whatever its attempts."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    attempt = models.PositiveIntegerField(default=1)
    values = models.JSONField(help_text="loss, val_loss, lr, throughput, gpu_memory_mb, … as the recipe reports them.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="training_metric_one_per_step")]
