from django.contrib import admin

from applications.marketing.models import BrandVoice, Generation, Template, Variant


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active"]
    list_filter = ["active"]
    search_fields = ["name", "slug"]


@admin.register(BrandVoice)
class BrandVoiceAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["index", "text", "passed", "attempts", "favourite", "edited"]


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "template", "language", "generator", "created_at"]
    list_filter = ["template", "language"]
    inlines = [VariantInline]
