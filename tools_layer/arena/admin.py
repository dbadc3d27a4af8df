from django.contrib import admin

from tools_layer.arena.models import Comparison


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "prompt_source", "created_at")
    readonly_fields = ("job", "project", "prompts")
