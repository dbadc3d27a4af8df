from django.contrib import admin

from tools_layer.training.models import TrainingMetric, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["job", "recipe", "owner", "generator_slug", "checkpoint_step", "total_steps", "created_at"]
    list_filter = ["recipe"]
    raw_id_fields = ["job", "owner", "dataset_version", "base_version", "checkpoint", "result_version"]


@admin.register(TrainingMetric)
class TrainingMetricAdmin(admin.ModelAdmin):
    list_display = ["run", "step", "attempt", "created_at"]
    raw_id_fields = ["run"]
