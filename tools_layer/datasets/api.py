"""Datasets API: datasets, their items (search, paging, content), imports (-> Job) and versions."""
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperator
from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.compute.serializers import JobSerializer
from infrastructure.storage.selectors import file_get
from infrastructure.storage.services import file_store_staged
from infrastructure.storage.uploads import StagedUploadApiMixin
from tools_layer.datasets import selectors, services
from tools_layer.datasets.models import DatasetKind
from tools_layer.datasets.serializers import (
    DatasetCreateSerializer,
    DatasetImportSerializer,
    DatasetItemSerializer,
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
        services.dataset_delete(dataset=selectors.dataset_get(user=request.user, pk=pk), actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetItemListApi(ListAPIView):
    serializer_class = DatasetItemSerializer
    permission_classes = [IsOperator]

    def get_queryset(self):
        dataset = selectors.dataset_get(user=self.request.user, pk=self.kwargs["pk"])
        params = self.request.query_params
        return selectors.dataset_items(dataset=dataset, search=params.get("search", "").strip(), label=params.get("label"))

    @extend_schema(parameters=[
        OpenApiParameter("search", str, description="Matches the start of the text (500 characters) or the label."),
        OpenApiParameter("label", str, description="Only items with exactly this label (empty: unlabelled)."),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DatasetItemContentApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(parameters=[OpenApiParameter("thumbnail", int, description="An image item as a PNG this many pixels wide at most.")],
                   responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk, item_pk):
        """The item's bytes (text, pair JSON, or the image), verified against its SHA-256."""
        dataset = selectors.dataset_get(user=request.user, pk=pk)
        item = selectors.dataset_item_get(dataset=dataset, pk=item_pk)
        data = selectors.dataset_item_bytes(item=item)
        content_type = item.content_type
        thumbnail = request.query_params.get("thumbnail")
        if thumbnail and dataset.kind == DatasetKind.IMAGE:
            data, content_type = selectors.image_thumbnail(data, size=min(max(int(thumbnail) if thumbnail.isdigit() else 128, 16), 512)), "image/png"
        response = HttpResponse(data, content_type=content_type)
        # An item's bytes never change (they are checked against its SHA-256), so browsers may keep them.
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response


class DatasetImportApi(StagedUploadApiMixin, APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request={"multipart/form-data": DatasetImportSerializer, "application/json": DatasetImportSerializer},
        responses={202: JobSerializer, 413: OpenApiResponse(description="The upload is over the size limit.")},
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
                raise PayloadTooLarge(f"{upload.name!r} is {upload.size} bytes; an import may be at most {limit} bytes. Nothing was stored.")
            services.import_format(dataset=dataset, filename=upload.name, requested=options.get("format"))
            file = file_store_staged(owner=request.user, staged=upload.staged, filename=upload.name)
        else:
            file = file_get(user=request.user, pk=file_id)
            if file.size > settings.DATASET_UPLOAD_MAX_BYTES:
                raise PayloadTooLarge(f"{file.filename!r} is over the import size limit of {settings.DATASET_UPLOAD_MAX_BYTES} bytes.")
        job = services.dataset_import_submit(dataset=dataset, user=request.user, file=file, options=options)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


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
