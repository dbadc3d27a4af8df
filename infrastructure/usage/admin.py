"""Usage for admins: requests and tokens per user and API key per day, with each user's storage."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.template.defaultfilters import filesizeformat

from infrastructure.storage.models import File
from infrastructure.usage.models import DailyUsage


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    list_display = ["day", "user", "api_key_prefix", "requests", "tokens", "storage"]
    list_filter = ["day"]
    search_fields = ["user__username", "api_key_prefix"]
    date_hierarchy = "day"
    list_select_related = ["user"]

    def get_queryset(self, request):
        storage = File.objects.filter(owner=OuterRef("user")).values("owner").annotate(used=Sum("size")).values("used")
        return super().get_queryset(request).annotate(storage_bytes=Subquery(storage))

    @admin.display(description="storage (user, now)", ordering="storage_bytes")
    def storage(self, row: DailyUsage) -> str:
        return filesizeformat(row.storage_bytes or 0)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
