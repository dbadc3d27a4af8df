from rest_framework import serializers


class StorageUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField(help_text="Bytes of the user's files.")
    files = serializers.IntegerField()
    quota = serializers.IntegerField(help_text="Bytes allowed; 0: no quota.")


class ApiKeyUsageSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    tokens = serializers.IntegerField(help_text="Tokens generated today with this key.")
    tokens_reserved = serializers.IntegerField(
        help_text="Tokens set aside for this key's jobs still queued or running."
    )
    tokens_limit = serializers.IntegerField(help_text="Tokens per day per API key; 0: no quota.")


class UsageSerializer(serializers.Serializer):
    day = serializers.DateField()
    requests = serializers.IntegerField(help_text="Generation requests accepted today.")
    tokens = serializers.IntegerField(help_text="Tokens generated today, with any credential.")
    tokens_limit = serializers.IntegerField(help_text="Tokens per day per user; 0: no quota.")
    tokens_reserved = serializers.IntegerField(
        help_text="Tokens set aside for jobs still queued or running (counted against the quota until they end)."
    )
    resets_at = serializers.DateTimeField()
    api_key = ApiKeyUsageSerializer(allow_null=True, help_text="The API key this request came with, if any.")
    storage = StorageUsageSerializer()
