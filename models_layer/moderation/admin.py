from django import forms
from django.contrib import admin

from aigc_platform.core.errors import ApplicationError
from models_layer.moderation import services
from models_layer.moderation.models import ModerationPolicy


class ModerationPolicyForm(forms.ModelForm):
    class Meta:
        model = ModerationPolicy
        fields = list(services.POLICY_FIELDS)

    def clean(self):
        values = super().clean()
        try:
            # The services' own checks (a pattern that does not compile or backtracks forever, labels…).
            services.moderation_policy_validate(dict(values))
        except ApplicationError as error:
            for field, problems in (error.fields or {}).items():
                self.add_error(field if field in self.fields else None, problems)
        return values


@admin.register(ModerationPolicy)
class ModerationPolicyAdmin(admin.ModelAdmin):
    """Admins manage policies here (or through /api/v1/moderation/policies/); saves go through the services."""

    form = ModerationPolicyForm
    list_display = ["name", "kind", "applies_to", "enabled", "language", "classifier", "updated_at"]
    list_filter = ["kind", "applies_to", "enabled"]
    search_fields = ["name", "description", "pattern"]

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data.get(name) for name in services.POLICY_FIELDS}
        if change:
            saved = services.moderation_policy_update(
                user=request.user, policy=ModerationPolicy.objects.get(pk=obj.pk), **values
            )
        else:
            saved = services.moderation_policy_create(user=request.user, **values)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.moderation_policy_delete(user=request.user, policy=obj)
