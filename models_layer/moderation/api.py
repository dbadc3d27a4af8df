"""Moderation API (operators and admins): policies (list, create, change, delete), a dry run of the
word lists and patterns on a text, and the recent blocks."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperator
from models_layer.moderation import selectors, services
from models_layer.moderation.models import PolicyKind
from models_layer.moderation.serializers import (
    BlockSerializer,
    CheckResultSerializer,
    CheckSerializer,
    PolicyCreateSerializer,
    PolicySerializer,
    PolicyUpdateSerializer,
)


class PolicyListApi(ListAPIView):
    permission_classes = [IsOperator]
    serializer_class = PolicySerializer

    def get_queryset(self):
        return selectors.policies_all()

    @extend_schema(request=PolicyCreateSerializer, responses={201: PolicySerializer})
    def post(self, request):
        """Add a policy: `words` (terms, per language), `regex` (pattern) or `classifier` (a text
        generator's slug, labels and the labels that block). A bad pattern or field is a 400."""
        serializer = PolicyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.moderation_policy_create(user=request.user, **serializer.validated_data)
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=PolicySerializer)
    def get(self, request, name):
        return Response(PolicySerializer(selectors.policy_get(name=name)).data)

    @extend_schema(request=PolicyUpdateSerializer, responses=PolicySerializer)
    def patch(self, request, name):
        serializer = PolicyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.moderation_policy_update(
            user=request.user, policy=selectors.policy_get(name=name), **serializer.validated_data
        )
        return Response(PolicySerializer(policy).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, name):
        services.moderation_policy_delete(user=request.user, policy=selectors.policy_get(name=name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CheckApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=CheckSerializer, responses=CheckResultSerializer)
    def post(self, request):
        """What the word lists and patterns find in a text, as a dry run (nothing is recorded).
        Classifier policies are skipped here: they run a generator."""
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        policies = selectors.policies_enabled(direction=data["direction"])
        verdicts = selectors.moderation_scan(text=data["text"], direction=data["direction"], policies=policies)
        return Response(
            {
                "blocked": bool(verdicts),
                "policies": [verdict.as_dict() for verdict in verdicts],
                "classifiers_skipped": any(p.kind == PolicyKind.CLASSIFIER for p in policies),
            }
        )


class BlockListApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=BlockSerializer(many=True))
    def get(self, request):
        """The latest 50 blocks (audit action content.blocked), newest first."""
        return Response(BlockSerializer(selectors.blocks_recent(), many=True).data)
