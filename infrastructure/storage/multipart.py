"""A multipart/form-data reader that hands each part's bytes on as views of what was read from the
request, never as copies.

Django's MultiPartParser copies every byte of an upload three times on its way to the upload handler
(LazyStream joins what it read with what it put back; BoundaryIter slices each chunk twice), in
Python steps per chunk. For a 256 MiB upload that was a third of the web process's CPU, on a machine
where the S3 server needs the rest. This reader finds each delimiter with one `bytes.find` per chunk
read and yields the bytes before it as a memoryview. The one exception is a chunk that ends with
what could be the start of a delimiter (a CR, and then bytes that begin one): those few bytes are
joined to the next chunk.

It reads what RFC 7578 lets a client send: parts with headers, an optional preamble and epilogue, and
no Content-Transfer-Encoding (refused: a browser never sends one).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters

from infrastructure.storage.backends import CHUNK_SIZE

# A part's header block may not be longer than this (a long file name fits many times over).
MAX_HEADER_BYTES = 16 * 1024
# What may follow a boundary on its line before CRLF (RFC 2046 "transport padding").
MAX_PADDING_BYTES = 1024
IDENTITY_ENCODINGS = {"7bit", "8bit", "binary"}


@dataclass(frozen=True)
class Part:
    """A part's headers: its field name, and for a file its file name as sent (not yet made safe)."""

    name: str | None
    filename: str | None
    content_type: str

    @property
    def is_file(self) -> bool:
        # As Django reads a form: a part with an empty file name is a field with an empty value.
        return bool(self.filename)


class MultipartReader:
    """Reads a multipart body from `stream` (any object with `read(size)`): `parts()` gives each part
    with an iterator over its body. A body not read to its end is skipped when the next part is asked
    for; the stream is read to its end once the closing boundary has come."""

    def __init__(self, stream, boundary: bytes):
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary
        # The unread bytes are _buffer[_pos:]. It starts with the CRLF that the first delimiter lacks
        # when the body opens with it (the usual case; otherwise what precedes it is a preamble).
        self._buffer, self._pos = b"\r\n", 0

    def parts(self) -> Iterator[tuple[Part, Iterator[memoryview]]]:
        for _ in self._body():  # the preamble
            pass
        while self._opens_a_part():
            part = self._headers()
            body = self._body()
            yield part, body
            for _ in body:  # whatever the caller left unread
                pass
        while self._stream.read(CHUNK_SIZE):  # the epilogue
            pass

    def _read_more(self) -> bool:
        """Add the stream's next chunk to the unread bytes; False at the stream's end."""
        chunk = self._stream.read(CHUNK_SIZE)
        if not chunk:
            return False
        rest = self._buffer[self._pos :]
        self._buffer, self._pos = (rest + chunk if rest else chunk), 0
        return True

    def _find(self, needle: bytes, *, within: int, what: str) -> int:
        """How far past the read position `needle` begins; it must begin within `within` bytes."""
        while True:
            found = self._buffer.find(needle, self._pos, self._pos + within + len(needle))
            if found >= 0:
                return found - self._pos
            if len(self._buffer) - self._pos >= within + len(needle) or not self._read_more():
                raise MultiPartParserError(f"The multipart body has no end to {what}.")

    def _body(self) -> Iterator[memoryview]:
        """A part's bytes up to the next delimiter, which is read past."""
        delimiter = self._delimiter
        while True:
            buffer, start = self._buffer, self._pos
            found = buffer.find(delimiter, start)
            end = found if found >= 0 else _undecided_tail(buffer, start, delimiter)
            self._pos = found + len(delimiter) if found >= 0 else end
            if end > start:
                yield memoryview(buffer)[start:end]
            if found >= 0:
                return
            if not self._read_more():
                raise MultiPartParserError("The multipart body ended before its closing boundary.")

    def _opens_a_part(self) -> bool:
        """Read the rest of a boundary's line: True when a part follows, False after the closing one."""
        while len(self._buffer) - self._pos < 2:
            if not self._read_more():
                raise MultiPartParserError("The multipart body ended before its closing boundary.")
        if self._buffer.startswith(b"--", self._pos):  # the closing boundary (its line may end the body)
            return False
        line_end = self._find(b"\r\n", within=MAX_PADDING_BYTES, what="a boundary line")
        if self._buffer[self._pos : self._pos + line_end].strip(b" \t"):
            raise MultiPartParserError("A multipart boundary is followed by something other than a line end.")
        # The read position stays on the line's CRLF: a part without headers is "CRLF CRLF" from here.
        self._pos += line_end
        return True

    def _headers(self) -> Part:
        block_end = self._find(b"\r\n\r\n", within=MAX_HEADER_BYTES, what="a part's headers")
        block = self._buffer[self._pos + 2 : self._pos + block_end]
        self._pos += block_end + 4
        headers = {}
        for line in block.split(b"\r\n"):
            try:
                # Lower-cases the header's name and value and decodes RFC 2231 parameters (filename*).
                main, params = parse_header_parameters(line.decode())
                name, value = main.split(":", 1)
            except ValueError:  # not a header (or not UTF-8): skipped, as Django does
                continue
            headers[name.strip()] = (value.strip(), params)
        encoding = headers.get("content-transfer-encoding", ("", {}))[0]
        if encoding and encoding not in IDENTITY_ENCODINGS:
            raise MultiPartParserError(
                f"Content-Transfer-Encoding {encoding!r} is not supported: send the bytes as they are."
            )
        disposition = headers.get("content-disposition", ("", {}))[1]
        return Part(
            name=disposition.get("name"),
            filename=disposition.get("filename"),
            content_type=headers.get("content-type", ("", {}))[0],
        )


def _undecided_tail(buffer: bytes, start: int, delimiter: bytes) -> int:
    """Where the bytes begin that could be the start of a delimiter cut by the chunk's end (len(buffer)
    when there are none): a suffix shorter than the delimiter that it begins with, which starts with CR."""
    at = buffer.find(b"\r", max(start, len(buffer) - len(delimiter) + 1))
    while at >= 0:
        if delimiter.startswith(buffer[at:]):
            return at
        at = buffer.find(b"\r", at + 1)
    return len(buffer)


def read_field(body: Iterator[memoryview], *, limit: int | None) -> bytes:
    """A form field's whole value; RequestDataTooBig past `limit` bytes (Django's check for form data)."""
    value = bytearray()
    for piece in body:
        value += piece
        if limit is not None and len(value) > limit:
            raise RequestDataTooBig("The form's fields exceed settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return bytes(value)
