from django import forms
from django.contrib import admin, messages

from aigc_platform.core.errors import ApplicationError
from models_layer.registry import selectors, services
from models_layer.registry.models import Generator, GeneratorVersion, RemoteEndpoint


class GeneratorVersionInline(admin.TabularInline):
    model = GeneratorVersion
    fields = ["number", "stage", "format", "artifact", "remote_endpoint", "remote_model", "validated_at", "promoted_at"]
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
    raw_id_fields = [
        "artifact",
        "remote_endpoint",
        "validation_job",
        "training_job",
        "base_version",
        "replaced_version",
        "created_by",
    ]


class RemoteEndpointForm(forms.ModelForm):
    base_url = forms.CharField(max_length=500, help_text="Where its OpenAI API lives, e.g. http://vllm:8000/v1.")
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown. Leave empty to keep the current key (when changing an endpoint).",
    )
    remove_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = RemoteEndpoint
        fields = ["name", "base_url", "timeout_seconds", "max_concurrency", "structured_output"]

    def clean_base_url(self) -> str:
        try:
            return services.remote_base_url_clean(self.cleaned_data["base_url"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(RemoteEndpoint)
class RemoteEndpointAdmin(admin.ModelAdmin):
    """Admins register remote engines here (or through /api/v1/remote-endpoints/); the services encrypt the key."""

    form = RemoteEndpointForm
    list_display = [
        "name",
        "base_url",
        "has_api_key",
        "timeout_seconds",
        "max_concurrency",
        "health_state",
        "updated_at",
    ]
    readonly_fields = ["health_state", "created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    @admin.display(description="health")
    def health_state(self, endpoint) -> str:
        health = selectors.remote_endpoint_health(endpoint=endpoint)
        return health["state"] + (f": {health['last_error']}" if health.get("last_error") else "")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                key = "" if data.get("remove_api_key") else (data.get("api_key") or None)
                saved = services.remote_endpoint_update(
                    user=request.user,
                    endpoint=obj,
                    base_url=data["base_url"],
                    api_key=key,
                    timeout_seconds=data["timeout_seconds"],
                    max_concurrency=data["max_concurrency"],
                    structured_output=data["structured_output"],
                )
            else:
                saved = services.remote_endpoint_create(
                    user=request.user,
                    name=data["name"],
                    base_url=data["base_url"],
                    api_key=data.get("api_key") or "",
                    timeout_seconds=data["timeout_seconds"],
                    max_concurrency=data["max_concurrency"],
                    structured_output=data["structured_output"],
                )
        except ApplicationError as error:  # what the form could not check (a name taken meanwhile)
            messages.error(request, error.message)
            raise
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.remote_endpoint_delete(user=request.user, endpoint=obj)
