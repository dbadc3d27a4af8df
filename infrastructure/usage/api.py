"""Usage API: what the caller has used today against their quotas."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.selectors import request_api_key_prefix
from infrastructure.usage.selectors import usage_summary
from infrastructure.usage.serializers import UsageSerializer


class UsageApi(APIView):
    @extend_schema(responses={200: UsageSerializer})
    def get(self, request):
        """Today's generation requests and tokens (and those of the API key used), the quotas, when they reset, and storage."""
        summary = usage_summary(user=request.user, api_key_prefix=request_api_key_prefix(request))
        return Response(UsageSerializer(summary).data)
