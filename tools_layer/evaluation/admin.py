from django.contrib import admin

from tools_layer.evaluation.models import Evaluation


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["id", "version", "dataset_version", "owner", "created_at", "finished_at"]
    raw_id_fields = ["owner", "version", "dataset_version", "job", "grid"]
    readonly_fields = ["metrics", "samples"]
    list_select_related = ["version__generator", "dataset_version__dataset", "owner"]
