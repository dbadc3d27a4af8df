"""An object read from S3 is a plain binary stream: read by lines or in chunks, it ends cleanly."""

import io

import pytest

from infrastructure.storage import services
from infrastructure.storage.selectors import file_open

pytestmark = pytest.mark.django_db

LINES = [f'{{"text": "line {n}"}}\n'.encode() for n in range(12)]


def test_an_s3_object_read_by_lines_ends_after_its_last_line(s3_storage, creator):
    # Given a small JSONL file stored in S3 (the SDK's response closes itself after the last byte)
    file = services.file_store(owner=creator, stream=io.BytesIO(b"".join(LINES)), filename="lines.jsonl")
    # When it is read line by line through a buffered reader, as the dataset import reads it
    with file_open(file=file) as stream:
        reader = stream if isinstance(stream, io.BufferedIOBase) else io.BufferedReader(stream)
        read = list(reader)
    # Then every line arrives, and the end is an end, not "readline of closed file"
    assert read == LINES


def test_an_s3_object_read_in_chunks_returns_every_byte_then_nothing(s3_storage, creator):
    data = b"".join(LINES)
    file = services.file_store(owner=creator, stream=io.BytesIO(data), filename="lines.jsonl")
    with file_open(file=file) as stream:
        assert stream.read(5) + stream.read(1024 * 1024) == data
        assert stream.read(10) == b""
