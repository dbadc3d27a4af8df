"""Generators API: list, detail (versions, model cards), create, upload a version, promote, roll back,
and generate (a job; `?wait=N` returns it finished, result inline, when it ends within N seconds)."""

import time

from django.db.models import Prefetch
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsAdmin, IsOperatorToWrite
from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError, PermissionDenied
from infrastructure.compute.selectors import jobs_visible_to
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from infrastructure.storage.selectors import file_get
from infrastructure.storage.services import file_delete, file_store_staged
from infrastructure.storage.uploads import StagedUploadApiMixin
from models_layer.registry import selectors, services
from models_layer.registry.models import GeneratorVersion
from models_layer.registry.serializers import (
    WAIT_MAX_SECONDS,
    GenerateQuerySerializer,
    GenerateVersionSerializer,
    GeneratorCreateSerializer,
    GeneratorDetailSerializer,
    GeneratorSerializer,
    GeneratorVersionSerializer,
    ImageGenerate,
    PromoteSerializer,
    RemoteEndpointCreateSerializer,
    RemoteEndpointSerializer,
    RemoteEndpointUpdateSerializer,
    RemoteGeneratorCreateSerializer,
    RemoteVersionCreateSerializer,
    TextGenerate,
    VersionUploadSerializer,
)

TERMINAL = {"succeeded", "failed", "cancelled"}


def _with_versions(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "versions",
            queryset=GeneratorVersion.objects.select_related(
                "artifact", "remote_endpoint", "base_version", "replaced_version"
            ),
        )
    )


class GeneratorListApi(ListAPIView):
    serializer_class = GeneratorSerializer
    permission_classes = [IsOperatorToWrite]

    def get_queryset(self):
        generators = _with_versions(selectors.generators_visible_to(user=self.request.user))
        if kind := self.request.query_params.get("kind"):
            generators = generators.filter(kind=kind)
        return generators

    @extend_schema(request=GeneratorCreateSerializer, responses={201: GeneratorSerializer})
    def post(self, request):
        """Create a generator (operators and admins); add versions by uploading them."""
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
            raise PermissionDenied(
                gettext("Only the owner of %(slug)s (or an admin) may add versions.") % {"slug": slug}
            )
        serializer = VersionUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "file" in data:
            upload = data["file"]
            artifact = file_store_staged(owner=request.user, staged=upload.staged, filename=upload.name)
        else:
            artifact = file_get(user=request.user, pk=data["file_id"])
        base = (
            selectors.generator_version_get(generator=generator, number=data["base_version"])
            if data["base_version"]
            else None
        )
        try:
            version = services.generator_version_upload(
                user=request.user,
                generator=generator,
                artifact=artifact,
                format=data["format"],
                model_card=data["model_card"],
                parameters=data["parameters"],
                base_version=base,
            )
        except ApplicationError:
            if "file" in data:  # a refused upload keeps nothing of what it sent
                file_delete(file=artifact)
            raise
        return Response(GeneratorVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class GeneratorVersionPromoteApi(APIView):
    @extend_schema(request=PromoteSerializer, responses=GeneratorVersionSerializer)
    def post(self, request, slug, number):
        generator = selectors.generator_get(user=request.user, slug=slug)
        serializer = PromoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = selectors.generator_version_get(generator=generator, number=number)
        comparison = serializer.validated_data["comparison"]
        version = services.generator_version_promote(
            user=request.user,
            version=version,
            stage=serializer.validated_data["stage"],
            comparison=str(comparison) if comparison else None,
        )
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
            component_name="Generate",
            serializers=[TextGenerate, ImageGenerate],
            resource_type_field_name=None,
        ),
        parameters=[GenerateQuerySerializer],
        responses={
            202: OpenApiResponse(
                JobStartedSerializer, description="The job, queued or running (the generator in `object`)."
            ),
            200: OpenApiResponse(
                JobStartedSerializer,
                description=f"With `?wait`: the job finished within the wait (at most "
                f"{WAIT_MAX_SECONDS} s), its result inline.",
            ),
        },
    )
    def post(self, request, slug):
        """Body: the kind's parameters (text: `prompt` or `messages`, `max_new_tokens`, `temperature`,
        `top_p`, `presence_penalty`, `frequency_penalty`, `seed`, `stop`, `response_format`; image: `count`, `seed`) and optionally `version`.

        Moderation: a blocked prompt or message is a 400 (`content_blocked`, naming the field); a blocked
        answer ends with finish_reason `content_filter`, keeping only the text released before it."""
        query = GenerateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(request.data) if isinstance(request.data, dict) else {}
        chosen = GenerateVersionSerializer(data={"version": params.pop("version", None)})
        chosen.is_valid(raise_exception=True)
        job = services.generation_submit(
            user=request.user,
            generator=slug,
            params=params,
            version=chosen.validated_data["version"],
            api_key_prefix=request_api_key_prefix(request),
            surface="playground" if query.validated_data["via"] == "playground" else "generate API",
        )
        wait = query.validated_data["wait"]
        if wait > 0:
            job = _wait_for(request.user, job, wait)
        finished = wait > 0 and job.status in TERMINAL
        return job_started_response(
            job, ("generator", slug), status_code=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED
        )


class RemoteEndpointListApi(ListAPIView):
    """Remote engines (OpenAI-compatible) and their health, as the workers last saw it (admins)."""

    permission_classes = [IsAdmin]
    serializer_class = RemoteEndpointSerializer

    def get_queryset(self):
        return selectors.remote_endpoints_all()

    @extend_schema(request=RemoteEndpointCreateSerializer, responses={201: RemoteEndpointSerializer})
    def post(self, request):
        """Register a remote engine. Its API key is stored encrypted and never shown back."""
        serializer = RemoteEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.remote_endpoint_create(user=request.user, **serializer.validated_data)
        return Response(RemoteEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class RemoteEndpointDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=RemoteEndpointSerializer)
    def get(self, request, name):
        return Response(RemoteEndpointSerializer(selectors.remote_endpoint_get(name=name)).data)

    @extend_schema(request=RemoteEndpointUpdateSerializer, responses=RemoteEndpointSerializer)
    def patch(self, request, name):
        serializer = RemoteEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.remote_endpoint_update(
            user=request.user, endpoint=selectors.remote_endpoint_get(name=name), **serializer.validated_data
        )
        return Response(RemoteEndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, name):
        services.remote_endpoint_delete(user=request.user, endpoint=selectors.remote_endpoint_get(name=name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RemoteVersionCreateApi(APIView):
    @extend_schema(request=RemoteVersionCreateSerializer, responses={201: GeneratorVersionSerializer})
    def post(self, request, slug):
        """A new draft version of a remote generator: a model on a registered endpoint. A validation
        job (in `validation_job`) calls it once; then it is promoted as any other version."""
        generator = selectors.generator_get(user=request.user, slug=slug)
        serializer = RemoteVersionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = services.generator_version_remote_create(
            user=request.user,
            generator=generator,
            endpoint=selectors.remote_endpoint_get(name=data["endpoint"]),
            model=data["model"],
            parameters=data["parameters"],
            model_card=data["model_card"],
        )
        return Response(GeneratorVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class RemoteGeneratorCreateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=RemoteGeneratorCreateSerializer, responses={201: GeneratorVersionSerializer})
    def post(self, request):
        """A remote text generator (backend openai-compatible) with its first version, on a registered endpoint."""
        serializer = RemoteGeneratorCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = services.remote_generator_register(
            user=request.user,
            slug=data["slug"],
            name=data["name"],
            description=data["description"],
            visibility=data["visibility"],
            endpoint=selectors.remote_endpoint_get(name=data["endpoint"]),
            model=data["model"],
        )
        return Response(GeneratorVersionSerializer(version).data, status=status.HTTP_201_CREATED)
