"""A Django upload handler that stages the multipart field `file` straight to disk while hashing it,
so a request never holds an upload in memory and the bytes are read once."""
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers

from infrastructure.storage.backends import CHUNK_SIZE, get_backend
from infrastructure.storage.staging import StagedUpload, Stager

UPLOAD_FIELD = "file"


class StagedUploadedFile(UploadedFile):
    """What request.FILES holds for the staged field: its name and size, and the StagedUpload."""

    def __init__(self, staged: StagedUpload, *, name: str, content_type: str):
        super().__init__(file=None, name=name, content_type=content_type, size=staged.size)
        self.staged = staged


class StagingUploadHandler(FileUploadHandler):
    chunk_size = CHUNK_SIZE

    def __init__(self, request=None):
        super().__init__(request)
        self.stager: Stager | None = None
        self.staged: StagedUpload | None = None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD or self.stager is not None:
            raise SkipFile()
        self.stager = Stager(get_backend(), filename=file_name, max_bytes=settings.STORAGE_MAX_UPLOAD_BYTES)
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.stager.write(raw_data)

    def file_complete(self, file_size):
        self.staged = self.stager.finish()
        return StagedUploadedFile(self.staged, name=self.file_name, content_type=self.content_type)

    def upload_interrupted(self):
        self.discard()

    def discard(self) -> None:
        """Remove whatever was staged (the request failed, or the upload was not stored)."""
        if self.stager is not None:
            self.stager.discard()
