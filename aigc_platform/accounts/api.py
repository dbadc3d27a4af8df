"""Accounts API: tokens, the signed-in user, and API keys."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts import selectors, services
from aigc_platform.accounts.models import ApiKeyScope
from aigc_platform.accounts.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    IssuedApiKeySerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)
from aigc_platform.audit.services import audit_record
from aigc_platform.core.api import OwnedObjectMixin
from aigc_platform.core.errors import ApplicationError


class TokenApi(APIView):
    """Sign in for a token. `authenticate` applies the one sign-in limit (accounts/backends.py): a client
    over its rate, or a locked account or client, gets a 429 with Retry-After."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise ApplicationError(gettext("Wrong username or password."), code="authentication_failed")
        token, _ = Token.objects.get_or_create(user=user)
        audit_record(action="token_issued", actor=user, request=request)
        return Response({"token": token.key})


class TokenRevokeApi(APIView):
    api_key_scope = ApiKeyScope.ADMIN

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        audit_record(action="token_revoked", actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class ApiKeyListApi(ListAPIView):
    """A user's API keys. Through an API key, only one with the `admin` scope lists or makes keys."""

    serializer_class = ApiKeySerializer
    api_key_scope = ApiKeyScope.ADMIN

    def get_queryset(self):
        return selectors.api_keys_of(user=self.request.user)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: IssuedApiKeySerializer})
    def post(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.api_key_create(owner=request.user, **serializer.validated_data)
        body = ApiKeySerializer(issued.api_key).data | {"key": issued.raw_key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(OwnedObjectMixin, APIView):
    api_key_scope = ApiKeyScope.ADMIN
    not_found_message = gettext_lazy("No API key with id %(pk)s.")

    @extend_schema(request=None, responses=ApiKeySerializer)
    def delete(self, request, pk: int):
        api_key = self.get_owned_object(selectors.api_keys_of(user=request.user), pk, request)
        return Response(ApiKeySerializer(services.api_key_revoke(api_key=api_key, actor=request.user)).data)
