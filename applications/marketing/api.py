"""Marketing copy API: templates, brand voices, generations (→ Job), variants, exports, labeling."""

from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError
from applications.api import FileDownloadMixin, ItemVerdictSerializer
from applications.marketing import exports, selectors, services
from applications.marketing.serializers import (
    BrandVoiceSerializer,
    BrandVoiceWriteSerializer,
    GenerationRequestSerializer,
    GenerationSerializer,
    GenerationStartedSerializer,
    SendToLabelingSerializer,
    SentToLabelingSerializer,
    TemplateSerializer,
    VariantJobStartedSerializer,
    VariantSerializer,
    VariantUpdateSerializer,
)
from infrastructure.compute.serializers import job_started_response
from infrastructure.provenance.services import PROVENANCE_HEADER


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
        return Response(
            BrandVoiceSerializer(services.brand_voice_update(voice=voice, **serializer.validated_data)).data
        )

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

    @extend_schema(request=GenerationRequestSerializer, responses={202: GenerationStartedSerializer})
    def post(self, request):
        """Queue a generation; the answer is its Job (the generation in `object`), whose result is
        `{variants: [{text, fields, checks, passed, attempts}]}`. Follow `/api/v1/jobs/{id}/events/`
        for `token` and `variant` events."""
        serializer = GenerationRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        generation = services.generation_submit(
            user=request.user, **serializer.validated_data, api_key_prefix=request_api_key_prefix(request)
        )
        return job_started_response(
            generation.job, ("generation", generation.pk), extra={"generation_id": generation.pk}
        )


class GenerationDetailApi(APIView):
    @extend_schema(responses=GenerationSerializer)
    def get(self, request, pk: int):
        return Response(GenerationSerializer(selectors.generation_get(user=request.user, pk=pk)).data)


class GenerationExportApi(FileDownloadMixin, APIView):
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS))], responses={(200, "text/csv"): bytes}
    )
    def get(self, request, pk: int):
        """The variants as CSV or Markdown (`?format=csv|md`), with an AI-generated disclosure; the export's
        provenance record is named in the X-Provenance-Id header (and Markdown's front matter)."""
        generation = selectors.generation_get(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "csv")
        if fmt not in exports.FORMATS:
            raise ApplicationError(
                gettext("Unknown format %(format)s.") % {"format": fmt},
                fields={"format": [gettext("One of %(formats)s.") % {"formats": ", ".join(exports.FORMATS)}]},
            )
        record = services.generation_export_record(generation=generation, fmt=fmt)
        with translation.override(exports.language_of(generation)):
            body, content_type = exports.FORMATS[fmt](generation, provenance_id=record.pk)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="marketing-{generation.pk}.{fmt}"'
        response[PROVENANCE_HEADER] = str(record.pk)
        return response


class GenerationSendToLabelingApi(APIView):
    @extend_schema(request=SendToLabelingSerializer, responses={201: SentToLabelingSerializer})
    def post(self, request, pk: int):
        """Send the variants (or the chosen ones) to a rating project for people to rate."""
        generation = selectors.generation_get(user=request.user, pk=pk)
        serializer = SendToLabelingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sent = services.generation_send_to_labeling(
            generation=generation,
            user=request.user,
            project_id=serializer.validated_data["project"],
            variant_ids=serializer.validated_data["variants"],
        )
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
        return Response(
            VariantSerializer(
                services.variant_update(variant=variant, user=request.user, **serializer.validated_data)
            ).data
        )


class VariantReviewApi(APIView):
    @extend_schema(request=ItemVerdictSerializer, responses=VariantSerializer)
    def post(self, request, pk: int):
        """Accept or reject the variant (`{"verdict": "accepted"|"rejected", "reason"}`; a rejection needs a
        reason). The verdict goes to labelling as a judgement, in the caller's "Creator judgements" project."""
        variant = selectors.variant_get(user=request.user, pk=pk)
        serializer = ItemVerdictSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            VariantSerializer(
                services.variant_review(variant=variant, user=request.user, **serializer.validated_data)
            ).data
        )


class VariantRegenerateApi(APIView):
    @extend_schema(request=None, responses={202: VariantJobStartedSerializer})
    def post(self, request, pk: int):
        """Write this variant again with the generator (→ Job whose result is `{variant}`; follow its
        events for `attempt`, `token` and `variant`). The other variants stay as they are."""
        variant = selectors.variant_get(user=request.user, pk=pk)
        job = services.variant_regenerate_submit(
            variant=variant, user=request.user, api_key_prefix=request_api_key_prefix(request)
        )
        return job_started_response(job, ("variant", variant.pk), extra={"variant_id": variant.pk})
