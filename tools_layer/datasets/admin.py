from django.contrib import admin

from tools_layer.datasets.models import Dataset, DatasetItem, DatasetVersion


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "licence", "has_personal_data", "created_at"]
    list_filter = ["kind", "has_personal_data"]
    search_fields = ["name", "owner__username"]


@admin.register(DatasetItem)
class DatasetItemAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "label", "content_type", "length", "derived", "augmented", "pii_scanned"]
    search_fields = ["preview", "label", "sha256"]
    raw_id_fields = ["dataset", "blob"]
    list_select_related = ["dataset"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = [
        "dataset",
        "number",
        "step",
        "item_count",
        "train_count",
        "validation_count",
        "test_count",
        "pii_scanned",
        "created_at",
    ]
    raw_id_fields = ["dataset", "manifest", "created_by", "parent"]
    readonly_fields = ["manifest_sha256", "label_counts", "parameters", "report"]
