"""Marketing copy API: templates, brand voices, generations (→ Job), variants, exports, labeling."""
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.core.errors import ApplicationError
from applications.api import FileDownloadMixin
from applications.marketing import exports, selectors, services
from applications.marketing.serializers import (
    BrandVoiceSerializer,
    BrandVoiceWriteSerializer,
    GenerationRequestSerializer,
    GenerationSerializer,
    SendToLabelingSerializer,
    SentToLabelingSerializer,
    TemplateSerializer,
    VariantSerializer,
    VariantUpdateSerializer,
)
from infrastructure.compute.serializers import JobSerializer


class TemplateListApi(ListAPIView):
    """The templates a generation can use (admins edit them in the admin)."""

    serializer_class = TemplateSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.templates_active()


class TemplateDetailApi(APIView):
    @extend_schema(responses=TemplateSerializer)
    def get(self, request, slug: str):
        return Response(TemplateSerializer(selectors.template_get(slug=slug)).data)


class BrandVoiceListApi(ListAPIView):
    serializer_class = BrandVoiceSerializer

    def get_queryset(self):
        return selectors.brand_voices_visible_to(user=self.request.user)

    @extend_schema(request=BrandVoiceWriteSerializer, responses={201: BrandVoiceSerializer})
    def post(self, request):
        serializer = BrandVoiceWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voice = services.brand_voice_create(owner=request.user, **serializer.validated_data)
        return Response(BrandVoiceSerializer(voice).data, status=status.HTTP_201_CREATED)


class BrandVoiceDetailApi(APIView):
    @extend_schema(responses=BrandVoiceSerializer)
    def get(self, request, pk: int):
        return Response(BrandVoiceSerializer(selectors.brand_voice_get(user=request.user, pk=pk)).data)

    @extend_schema(request=BrandVoiceWriteSerializer, responses=BrandVoiceSerializer)
    def patch(self, request, pk: int):
        voice = selectors.brand_voice_get(user=request.user, pk=pk)
        serializer = BrandVoiceWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(BrandVoiceSerializer(services.brand_voice_update(voice=voice, **serializer.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.brand_voice_delete(voice=selectors.brand_voice_get(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationListApi(ListAPIView):
    """The caller's history, newest first (`?favourites=true`: only generations with a favourite)."""

    serializer_class = GenerationSerializer

    def get_queryset(self):
        favourites = self.request.query_params.get("favourites", "").lower() in ("1", "true", "yes")
        return selectors.generations_visible_to(user=self.request.user, favourites_only=favourites)

    @extend_schema(parameters=[OpenApiParameter("favourites", bool)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=GenerationRequestSerializer, responses={201: JobSerializer})
    def post(self, request):
        """Queue a generation; the answer is its Job (plus `generation_id`), whose result is
        `{variants: [{text, fields, checks, passed, attempts}]}`. Follow `/api/v1/jobs/{id}/events/`
        for `token` and `variant` events."""
        serializer = GenerationRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        generation = services.generation_submit(user=request.user, **serializer.validated_data)
        return Response({**JobSerializer(generation.job).data, "generation_id": generation.pk}, status=status.HTTP_201_CREATED)


class GenerationDetailApi(APIView):
    @extend_schema(responses=GenerationSerializer)
    def get(self, request, pk: int):
        return Response(GenerationSerializer(selectors.generation_get(user=request.user, pk=pk)).data)


class GenerationExportApi(FileDownloadMixin, APIView):
    @extend_schema(parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS))], responses={(200, "text/csv"): bytes})
    def get(self, request, pk: int):
        """The variants as CSV or Markdown (`?format=csv|md`), with an AI-generated disclosure."""
        generation = selectors.generation_get(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "csv")
        if fmt not in exports.FORMATS:
            raise ApplicationError(f"Unknown format {fmt!r}.", fields={"format": [f"One of {', '.join(exports.FORMATS)}."]})
        body, content_type = exports.FORMATS[fmt](generation)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="marketing-{generation.pk}.{fmt}"'
        return response


class GenerationSendToLabelingApi(APIView):
    @extend_schema(request=SendToLabelingSerializer, responses={201: SentToLabelingSerializer})
    def post(self, request, pk: int):
        """Send the variants (or the chosen ones) to a rating project for people to rate."""
        generation = selectors.generation_get(user=request.user, pk=pk)
        serializer = SendToLabelingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sent = services.generation_send_to_labeling(generation=generation, user=request.user,
                                                    project_id=serializer.validated_data["project"],
                                                    variant_ids=serializer.validated_data["variants"])
        return Response(SentToLabelingSerializer(sent).data, status=status.HTTP_201_CREATED)


class VariantDetailApi(APIView):
    @extend_schema(responses=VariantSerializer)
    def get(self, request, pk: int):
        return Response(VariantSerializer(selectors.variant_get(user=request.user, pk=pk)).data)

    @extend_schema(request=VariantUpdateSerializer, responses=VariantSerializer)
    def patch(self, request, pk: int):
        """Edit the text in place (its checks run again) or mark it a favourite."""
        variant = selectors.variant_get(user=request.user, pk=pk)
        serializer = VariantUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(VariantSerializer(services.variant_update(variant=variant, user=request.user, **serializer.validated_data)).data)
