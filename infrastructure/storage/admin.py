from django.contrib import admin

from infrastructure.storage.models import File


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["filename", "owner", "size", "content_type", "sha256", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["id", "filename", "sha256", "owner__username"]
    readonly_fields = [field.name for field in File._meta.fields]

    def has_add_permission(self, request) -> bool:
        # Rows are made only by file_store, which writes the object first.
        return False
