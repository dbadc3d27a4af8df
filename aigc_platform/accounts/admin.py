from django.contrib import admin

from aigc_platform.accounts.models import ApiKey, SignInLockout
from aigc_platform.accounts.services import sign_in_lockout_clear


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


@admin.register(SignInLockout)
class SignInLockoutAdmin(admin.ModelAdmin):
    list_display = ["scope", "key", "failures", "created_at", "locked_until", "cleared_at", "cleared_by"]
    list_filter = ["scope", "cleared_at"]
    search_fields = ["key"]
    readonly_fields = ["scope", "key", "failures", "created_at", "locked_until", "cleared_at", "cleared_by"]
    actions = ["clear_lockouts"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Clear the selected lockouts (they may sign in again at once)")
    def clear_lockouts(self, request, queryset):
        cleared = [
            sign_in_lockout_clear(lockout=lockout, actor=request.user)
            for lockout in queryset
            if lockout.cleared_at is None
        ]
        self.message_user(request, f"Cleared {len(cleared)} lockout{'s' if len(cleared) != 1 else ''}.")
