"""Generators API: list, detail (versions, model cards), create, upload a version, promote, roll back,
and generate (a job; `?wait=N` returns it finished, result inline, when it ends within N seconds)."""
import time

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError, PermissionDenied
from infrastructure.compute.selectors import jobs_visible_to
from infrastructure.compute.serializers import JobSerializer
from infrastructure.storage.selectors import file_get
from infrastructure.storage.services import file_store_staged
from infrastructure.storage.uploads import StagedUploadApiMixin
from models_layer.registry import selectors, services
from models_layer.registry.models import GeneratorVersion
from models_layer.registry.serializers import (
    GeneratorCreateSerializer,
    GeneratorDetailSerializer,
    GeneratorSerializer,
    GeneratorVersionSerializer,
    ImageGenerate,
    PromoteSerializer,
    TextGenerate,
    VersionUploadSerializer,
)

WAIT_MAX_SECONDS = 300
TERMINAL = {"succeeded", "failed", "cancelled"}


def _with_versions(queryset):
    return queryset.prefetch_related(
        Prefetch("versions", queryset=GeneratorVersion.objects.select_related("artifact", "base_version", "replaced_version"))
    )


class GeneratorListApi(ListAPIView):
    serializer_class = GeneratorSerializer

    def get_queryset(self):
        generators = _with_versions(selectors.generators_visible_to(user=self.request.user))
        if kind := self.request.query_params.get("kind"):
            generators = generators.filter(kind=kind)
        return generators

    @extend_schema(request=GeneratorCreateSerializer, responses={201: GeneratorSerializer})
    def post(self, request):
        """Create a generator (operators and admins); add versions by uploading them."""
        if not user_has_role(request.user, OPERATOR):
            raise PermissionDenied("Only operators and admins create generators.")
        serializer = GeneratorCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        generator = services.generator_create(owner=request.user, **serializer.validated_data)
        return Response(GeneratorSerializer(generator).data, status=status.HTTP_201_CREATED)


class GeneratorDetailApi(APIView):
    @extend_schema(responses=GeneratorDetailSerializer)
    def get(self, request, slug):
        generator = selectors.generator_get(user=request.user, slug=slug)
        generator = _with_versions(type(generator).objects.filter(pk=generator.pk)).get()
        return Response(GeneratorDetailSerializer(generator).data)


class GeneratorVersionUploadApi(StagedUploadApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=VersionUploadSerializer, responses={201: GeneratorVersionSerializer})
    def post(self, request, slug):
        """A new draft version from a GGUF file, a zipped Hugging Face checkpoint or a torch checkpoint;
        a validation job (in `validation_job`) must pass before it can leave draft."""
        generator = selectors.generator_get(user=request.user, slug=slug)
        if not selectors.generator_can_manage(user=request.user, generator=generator):
            raise PermissionDenied(f"Only the owner of {slug} (or an admin) may add versions.")
        serializer = VersionUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "file" in data:
            upload = data["file"]
            artifact = file_store_staged(owner=request.user, staged=upload.staged, filename=upload.name)
        else:
            artifact = file_get(user=request.user, pk=data["file_id"])
        base = selectors.generator_version_get(generator=generator, number=data["base_version"]) if data["base_version"] else None
        version = services.generator_version_upload(
            user=request.user, generator=generator, artifact=artifact, format=data["format"],
            model_card=data["model_card"], parameters=data["parameters"], base_version=base,
        )
        return Response(GeneratorVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class GeneratorVersionPromoteApi(APIView):
    @extend_schema(request=PromoteSerializer, responses=GeneratorVersionSerializer)
    def post(self, request, slug, number):
        generator = selectors.generator_get(user=request.user, slug=slug)
        serializer = PromoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = selectors.generator_version_get(generator=generator, number=number)
        version = services.generator_version_promote(user=request.user, version=version, stage=serializer.validated_data["stage"])
        return Response(GeneratorVersionSerializer(version).data)


class GeneratorRollbackApi(APIView):
    @extend_schema(request=None, responses=GeneratorVersionSerializer)
    def post(self, request, slug):
        """Put the previous production version back; the current one is archived."""
        generator = selectors.generator_get(user=request.user, slug=slug)
        version = services.generator_version_rollback(user=request.user, generator=generator)
        return Response(GeneratorVersionSerializer(version).data)


def _wait_for(user, job, seconds: float):
    """The job once it has ended, or as it is when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    pause = 0.02
    jobs = jobs_visible_to(user=user).filter(pk=job.pk)
    while time.monotonic() < deadline:
        if jobs.values_list("status", flat=True).first() in TERMINAL:
            break
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)
    return jobs.get()


class GeneratorGenerateApi(APIView):
    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="Generate", serializers=[TextGenerate, ImageGenerate], resource_type_field_name=None,
        ),
        parameters=[OpenApiParameter("wait", float, description=f"Wait up to this many seconds (at most {WAIT_MAX_SECONDS}) for the result.")],
        responses={201: JobSerializer},
    )
    def post(self, request, slug):
        """Body: the kind's parameters (text: `prompt` or `messages`, `max_new_tokens`, `temperature`,
        `top_p`, `presence_penalty`, `frequency_penalty`, `seed`, `stop`, `response_format`; image: `count`, `seed`) and optionally `version`."""
        params = dict(request.data) if isinstance(request.data, dict) else {}
        version = params.pop("version", None)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            raise ApplicationError("version must be a version number.", fields={"version": ["A positive integer."]})
        try:
            wait = min(float(request.query_params.get("wait", 0)), WAIT_MAX_SECONDS)
        except ValueError:
            raise ApplicationError("wait must be a number of seconds.", fields={"wait": ["A number."]}) from None
        job = services.generation_submit(user=request.user, generator=slug, params=params, version=version,
                                         api_key_prefix=request_api_key_prefix(request))
        if wait > 0:
            job = _wait_for(request.user, job, wait)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
