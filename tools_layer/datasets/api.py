"""Datasets API: datasets, their items (search, paging, content), imports (-> Job), versions, and
preparation (cleaning, PII, augmentation, splits: a Job per run; previews; comparing two versions)."""

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperator
from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from infrastructure.storage.selectors import file_get
from infrastructure.storage.services import file_store_staged
from infrastructure.storage.uploads import MULTIPART_FRAMING_BYTES, StagedUploadApiMixin
from tools_layer.datasets import selectors, services
from tools_layer.datasets.models import DatasetKind
from tools_layer.datasets.serializers import (
    DatasetCreateSerializer,
    DatasetImportSerializer,
    DatasetItemSerializer,
    DatasetPrepareSerializer,
    DatasetPreviewSerializer,
    DatasetSerializer,
    DatasetUpdateSerializer,
    DatasetVersionCreateSerializer,
    DatasetVersionSerializer,
)


class DatasetListApi(ListAPIView):
    serializer_class = DatasetSerializer
    permission_classes = [IsOperator]

    def get_queryset(self):
        return selectors.datasets_visible_to(user=self.request.user)

    @extend_schema(request=DatasetCreateSerializer, responses={201: DatasetSerializer})
    def post(self, request):
        serializer = DatasetCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dataset = services.dataset_create(owner=request.user, **serializer.validated_data)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=DatasetSerializer)
    def get(self, request, pk):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        data = DatasetSerializer(dataset).data
        data["item_count"] = selectors.dataset_items(dataset=dataset).count()
        data["label_counts"] = selectors.dataset_label_counts(dataset=dataset)
        return Response(data)

    @extend_schema(request=DatasetUpdateSerializer, responses=DatasetSerializer)
    def patch(self, request, pk):
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        serializer = DatasetUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(DatasetSerializer(services.dataset_update(dataset=dataset, **serializer.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.dataset_delete(
            dataset=selectors.dataset_get(user=request.user, pk=pk), actor=request.user, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetItemListApi(ListAPIView):
    serializer_class = DatasetItemSerializer
    permission_classes = [IsOperator]

    def get_queryset(self):
        dataset = selectors.dataset_get(user=self.request.user, pk=self.kwargs["pk"])
        params = self.request.query_params
        return selectors.dataset_items(
            dataset=dataset, search=params.get("search", "").strip(), label=params.get("label")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Matches the start of the text (500 characters) or the label."),
            OpenApiParameter("label", str, description="Only items with exactly this label (empty: unlabelled)."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DatasetItemContentApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        parameters=[
            OpenApiParameter("thumbnail", int, description="An image item as a PNG this many pixels wide at most.")
        ],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request, pk, item_pk):
        """The item's bytes (text, pair JSON, or the image), verified against its SHA-256."""
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        item = selectors.dataset_item_get(dataset=dataset, pk=item_pk)
        data = selectors.dataset_item_bytes(item=item)
        content_type = item.content_type
        thumbnail = request.query_params.get("thumbnail")
        if thumbnail and dataset.kind == DatasetKind.IMAGE:
            data, content_type = (
                selectors.image_thumbnail(data, size=min(max(int(thumbnail) if thumbnail.isdigit() else 128, 16), 512)),
                "image/png",
            )
        response = HttpResponse(data, content_type=content_type)
        # An item's bytes never change (they are checked against its SHA-256), so browsers may keep them.
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response


class DatasetImportApi(StagedUploadApiMixin, APIView):
    permission_classes = [IsOperator]

    @classmethod
    def request_body_limit(cls) -> int:
        """The web server reads no more than a dataset upload may be (plus the multipart framing)."""
        return settings.DATASET_UPLOAD_MAX_BYTES + MULTIPART_FRAMING_BYTES if settings.DATASET_UPLOAD_MAX_BYTES else 0

    @extend_schema(
        request={"multipart/form-data": DatasetImportSerializer, "application/json": DatasetImportSerializer},
        responses={202: JobStartedSerializer, 413: OpenApiResponse(description="The upload is over the size limit.")},
    )
    def post(self, request, pk):
        """Import a JSONL, CSV or ZIP file (an upload, or a stored file's id) as a Job; follow its progress
        at /api/v1/jobs/{id}/events/. Its result counts what was added and what cleaning dropped."""
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        serializer = DatasetImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = dict(serializer.validated_data)
        upload, file_id = options.pop("file", None), options.pop("file_id", None)
        if upload is not None:
            limit = settings.DATASET_UPLOAD_MAX_BYTES
            if upload.size > limit:
                raise PayloadTooLarge(
                    gettext("%(name)r is %(size)s bytes; an import may be at most %(limit)s bytes. Nothing was stored.")
                    % {"name": upload.name, "size": upload.size, "limit": limit}
                )
            services.import_format(dataset=dataset, filename=upload.name, requested=options.get("format"))
            file = file_store_staged(owner=request.user, staged=upload.staged, filename=upload.name)
        else:
            file = file_get(user=request.user, pk=file_id)
            if file.size > settings.DATASET_UPLOAD_MAX_BYTES:
                raise PayloadTooLarge(
                    gettext("%(filename)r is over the import size limit of %(DATASET_UPLOAD_MAX_BYTES)s bytes.")
                    % {"filename": file.filename, "DATASET_UPLOAD_MAX_BYTES": settings.DATASET_UPLOAD_MAX_BYTES}
                )
        job = services.dataset_import_submit(dataset=dataset, user=request.user, file=file, options=options)
        return job_started_response(job, ("dataset", dataset.pk))


class DatasetVersionListApi(ListAPIView):
    serializer_class = DatasetVersionSerializer
    permission_classes = [IsOperator]

    def get_queryset(self):
        return selectors.dataset_versions(dataset=selectors.dataset_get(user=self.request.user, pk=self.kwargs["pk"]))

    @extend_schema(request=DatasetVersionCreateSerializer, responses={201: DatasetVersionSerializer})
    def post(self, request, pk):
        """Freeze the dataset's items now into a new immutable version with a seeded train/validation split."""
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        serializer = DatasetVersionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.dataset_version_create(dataset=dataset, user=request.user, **serializer.validated_data)
        return Response(DatasetVersionSerializer(version).data, status=status.HTTP_201_CREATED)


def _dataset_version(request, pk, version_pk):
    dataset = selectors.dataset_get(user=request.user, pk=pk)
    return selectors.dataset_version_of(dataset=dataset, pk=version_pk)


class DatasetVersionDetailApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=DatasetVersionSerializer)
    def get(self, request, pk, version_pk):
        """One version, with its lineage (parent, step, parameters) and its step's report."""
        return Response(DatasetVersionSerializer(_dataset_version(request, pk, version_pk)).data)


class DatasetVersionPrepareApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=DatasetPrepareSerializer, responses={202: JobStartedSerializer})
    def post(self, request, pk, version_pk):
        """Run preparation steps on this version as a Job: each step (clean, pii, augment, split) writes a
        new version whose parent is the one before, with a report of what each rule removed or changed.
        The job's result names the versions written."""
        version = _dataset_version(request, pk, version_pk)
        serializer = DatasetPrepareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.dataset_prepare_submit(
            version=version, user=request.user, steps=serializer.validated_data["steps"]
        )
        return job_started_response(job, ("dataset_version", version.pk))


class DatasetVersionPreviewApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=DatasetPreviewSerializer, responses={202: JobStartedSerializer})
    def post(self, request, pk, version_pk):
        """Preview one step (clean, pii or augment) as a Job whose result holds up to 10 before/after
        pairs from the version's first items; nothing is written."""
        version = _dataset_version(request, pk, version_pk)
        serializer = DatasetPreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.dataset_prepare_preview_submit(
            version=version, user=request.user, step=serializer.validated_data
        )
        return job_started_response(job, ("dataset_version", version.pk))


class DatasetVersionCompareApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        parameters=[OpenApiParameter("right", str, required=True, description="The other version's id.")],
        responses={200: dict},
    )
    def get(self, request, pk, version_pk):
        """Two versions side by side: their counts, and a few of the items only one of them holds."""
        left = _dataset_version(request, pk, version_pk)
        right = _dataset_version(request, pk, request.query_params.get("right", ""))
        return Response(selectors.dataset_version_compare(left=left, right=right))
