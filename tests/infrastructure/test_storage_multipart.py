"""The upload's multipart reader: every part and byte comes through whatever sizes the body arrives in,
a delimiter cut by a chunk's end included, and a malformed body is refused with a clear error."""

import hashlib
import io
import os

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http.multipartparser import MultiPartParserError

from infrastructure.storage.multipart import MAX_HEADER_BYTES, MultipartReader
from infrastructure.storage.uploads import StagingUploadHandler, safe_filename
from tests.infrastructure.storage_helpers import backend, staged_files  # noqa: F401

BOUNDARY = b"----aigcBoundary9f2c"
# Bytes that look like the start of the delimiter, whole delimiters without their last byte, and CRs.
TRICKY = (b"\r\n--" + BOUNDARY[:-1] + b"x\r\r\n-\r\n--" + BOUNDARY[:5] + b"\r") * 7 + os.urandom(3000) + b"\r\n--"


class Trickle(io.RawIOBase):
    """A body that arrives `step` bytes at a time, as a slow connection delivers it."""

    def __init__(self, data: bytes, step: int):
        super().__init__()
        self._data, self._step, self._at = data, step, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._at : self._at + min(size, self._step)]
        self._at += len(chunk)
        return chunk


def form(*parts: tuple[str, str | None, bytes], preamble: bytes = b"", epilogue: bytes = b"\r\n") -> bytes:
    body = preamble
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + data + b"\r\n"
    return body + b"--" + BOUNDARY + b"--" + epilogue


def read_all(body: bytes, step: int) -> list[tuple[str, str | None, bytes]]:
    return [
        (part.name, part.filename, b"".join(bytes(piece) for piece in data))
        for part, data in MultipartReader(Trickle(body, step), BOUNDARY).parts()
    ]


@pytest.mark.parametrize("step", [1, 2, 3, 5, 17, 23, 24, 25, 64, 1000, 1 << 20])
def test_every_part_and_byte_comes_through_whatever_the_chunk_sizes(step):
    # Given a form with a field, a file full of near-delimiters, and an empty file, after a preamble
    parts = [("title", None, b"A title"), ("file", "a.bin", TRICKY), ("empty", "e.bin", b"")]
    body = form(*parts, preamble=b"This is the preamble.\r\n", epilogue=b"\r\nThe epilogue.\r\n")
    # when it arrives `step` bytes at a time, then each part has its name, file name and exact bytes
    assert read_all(body, step) == parts


def test_a_closing_boundary_may_end_the_body_without_a_line_end():
    assert read_all(form(("file", "a.bin", b"bytes"), epilogue=b""), 7) == [("file", "a.bin", b"bytes")]


def test_a_file_reaches_the_caller_as_views_of_what_was_read_not_copies():
    body = form(("file", "a.bin", b"x" * 100_000))
    [(part, data)] = [(part, list(data)) for part, data in MultipartReader(io.BytesIO(body), BOUNDARY).parts()]
    assert data and all(isinstance(piece, memoryview) and type(piece.obj) is bytes for piece in data)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (form(("file", "a.bin", b"bytes"))[:-20], "ended before its closing boundary"),
        (b"no boundary anywhere", "ended before its closing boundary"),
        (
            b"--" + BOUNDARY + b"junk\r\n\r\nbytes\r\n--" + BOUNDARY + b"--",
            "followed by something other than a line end",
        ),
        (
            b"--"
            + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="f"\r\n'
            + b"X-Long: "
            + b"a" * MAX_HEADER_BYTES,
            "no end to a part's headers",
        ),
        (
            b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nYnl0ZXM=\r\n--" + BOUNDARY + b"--",
            "is not supported",
        ),
    ],
)
def test_a_malformed_body_is_refused_with_what_is_wrong(body, message):
    with pytest.raises(MultiPartParserError, match=message):
        read_all(body, 4096)


def test_a_file_name_is_read_from_rfc_2231_and_loses_any_path():
    body = (
        b"--"
        + BOUNDARY
        + b"\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''..%2F..%2Fr%C3%A9sum%C3%A9.pdf"
        b"\r\n\r\nbytes\r\n--" + BOUNDARY + b"--\r\n"
    )
    [(_, filename, _)] = read_all(body, 4096)
    assert filename == "../../résumé.pdf"
    assert safe_filename(filename) == "résumé.pdf"
    assert safe_filename("C:\\Users\\me\\..") is None


@pytest.mark.django_db
def test_the_handler_stages_the_file_and_keeps_the_fields(backend, settings):
    # Given a form with a field, the upload, and a second file in the same field
    body = form(("note", None, "für dich".encode()), ("file", "a.bin", TRICKY), ("file", "b.bin", b"second"))
    handler = StagingUploadHandler()
    post, files = handler.handle_raw_input(Trickle(body, 1000), {}, len(body), BOUNDARY, "utf-8")
    try:
        # then the field is in POST, and only the first file was staged, with its bytes' hash and size
        assert post["note"] == "für dich"
        [uploaded] = files.getlist("file")
        assert (uploaded.name, uploaded.size) == ("a.bin", len(TRICKY))
        assert uploaded.staged.sha256 == hashlib.sha256(TRICKY).hexdigest()
    finally:
        handler.discard()
    assert staged_files(backend) == []


@pytest.mark.django_db
def test_the_handler_keeps_djangos_limits_on_form_fields(backend, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    many = form(*[(f"f{index}", None, b"v") for index in range(3)])
    with pytest.raises(TooManyFieldsSent):
        StagingUploadHandler().handle_raw_input(io.BytesIO(many), {}, len(many), BOUNDARY, "utf-8")
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100, 1000
    large = form(("note", None, b"v" * 1001))
    with pytest.raises(RequestDataTooBig):
        StagingUploadHandler().handle_raw_input(io.BytesIO(large), {}, len(large), BOUNDARY, "utf-8")
