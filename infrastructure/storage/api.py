"""Files API: upload (multipart, streamed to storage), list, detail, download, delete."""

import asyncio

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from infrastructure.storage import selectors, services
from infrastructure.storage.backends import CHUNK_SIZE
from infrastructure.storage.serializers import FileSerializer, FileUploadSerializer
from infrastructure.storage.uploads import StagedUploadApiMixin


class FileListApi(StagedUploadApiMixin, ListAPIView):
    serializer_class = FileSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return selectors.files_visible_to(user=self.request.user)

    @extend_schema(
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: FileSerializer, 413: OpenApiResponse(description="Over the maximum upload size or the quota.")},
    )
    def post(self, request):
        """Upload a file (multipart field `file`). Equal bytes are stored once; each upload gets its own id."""
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        uploaded = serializer.validated_data["file"]
        file = services.file_store_staged(owner=request.user, staged=uploaded.staged, filename=uploaded.name)
        return Response(FileSerializer(file, context={"request": request}).data, status=status.HTTP_201_CREATED)


class FileDetailApi(APIView):
    @extend_schema(responses=FileSerializer)
    def get(self, request, pk):
        file = selectors.file_get(user=request.user, pk=pk)
        return Response(FileSerializer(file, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.file_delete(file=selectors.file_get(user=request.user, pk=pk), actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _chunks(stream, opened):
    try:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk
    finally:
        opened.__exit__(None, None, None)


async def _chunks_async(stream, opened):
    """Read a blocking stream off the event loop, one chunk at a time (never the whole file)."""
    try:
        while chunk := await asyncio.to_thread(stream.read, CHUNK_SIZE):
            yield chunk
    finally:
        opened.__exit__(None, None, None)


class FileDownloadApi(APIView):
    @extend_schema(
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file's bytes, served with its sniffed content type."
            ),
            302: OpenApiResponse(description="To a presigned URL."),
        }
    )
    def get(self, request, pk):
        """The file's bytes: streamed by the platform, or a redirect to a presigned URL of the S3 server."""
        file = selectors.file_get(user=request.user, pk=pk)
        url = selectors.file_download_url(file=file)
        if url:
            return HttpResponseRedirect(url)
        opened = selectors.file_open(file=file)
        stream = opened.__enter__()
        # Under ASGI Django buffers a synchronous iterator whole, so there the chunks come from an async one.
        chunks = _chunks_async if isinstance(request._request, ASGIRequest) else _chunks
        response = StreamingHttpResponse(chunks(stream, opened), content_type=file.content_type)
        response["Content-Length"] = str(file.size)
        response["Content-Disposition"] = content_disposition_header(True, file.filename)
        return response
