"""Request and response shapes of the accounts API."""
from rest_framework import serializers

from aigc_platform.accounts.models import ApiKey
from aigc_platform.accounts.roles import user_roles
from aigc_platform.core.serializers import StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    is_staff = serializers.BooleanField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return sorted(user_roles(user))


class ApiKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)


class ApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The whole key. It is shown only in this answer.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]
