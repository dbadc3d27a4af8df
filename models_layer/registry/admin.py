from django.contrib import admin

from models_layer.registry.models import Generator, GeneratorVersion


class GeneratorVersionInline(admin.TabularInline):
    model = GeneratorVersion
    fields = ["number", "stage", "format", "artifact", "validated_at", "promoted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Generator)
class GeneratorAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "backend", "owner", "visibility", "created_at"]
    list_filter = ["kind", "backend", "visibility"]
    search_fields = ["slug", "name"]
    inlines = [GeneratorVersionInline]


@admin.register(GeneratorVersion)
class GeneratorVersionAdmin(admin.ModelAdmin):
    list_display = ["generator", "number", "stage", "format", "validated_at", "created_at"]
    list_filter = ["stage", "format"]
    raw_id_fields = ["artifact", "validation_job", "training_job", "base_version", "replaced_version", "created_by"]
