"""A Django upload handler that reads a multipart upload itself and stages its field `file` straight to
storage while hashing it, so a request never holds an upload in memory and its bytes are read once."""

import html

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from infrastructure.storage.backends import get_backend
from infrastructure.storage.multipart import MultipartReader, read_field
from infrastructure.storage.staging import StagedUpload, Stager

UPLOAD_FIELD = "file"
# Room in an upload's body for the multipart boundaries, part headers and form fields around the file.
MULTIPART_FRAMING_BYTES = 1024 * 1024


class StagedUploadedFile(UploadedFile):
    """What request.FILES holds for the staged field: its name and size, and the StagedUpload."""

    def __init__(self, staged: StagedUpload, *, name: str, content_type: str):
        super().__init__(file=None, name=name, content_type=content_type, size=staged.size)
        self.staged = staged


class StagingUploadHandler(FileUploadHandler):
    """Parses the whole body in `handle_raw_input` (Django's hook for a handler that does): the first
    file in the field `file` goes to storage as it arrives, other fields go to POST under Django's
    limits, and any other file is read past."""

    def __init__(self, request=None):
        super().__init__(request)
        self.stager: Stager | None = None
        self.staged: StagedUpload | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        encoding = encoding or settings.DEFAULT_CHARSET
        post, files = QueryDict(mutable=True, encoding=encoding), MultiValueDict()
        fields = files_sent = field_bytes = 0
        for part, body in MultipartReader(input_data, boundary).parts():
            name = (part.name or "").strip()
            if not name:
                continue
            if not part.is_file:
                fields += 1
                if (
                    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS is not None
                    and fields > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
                ):
                    raise TooManyFieldsSent("The form has more fields than settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                value = read_field(body, limit=None if limit is None else limit - field_bytes)
                field_bytes += len(value) + len(name) + 2  # counted as Django counts "name=value&"
                if limit is not None and field_bytes > limit:
                    raise RequestDataTooBig("The form's fields exceed settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
                post.appendlist(name, value.decode(encoding, errors="replace"))
                continue
            files_sent += 1
            if settings.DATA_UPLOAD_MAX_NUMBER_FILES is not None and files_sent > settings.DATA_UPLOAD_MAX_NUMBER_FILES:
                raise TooManyFilesSent("The form has more files than settings.DATA_UPLOAD_MAX_NUMBER_FILES.")
            filename = safe_filename(part.filename)
            if name != UPLOAD_FIELD or self.stager is not None or filename is None:
                continue
            self.stager = Stager(get_backend(), filename=filename, max_bytes=settings.STORAGE_MAX_UPLOAD_BYTES)
            for piece in body:
                self.stager.write(piece)
            self.staged = self.stager.finish()
            files.appendlist(name, StagedUploadedFile(self.staged, name=filename, content_type=part.content_type))
        post._mutable = False
        return post, files

    def discard(self) -> None:
        """Remove whatever was staged (the request failed, or the upload was not stored)."""
        if self.stager is not None:
            self.stager.discard()


class StagedUploadApiMixin:
    """For a DRF view whose POST takes a multipart field `file`: the file is staged straight to storage
    while it arrives (request.data["file"] is a StagedUploadedFile, for `file_store_staged`), never
    written to a temporary file first; what was staged and not stored is removed after the request."""

    upload_handler: StagingUploadHandler | None = None

    @classmethod
    def request_body_limit(cls) -> int:
        """The most body bytes the web server reads for this view (aigc_platform/core/asgi_limits.py): the
        largest upload storage takes, plus room for the multipart framing; 0 (no limit) when that is 0."""
        return settings.STORAGE_MAX_UPLOAD_BYTES + MULTIPART_FRAMING_BYTES if settings.STORAGE_MAX_UPLOAD_BYTES else 0

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (session auth's CSRF check does).
        if request.method == "POST":
            self.upload_handler = StagingUploadHandler(request)
            request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.upload_handler is not None:
                self.upload_handler.discard()


def safe_filename(filename: str) -> str | None:
    """A client's file name without any path (as Django's parser makes it), or None when nothing is left."""
    name = html.unescape(filename).rsplit("/")[-1].rsplit("\\")[-1]
    name = "".join(char for char in name if char.isprintable())
    return None if name in {"", ".", ".."} else name
